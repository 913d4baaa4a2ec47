"""The glue between Flask views and marshmallow: body and query-string parsing, bearer auth (the roles are
in ``bearer.py``), rate-limit keys and values, response dumping, and the registry the OpenAPI document is
generated from. Every view module imports from here; this module imports no view module."""
from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
import werkzeug.exceptions
from marshmallow import Schema

from ..http.errors import APIError
from ..extensions import client_address, limiter
from ..settings import RATE_LIMITS, settings
from .bearer import BEARER_ROLES, bearer_token, unauthorized


@dataclass
class EndpointDoc:
    rule: str
    method: str
    summary: str
    tag: str
    body: type[Schema] | None
    response: type[Schema] | None
    status: int
    auth: str | None
    errors: tuple[int, ...]
    description: str = ""
    produces: dict = field(default_factory=dict)


REGISTRY: list[EndpointDoc] = []


def now() -> int:
    """The request's clock (views read it once and pass it down)."""
    return int(time.time())


_compact_json = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def json_body() -> object:
    """Parse the body as JSON, answering malformed input with a JSON 400 (never a 500)."""
    ctype = request.mimetype or ""
    raw = request.get_data(cache=True)  # MAX_CONTENT_LENGTH applies: 413 when larger
    if not raw:
        raise APIError(400, "invalid_json", "The request needs a JSON body.", {"_body": ["Empty body."]})
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise APIError(415, "unsupported_media_type", "Send the body as application/json.",
                       {"_body": [f"Content-Type {ctype or 'missing'} is not application/json."]})
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        msg = "Body is not UTF-8." if isinstance(exc, UnicodeDecodeError) else (
            "JSON is nested too deeply." if isinstance(exc, RecursionError) else "Malformed JSON.")
        raise APIError(400, "invalid_json", msg, {"_body": [msg]}) from None


_SCHEMAS: dict[type, Schema] = {}


def schema_instance(schema_cls: type[Schema]) -> Schema:
    """One shared instance per schema class (building a marshmallow Schema is costly; load/dump on a
    shared instance is safe because no view mutates schema state)."""
    inst = _SCHEMAS.get(schema_cls)
    if inst is None:
        inst = _SCHEMAS[schema_cls] = schema_cls()
    return inst


def load(schema_cls: type[Schema], data: object) -> dict:
    if not isinstance(data, dict):
        raise APIError(400, "validation_error", "The JSON body must be an object.",
                       {"_schema": ["Expected a JSON object."]})
    return schema_instance(schema_cls).load(data)


def authenticate(kind: str) -> None:
    """Resolve the bearer token for ``kind`` (a row of ``bearer.BEARER_ROLES``) into ``g``."""
    token = bearer_token()
    if token is None:
        raise unauthorized(kind)
    BEARER_ROLES[kind].resolve(token, now())


def token_key() -> str:
    """Rate-limit key: the bearer token (hashed), else the client address."""
    token = bearer_token()
    return "tok:" + hashlib.sha256(token.encode()).hexdigest()[:32] if token else "addr:" + client_address()


def config_limit(name: str):
    """The configured rate limit ``name`` (``settings.RATE_LIMITS``: PERKPASS_RATE_LIMIT_<NAME>), read at
    request time from the app's settings (so each app, a test's too, has its own)."""
    if name not in RATE_LIMITS:
        raise ValueError(f"unknown rate limit {name!r} (backend/settings.py RATE_LIMITS)")
    return lambda: settings().rate_limits[name]


def query(schema_cls: type[Schema]) -> dict:
    """Load the query string through a schema (unknown parameters are refused like unknown fields)."""
    return schema_instance(schema_cls).load(request.args.to_dict())


# Control characters in a string path segment (e.g. %00) name nothing: PostgreSQL refuses NUL in a query.
_PATH_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def endpoint(bp: Blueprint, rule: str, method: str = "GET", *, summary: str, body: type[Schema] | None = None,
             response: type[Schema] | None = None, status: int = 200, auth: str | None = None,
             errors: tuple[int, ...] = (), limits: list | None = None, description: str = "",
             produces: dict | None = None, dump_response: bool = True, fast_body=None, load_body: bool = True):
    """Register a view. The view receives ``data`` (the loaded body) when ``body`` is given and returns
    a dict (dumped through ``response``), a ``(dict, status)`` tuple, or a ready ``Response``.
    ``auth`` names a bearer role (``bearer.BEARER_ROLES``).

    ``load_body=False``: the view reads the body itself (``json_body``, then ``load``: e.g. to screen the raw
    JSON before the schema sees it); ``body`` is still the schema the OpenAPI document shows.

    ``dump_response=False`` (hot endpoints only) writes the view's dict as JSON directly: the view must
    build exactly the ``response`` schema's fields, which a contract test checks with the schema.
    ``fast_body(data) -> dict | None`` (hot endpoints only) may load the one body shape clients send all
    the time without marshmallow; it returns None for anything else, which ``body`` then loads. A test
    checks that it agrees with the schema."""
    if auth is not None and auth not in BEARER_ROLES:
        raise ValueError(f"unknown bearer role {auth!r} (add it to bearer.BEARER_ROLES)")

    def deco(fn):
        @functools.wraps(fn)
        def view(**kwargs):
            if auth is not None:
                authenticate(auth)
            if any(isinstance(v, str) and _PATH_CTRL.search(v) for v in kwargs.values()):
                raise werkzeug.exceptions.NotFound("No such resource.")
            if body is not None and load_body:
                raw = json_body()
                loaded = fast_body(raw) if fast_body is not None and type(raw) is dict else None
                kwargs["data"] = loaded if loaded is not None else load(body, raw)
            rv = fn(**kwargs)
            if isinstance(rv, Response):
                return rv
            code = status
            headers: dict[str, str] = {}
            if isinstance(rv, tuple):
                rv, code, *rest = rv
                headers = rest[0] if rest else {}
            if response is not None and dump_response:
                resp = jsonify(schema_instance(response).dump(rv))
            else:
                # the same bytes jsonify writes (compact, ASCII, key order kept), without its dispatch
                resp = current_app.response_class(_compact_json(rv) + "\n", mimetype="application/json")
            resp.status_code = code
            for k, v in headers.items():
                resp.headers[k] = v
            if auth is not None:
                resp.headers["Cache-Control"] = "no-store"
            return resp

        wrapped: Callable[..., Any] = view
        for limit_value, key_func in reversed(limits or []):
            wrapped = limiter.limit(limit_value, key_func=key_func, methods=[method])(wrapped)
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=wrapped, methods=[method])
        full = (bp.url_prefix or "") + rule
        REGISTRY.append(EndpointDoc(full, method.lower(), summary, bp.name, body, response, status, auth,
                                    tuple(errors), description or (fn.__doc__ or "").strip(), produces or {}))
        return wrapped

    return deco

