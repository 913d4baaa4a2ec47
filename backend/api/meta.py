"""Health and the OpenAPI document."""
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..errors import APIError
from ..extensions import db
from ..schemas.common import StatusSchema
from .common import endpoint

bp = Blueprint("meta", __name__, url_prefix="/api/v1")


@endpoint(bp, "/health", summary="Liveness: the process answers.", response=StatusSchema)
def health():
    return {"status": "ok"}


@endpoint(bp, "/health/ready", summary="Readiness: the database answers.", response=StatusSchema, errors=(503,))
def ready():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure of SELECT 1 means the database is not usable
        db.session.rollback()
        raise APIError(503, "unavailable", "The database is not reachable.", {}) from exc
    return {"status": "ok"}


@bp.get("/openapi.json")
def openapi():
    from .openapi import build_spec
    spec = current_app.extensions.get("perkpass_openapi")
    if spec is None:
        spec = build_spec(current_app)
        current_app.extensions["perkpass_openapi"] = spec
    return jsonify(spec)
