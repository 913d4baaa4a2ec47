"""JSON errors everywhere: ``{"error": {"code", "message", "fields"}}``."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ..services import errors as domain

log = logging.getLogger("perkpass.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class APIError(Exception):
    """An HTTP-shaped error with a stable machine-readable code, raised by views. Services raise the
    domain errors of :mod:`backend.services.errors` instead, mapped to HTTP once below."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, fields: dict | None = None, headers: dict | None = None):
    resp = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _flatten_messages(messages) -> dict:
    if isinstance(messages, dict):
        return {str(k): v for k, v in messages.items()}
    return {"_schema": messages if isinstance(messages, list) else [str(messages)]}


# The HTTP status of each kind of domain error: the one place a service's answer becomes HTTP. The most
# specific kind first (Locked is a TryLater, ForbiddenData a Refused).
DOMAIN_STATUS: tuple[tuple[type[domain.DomainError], int], ...] = (
    (domain.InvalidInput, 400), (domain.Unauthenticated, 401), (domain.Forbidden, 403), (domain.NotFound, 404),
    (domain.Conflict, 409), (domain.Refused, 422), (domain.Locked, 423), (domain.TryLater, 429),
    (domain.Unavailable, 503),
)


def domain_status(err: domain.DomainError) -> int:
    """The HTTP status answering a domain error (400 for a kind the table does not name)."""
    return next((status for kind, status in DOMAIN_STATUS if isinstance(err, kind)), 400)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(APIError)
    def _api_error(err: APIError):
        return error_response(err.status, err.code, err.message, err.fields, err.headers)

    @app.errorhandler(domain.DomainError)
    def _domain_error(err: domain.DomainError):
        retry = getattr(err, "retry_after", None)
        return error_response(domain_status(err), err.code, err.message, err.details,
                              {"Retry-After": str(retry)} if retry is not None else None)

    @app.errorhandler(ValidationError)
    def _validation(err: ValidationError):
        return error_response(400, "validation_error", "The request did not pass validation.",
                              _flatten_messages(err.messages))

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        status = err.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        message = err.description if status != 429 else "Too many requests; slow down and retry later."
        if status == 413:
            message = f"The request body is larger than {app.config.get('MAX_CONTENT_LENGTH')} bytes."
        resp = error_response(status, code, str(message))
        allowed = getattr(err, "valid_methods", None)  # a MethodNotAllowed carries them
        if status == 405 and allowed:
            resp.headers["Allow"] = ", ".join(allowed)
        # keep headers the exception carries (Retry-After from Flask-Limiter, WWW-Authenticate)
        if status == 429:
            retry = getattr(err, "retry_after", None)
            if retry:
                resp.headers["Retry-After"] = str(retry)
        return resp

    # A dependency failing while a request runs answers 503 with what is down, never a 500: the database
    # unreachable (or not initialised), the rate-limit store (Redis) unreachable, the keys undecryptable.
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import InterfaceError, OperationalError

    from ..services.crypto import DecryptionError

    def _dependency_down(dependency: str, code: str, message: str, err: Exception, retry_after: int):
        log.warning("dependency_unavailable", extra={"fields": {"dependency": dependency, "type": type(err).__name__}})
        return error_response(503, code, message, {}, {"Retry-After": str(retry_after)})

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_down(err: Exception):
        from ..extensions import db
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is already gone; the answer is the same
            pass
        return _dependency_down("database", "database_unavailable",
                                "The database is not available; try again shortly.", err, 5)

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def _rate_limit_store_down(err: Exception):
        return _dependency_down("redis", "rate_limit_store_unavailable",
                                "The rate-limit store is not available; try again shortly.", err, 5)

    @app.errorhandler(DecryptionError)
    def _keys_locked(err: Exception):
        return _dependency_down("keys", "keys_unavailable",
                                "The signing keys cannot be used (PERKPASS_KEY_PASSPHRASE); the operator is needed.",
                                err, 60)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):  # pragma: no cover - exercised only by bugs
        log.exception("unhandled_exception", extra={"fields": {"type": type(err).__name__}})
        return error_response(500, "internal_error", "Internal error; it has been logged.")
