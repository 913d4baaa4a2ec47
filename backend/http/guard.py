"""HTTP edges that must fail closed: request bodies over the limit, response security headers, and the
answer gunicorn gives to a request it cannot parse (request line or headers too long).

* Werkzeug enforces ``MAX_CONTENT_LENGTH`` on a ``Content-Length`` body, but a *chunked* body (no length)
  is cut at the limit and read as if complete, so an oversized batch could be accepted truncated.
  :class:`BodyLimit` reads a chunked body up to one byte past the limit and answers 413 itself.
* Every response says ``X-Content-Type-Options: nosniff``; production adds HSTS
  (``PERKPASS_HSTS_MAX_AGE``, 0 = off when a TLS proxy sends it instead).
* A JSON answer to a GET of 1 KB or more is gzipped for a client that accepts it (the citizen page's
  catalogue shrinks from 7 to 1.5 KB on a slow phone connection). Only GETs, never the console: answers
  to POSTs carry fresh secrets (tokens, codes) next to what the client sent, the setting where
  compression leaks (BREACH).
* :func:`gunicorn_error` replaces gunicorn's HTML error page with the API's JSON error shape
  (``backend/http/gunicorn.py`` installs it and sets the request-line and header limits).
"""
from __future__ import annotations

import gzip
import io
import json

NOSNIFF = ("X-Content-Type-Options", "nosniff")


def _json_error(status: int, code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "fields": {}}}).encode() + b"\n"


class BodyLimit:
    """WSGI middleware: a chunked request body larger than the app's ``MAX_CONTENT_LENGTH`` gets a JSON
    413; a smaller one is buffered and handed on with its real ``Content-Length``."""

    def __init__(self, wsgi_app, flask_app):
        self.wsgi_app = wsgi_app
        self.flask_app = flask_app

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            limit = int(self.flask_app.config.get("MAX_CONTENT_LENGTH") or 0)
            if limit:
                body = environ["wsgi.input"].read(limit + 1)
                if len(body) > limit:
                    payload = _json_error(413, "payload_too_large",
                                          f"The request body is larger than {limit} bytes.")
                    start_response("413 Request Entity Too Large", [
                        ("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
                        ("Connection", "close"), NOSNIFF])
                    return [payload]
                # from here on it is an ordinary body of known length (werkzeug ignores a
                # Content-Length while Transfer-Encoding says chunked)
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
                environ.pop("HTTP_TRANSFER_ENCODING", None)
                environ.pop("wsgi.input_terminated", None)
        return self.wsgi_app(environ, start_response)


def install(app) -> None:
    """Wrap ``app`` with :class:`BodyLimit` and add the security headers to every response."""
    app.wsgi_app = BodyLimit(app.wsgi_app, app)
    from ..settings import settings_of
    hsts_age = settings_of(app).hsts_max_age
    hsts = f"max-age={hsts_age}; includeSubDomains" if hsts_age > 0 else None

    @app.after_request
    def _security_headers(resp):
        resp.headers.setdefault(*NOSNIFF)
        if hsts is not None:
            resp.headers.setdefault("Strict-Transport-Security", hsts)
        return _gzip_json(resp)


GZIP_MIN_BYTES = 1024


def _gzip_json(resp):
    from flask import request
    if (request.method != "GET" or resp.status_code != 200 or resp.mimetype != "application/json"
            or resp.direct_passthrough or "Content-Encoding" in resp.headers
            or request.path.startswith(("/api/v1/console", "/console"))
            or "gzip" not in (request.headers.get("Accept-Encoding") or "").lower()):
        return resp
    data = resp.get_data()
    if len(data) < GZIP_MIN_BYTES:
        return resp
    resp.set_data(gzip.compress(data, compresslevel=6, mtime=0))
    resp.headers["Content-Encoding"] = "gzip"
    resp.vary.add("Accept-Encoding")
    return resp


_GUNICORN_CODES = {400: "bad_request", 403: "forbidden", 414: "request_line_too_long",
                   431: "headers_too_large", 417: "expectation_failed", 500: "internal_error",
                   501: "not_implemented"}
_GUNICORN_MESSAGES = {
    414: "The request line (method, path and query) is longer than this server accepts.",
    431: "The request headers are more or larger than this server accepts.",
}


def gunicorn_error(sock, status_int, reason, mesg) -> None:
    """Drop-in for ``gunicorn.util.write_error``: the same status, in the API's JSON error shape."""
    from gunicorn.util import write_nonblock

    code = _GUNICORN_CODES.get(status_int, "bad_request")
    message = _GUNICORN_MESSAGES.get(status_int, "The server could not read this HTTP request.")
    body = _json_error(status_int, code, message)
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"X-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n")
    write_nonblock(sock, head.encode("latin-1") + body)
