"""The citizen page (``/app/``) and the public scheme catalogue it reads (``/api/v1/catalogue``).

The page is static files in ``backend/static/app/`` (plain ES modules plus vendored npm code, see
docs/citizen.md). Every response under ``/app/`` carries a strict Content-Security-Policy: scripts,
styles, images and API calls only from this origin, no inline script or style, no framing.

``/api/v1/catalogue`` is public policy (what a score band means, which perks a band unlocks, which
venue types exist); it holds no personal data, so it needs no token and may be cached.
"""
from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Blueprint, abort, redirect, send_from_directory
from marshmallow import fields

from ..schemas.common import Base, I18nText
from ..services.perks import get_catalogue
from .common import endpoint

bp = Blueprint("app_page", __name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "app"

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "worker-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

# Python's mimetypes table may not know these; a module script served as octet-stream is refused.
TYPES = {
    ".mjs": "text/javascript", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json", ".json": "application/json", ".txt": "text/plain",
    ".png": "image/png", ".html": "text/html",
}


def _secure(resp, cache: str):
    for k, v in SECURITY_HEADERS.items():
        resp.headers[k] = v
    resp.headers["Cache-Control"] = cache
    return resp


@bp.get("/app")
def app_root_redirect():
    return _secure(redirect("/app/", code=308), "no-cache")


@bp.get("/app/")
def app_index():
    resp = send_from_directory(STATIC_DIR, "index.html", mimetype="text/html", max_age=0)
    return _secure(resp, "no-cache")


@bp.get("/app/<path:filename>")
def app_file(filename: str):
    suffix = Path(filename).suffix.lower()
    if suffix not in TYPES or filename.startswith(".") or "/." in filename:
        abort(404)
    mimetype = TYPES.get(suffix) or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    resp = send_from_directory(STATIC_DIR, filename, mimetype=mimetype, max_age=0)  # 404 outside the folder
    # the service worker must be allowed to control /app/ from /app/sw.js (it does by default)
    return _secure(resp, "no-cache")


# --- the public catalogue -------------------------------------------------------------------------

class CatalogueBand(Base):
    code = fields.String(required=True)
    min = fields.Integer(required=True, metadata={"description": "Lowest score in this band."})
    max = fields.Integer(required=True, metadata={"description": "Highest score in this band."})
    label = fields.Nested(I18nText, required=True)


class CataloguePerk(Base):
    code = fields.String(required=True)
    title = fields.Nested(I18nText, required=True)
    audience = fields.String(required=True)
    scheme = fields.String(required=True)
    min_score = fields.Integer(required=True, metadata={"description": "The published rule: lowest score that gets it."})
    min_band = fields.String(allow_none=True, metadata={"description": "The band the rule names, if it names one."})


class CatalogueRange(Base):
    min = fields.Integer(required=True)
    max = fields.Integer(required=True)


class CatalogueScheme(Base):
    code = fields.String(required=True)
    name = fields.Nested(I18nText, required=True)
    city = fields.Dict(required=True)
    range = fields.Nested(CatalogueRange, required=True)
    base = fields.Integer(required=True)
    bands = fields.List(fields.Nested(CatalogueBand), required=True)
    perks = fields.List(fields.Nested(CataloguePerk), required=True)


class CatalogueOut(Base):
    schemes = fields.List(fields.Nested(CatalogueScheme), required=True)
    audiences = fields.List(fields.String(), required=True, metadata={
        "description": "Every venue type (credential audience) some perk is offered at."})


def catalogue_dict() -> dict:
    cat = get_catalogue()
    schemes = []
    for s in cat.schemes.values():
        bands = []
        for i, b in enumerate(s.bands):
            upper = s.bands[i + 1].min - 1 if i + 1 < len(s.bands) else s.max
            bands.append({"code": b.code, "min": b.min, "max": upper, "label": b.label})
        perks = [dict(p.public(), min_score=p.min_score, min_band=p.rule.get("min_band")) for p in s.perks]
        schemes.append({"code": s.code, "name": s.name, "city": s.city, "range": {"min": s.min, "max": s.max},
                        "base": s.base, "bands": bands, "perks": perks})
    return {"schemes": schemes, "audiences": cat.audiences}


@endpoint(bp, "/api/v1/catalogue", summary="Public: schemes, what each band means, perks and venue types.",
          response=CatalogueOut,
          description="Public policy only (no personal data): the citizen page explains bands and lists venue "
                      "types with it. A citizen's own scores come from GET /api/v1/me.")
def catalogue():
    return catalogue_dict(), 200, {"Cache-Control": "public, max-age=300"}
