"""The citizen page (``/app/``) and the public scheme catalogue it reads (``/api/v1/catalogue``).

The page is static files in ``backend/static/app/`` (plain ES modules plus vendored npm code, see
docs/citizen.md). Every response under ``/app/`` carries a strict Content-Security-Policy: scripts,
styles, images and API calls only from this origin, no inline script or style, no framing.

What the browser gets is built from those files in memory (``backend/services/app_assets.py``):
``/app/`` names every file by a version-stamped name (``js/main.3f2a9c1b0d.js``) served ``immutable`` for a
year, preloads the modules the first screen needs, and every text file is sent gzipped to a client that
accepts it. The plain names still work (``no-cache``). ``PERKPASS_APP_STATIC_DIR`` serves another copy of
the page (the page-weight bench serves an older version beside this one) and ``PERKPASS_APP_OPTIMISE =
False`` serves the files as they are, uncompressed, revalidated each time. Scripts and styles are minified
(the repository's files stay as written); ``PERKPASS_MINIFY=0`` in the environment (or
``PERKPASS_APP_MINIFY = False``) keeps the stamped, gzipped build but with the readable source, for debugging.

``/api/v1/catalogue`` is public policy (what a score band means, which perks a band unlocks, which
venue types exist); it holds no personal data, so it needs no token and may be cached.
"""
from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import re
import time
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, request, send_from_directory
from marshmallow import fields

from ..schemas.common import Base, I18nText
from ..services import app_assets
from ..services.perks import get_catalogue
from ..services.venue_types import get_venue_types
from ..settings import settings
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

# an inline script of the page (no attributes: the boot script in index.html)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)
_csp_by_body: dict[bytes, str] = {}


def document_csp(html: bytes) -> str:
    """The CSP for the page itself: CSP, with script-src also admitting exactly the inline scripts this
    document holds, by their SHA-256 (no 'unsafe-inline': an injected script has another hash)."""
    key = hashlib.sha256(html).digest()
    csp = _csp_by_body.get(key)
    if csp is None:
        hashes = ["'sha256-" + base64.b64encode(hashlib.sha256(m).digest()).decode() + "'"
                  for m in _INLINE_SCRIPT.findall(html)]
        csp = CSP.replace("script-src 'self'", " ".join(["script-src 'self'", *hashes]), 1)
        if len(_csp_by_body) > 16:  # one per deploy (and the bench's older tree): never grows in service
            _csp_by_body.clear()
        _csp_by_body[key] = csp
    return csp


# Python's mimetypes table may not know these; a module script served as octet-stream is refused.
TYPES = {
    ".mjs": "text/javascript", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json", ".json": "application/json", ".txt": "text/plain",
    ".png": "image/png", ".html": "text/html",
}


# What a script or stylesheet the page loads needs of those: the others (CSP, framing, referrer, permissions,
# opener) govern a document or a worker and do nothing on a subresource, while on a slow phone link each
# response's ~430 bytes of them cost as much as a small module (docs/performance.md, citizen page).
SUBRESOURCE_HEADERS = {k: SECURITY_HEADERS[k] for k in ("X-Content-Type-Options", "Cross-Origin-Resource-Policy")}
SUBRESOURCE_SUFFIXES = (".js", ".mjs", ".css")


def _secure(resp, cache: str, subresource: bool = False):
    for k, v in (SUBRESOURCE_HEADERS if subresource else SECURITY_HEADERS).items():
        resp.headers[k] = v
    resp.headers["Cache-Control"] = cache
    return resp


@bp.get("/app")
def app_root_redirect():
    return _secure(redirect("/app/", code=308), "no-cache")


def _static_dir() -> Path:
    return settings().app_static_dir or STATIC_DIR


def _optimise() -> bool:
    return settings().app_optimise


def _minified() -> bool:
    configured = settings().app_minify
    if configured is None:
        return os.environ.get("PERKPASS_MINIFY", "1").strip().lower() not in {"0", "false", "no", "off"}
    return bool(configured)


def _build() -> app_assets.Build:
    root, minified = _static_dir(), _minified()
    cache = current_app.extensions.get("perkpass_app_assets")
    if cache is None or cache.root != root or cache.minified != minified:
        cache = current_app.extensions["perkpass_app_assets"] = app_assets.AssetCache(root, minified=minified)
    return cache.get(time.monotonic())


