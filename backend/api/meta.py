"""Health, readiness and the OpenAPI document.

Readiness means ready: each dependency a request needs is checked for what it needs (the database answers
with the schema in place, the keys decrypt with PERKPASS_KEY_PASSPHRASE, the rate-limit store answers, the
SMS sender says it can send). One failing check answers 503 ``not_ready`` naming it, so a load balancer
sends no citizen to an instance that would fail them."""
from collections.abc import Callable

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..http.errors import APIError
from ..extensions import db, limiter
from ..settings import settings
from ..schemas.common import ReadinessSchema, StatusSchema
from ..services import keys as key_service
from ..services.crypto import DecryptionError
from ..services.senders import sender_problem
from .common import endpoint

bp = Blueprint("meta", __name__, url_prefix="/api/v1")
probes = Blueprint("probes", __name__)  # the same answers at the paths load balancers and systemd poll


def _database() -> str | None:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure of SELECT 1 means the database is not usable
        db.session.rollback()
        return f"not reachable ({type(exc).__name__})"
    return None


def _keys() -> str | None:
    try:
        key_service.root()  # decrypts the root key once per worker (then cached): the passphrase is right
    except DecryptionError:
        return "the keys do not decrypt with PERKPASS_KEY_PASSPHRASE"
    except key_service.KeyError_ as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - e.g. no tables yet: say so instead of failing the probe
        db.session.rollback()
        return f"cannot be read ({type(exc).__name__}); run `flask --app backend init-db`"
    return None


def _rate_limit_store() -> str | None:
    uri = settings().rate_limit_storage_uri
    if uri.startswith("memory://"):
        return None
    try:
        ok = limiter.storage.check()
    except Exception as exc:  # noqa: BLE001 - an unreachable Redis may raise or answer False
        return f"not reachable ({type(exc).__name__})"
    return None if ok else "not reachable"


def _sms_sender() -> str | None:
    sender = current_app.extensions.get("perkpass_sender")
    return "not loaded" if sender is None else sender_problem(sender)


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": _database, "keys": _keys, "rate_limit_store": _rate_limit_store, "sms_sender": _sms_sender,
}


def readiness() -> dict:
    problems = {}
    for name, check in CHECKS.items():
        why = check()
        if why:
            problems[name] = why
            if name == "database":
                break  # the others read the database too: one reason is clearer than four
    if problems:
        summary = "; ".join(f"{name}: {why}" for name, why in problems.items())
        raise APIError(503, "not_ready", f"Not ready: {summary}.", {"checks": problems}, {"Retry-After": "5"})
    return {"status": "ok", "checks": dict.fromkeys(CHECKS, "ok")}


@endpoint(bp, "/health", summary="Liveness: the process answers.", response=StatusSchema)
def health():
    return {"status": "ok"}


@endpoint(bp, "/health/ready", summary="Readiness: database, keys, rate-limit store and SMS sender are usable.",
          response=ReadinessSchema, errors=(503,))
def ready():
    return readiness()


@endpoint(probes, "/healthz", summary="Liveness for load balancers (as /api/v1/health).", response=StatusSchema)
def healthz():
    return {"status": "ok"}


@endpoint(probes, "/readyz", summary="Readiness for load balancers (as /api/v1/health/ready).",
          response=ReadinessSchema, errors=(503,))
def readyz():
    return readiness()


@bp.get("/openapi.json")
def openapi():
    from .openapi import build_spec
    spec = current_app.extensions.get("perkpass_openapi")
    if spec is None:
        spec = build_spec(current_app)
        current_app.extensions["perkpass_openapi"] = spec
    return jsonify(spec)
