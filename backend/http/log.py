"""Structured (JSON lines) logging. Log records carry event names and ids, never personal data:
no phone numbers, no scores, no tokens, no IP addresses."""
from __future__ import annotations

import json
import re
import logging
import sys
import time
import uuid

from flask import Flask, g, request


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            out.update(fields)
        rid = getattr(record, "request_id", None)
        if rid:
            out["request_id"] = rid
        if record.exc_info:
            out["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (gunicorn, pytest capture, redirections)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        try:
            record.request_id = g.get("request_id")
        except RuntimeError:
            record.request_id = None
        return True


_HANDLER_NAME = "perkpass-structured"
_RID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def configure_logging(app: Flask) -> None:
    root = logging.getLogger("perkpass")
    from ..settings import settings_of
    cfg = settings_of(app)
    root.setLevel(cfg.log_level)
    if not any(getattr(h, "name", None) == _HANDLER_NAME for h in root.handlers):
        handler = _StderrHandler()
        handler.name = _HANDLER_NAME
        if cfg.log_json:
            handler.setFormatter(JSONFormatter())
        handler.addFilter(_RequestIdFilter())
        root.addHandler(handler)
    root.propagate = True  # lets pytest's caplog see records

    access = logging.getLogger("perkpass.access")

    @app.before_request
    def _start():
        g.request_started = time.perf_counter()
        rid = request.headers.get("X-Request-Id", "")
        g.request_id = rid if _RID.fullmatch(rid) else uuid.uuid4().hex

    @app.after_request
    def _finish(resp):
        started = g.get("request_started")
        if started is not None and access.isEnabledFor(logging.INFO):
            rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
            access.info("request", extra={"fields": {
                "method": request.method,
                "route": rule,  # the route template, never the concrete path or query string
                "status": resp.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }})
        resp.headers["X-Request-Id"] = g.get("request_id", "")
        return resp


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields) -> None:
    """Log a business event with structured fields (callers must pass no personal data)."""
    if logger.isEnabledFor(level):
        logger.log(level, name, extra={"fields": fields})