def _send_asset(asset: app_assets.Asset, mimetype: str, cache: str, subresource: bool = False):
    """The asset gzipped to a client that accepts it; 304 to a matching If-None-Match."""
    if request.if_none_match.contains(asset.etag.strip('"')):
        resp = Response(status=304)
    else:
        gz = "gzip" in (request.headers.get("Accept-Encoding") or "").lower()
        resp = Response(asset.gzipped if gz else asset.body, mimetype=mimetype)
        if gz:
            resp.headers["Content-Encoding"] = "gzip"
    resp.headers["ETag"] = asset.etag
    resp.headers["Vary"] = "Accept-Encoding"
    return _secure(resp, cache, subresource)


@bp.get("/app/")
def app_index():
    if _optimise():
        asset = _build().assets["index.html"]
        resp = _send_asset(asset, "text/html", "no-cache")
        html = asset.body
    else:
        resp = _secure(send_from_directory(_static_dir(), "index.html", mimetype="text/html", max_age=0), "no-cache")
        html = (_static_dir() / "index.html").read_bytes()
    resp.headers["Content-Security-Policy"] = document_csp(html)
    return resp


@bp.get("/app/<path:filename>")
def app_file(filename: str):
    suffix = Path(filename).suffix.lower()
    if suffix not in TYPES or filename.startswith(".") or "/." in filename:
        abort(404)
    mimetype = TYPES.get(suffix) or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    # sw.js is a worker: its CSP applies to it, so it keeps every header
    subresource = suffix in SUBRESOURCE_SUFFIXES and filename != "sw.js"
    if _optimise():
        build = _build()
        asset = build.assets.get(filename) if filename == "sw.js" or app_assets.is_stamped(filename) else None
        if asset is not None:  # a stamped name (never changes: cached for a year), or sw.js with its file list
            cache = app_assets.IMMUTABLE if filename != "sw.js" else "no-cache"
            return _send_asset(asset, mimetype, cache, subresource)
        if app_assets.is_stamped(filename):  # a name of an older deploy: gone, like any unknown file
            abort(404)
    resp = send_from_directory(_static_dir(), filename, mimetype=mimetype, max_age=0)  # 404 outside the folder
    # the service worker must be allowed to control /app/ from /app/sw.js (it does by default)
    return _secure(resp, "no-cache", subresource)


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
    min_score = fields.Integer(required=True,
                               metadata={"description": "The published rule: lowest score that gets it."})
    min_band = fields.String(allow_none=True, metadata={"description": "The band the rule names, if it names one."})
    max_score = fields.Integer(allow_none=True, metadata={
        "description": "A band range's highest score (inclusive); null when the rule has no upper bound."})
    usage = fields.String(required=True, metadata={
        "description": "How often at one venue: visit (once per visit), day (once a day), month (once a month)."})


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


class CatalogueVenueType(Base):
    code = fields.String(required=True, metadata={"description": "The venue type (credential audience)."})
    label = fields.Nested(I18nText, required=True)
    icon = fields.List(fields.String(), required=True, metadata={
        "description": "SVG path data on a 24x24 grid, drawn as 1.8-wide round strokes in the text colour."})


class CatalogueOut(Base):
    schemes = fields.List(fields.Nested(CatalogueScheme), required=True)
    audiences = fields.List(fields.String(), required=True, metadata={
        "description": "Every venue type (credential audience) some perk is offered at."})
    venue_types = fields.List(fields.Nested(CatalogueVenueType), required=True, metadata={
        "description": "The city's venue types in display order (assets/venue-types.json)."})


def catalogue_dict() -> dict:
    cat = get_catalogue()
    schemes = []
    for s in cat.schemes.values():
        bands = []
        for i, b in enumerate(s.bands):
            upper = s.bands[i + 1].min - 1 if i + 1 < len(s.bands) else s.max
            bands.append({"code": b.code, "min": b.min, "max": upper, "label": b.label})
        perks = [dict(p.public(), min_score=p.min_score, min_band=p.rule.get("min_band"), max_score=p.max_score,
                      usage=p.usage) for p in s.perks]
        schemes.append({"code": s.code, "name": s.name, "city": s.city, "range": {"min": s.min, "max": s.max},
                        "base": s.base, "bands": bands, "perks": perks})
    return {"schemes": schemes, "audiences": cat.audiences, "venue_types": get_venue_types().public()}


@endpoint(bp, "/api/v1/catalogue", summary="Public: schemes, what each band means, perks and venue types.",
          response=CatalogueOut,
          description="Public policy only (no personal data): the citizen page explains bands and lists venue "
                      "types with it. A citizen's own scores come from GET /api/v1/me.")
def catalogue():
    return catalogue_dict(), 200, {"Cache-Control": "public, max-age=300"}
