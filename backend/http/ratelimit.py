"""A direct rate-limit check for hot endpoints.

Flask-Limiter's route decorators guard log-in, code requests and enrolment. On the issuance endpoint
its per-request machinery (limit resolution, exemption scopes) costs more than signing the code, so
issuance checks its limit here instead: same library (``limits``), same storage (memory, or Redis when
configured) and the same 429 JSON answer, with a fraction of the overhead.
"""
from __future__ import annotations

import threading
import time
from functools import lru_cache

from flask import current_app
from limits import parse_many

from .errors import APIError
from ..extensions import limiter
from ..settings import settings_of


@lru_cache(maxsize=32)
def _items(spec: str):
    return tuple(parse_many(spec)) if spec else ()


class LocalWindows:
    """Fixed-window counters in this process: what ``memory://`` storage means anyway (limits per
    worker), without the expiry timer thread the ``limits`` memory storage starts on every hit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple, list] = {}  # (scope, limit, key) -> [window index, count, period]
        self._sweep_at = 0.0

    def hit(self, item, scope: str, key: str, now: float) -> tuple[bool, float]:
        period = item.get_expiry()
        window = int(now // period)
        k = (scope, str(item), key)
        with self._lock:
            if now >= self._sweep_at:  # forget finished windows now and then
                self._counts = {kk: v for kk, v in self._counts.items() if v[0] == int(now // v[2])}
                self._sweep_at = now + 60
            entry = self._counts.get(k)
            if entry is None or entry[0] != window:
                entry = self._counts[k] = [window, 0, period]
            entry[1] += 1
            n = entry[1]
        return n <= item.amount, (window + 1) * period


def _local(app) -> LocalWindows:
    lw = app.extensions.get("perkpass_local_limits")
    if lw is None:
        lw = app.extensions["perkpass_local_limits"] = LocalWindows()
    return lw


def check(limit: str, key: str, scope: str, shared: bool = False) -> None:
    """Count one hit for ``key`` against the configured rate limit ``limit`` (``settings.RATE_LIMITS``);
    429 when exceeded.

    Counted in this process unless the configured storage is shared (Redis) *and* ``shared`` is true: a
    coarse abuse guard like the issuance cap does not need a network round trip per request; log-in and
    code limits (Flask-Limiter) always use the shared storage."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's own method
    s = settings_of(app)
    if not s.rate_limits_enabled or not limiter.enabled:
        return
    items = _items(s.rate_limits[limit])
    if not items:
        return
    now = time.time()
    local = s.rate_limit_storage_uri.startswith("memory://") or not shared
    for item in items:
        if local:
            ok, reset = _local(app).hit(item, scope, key, now)
        else:
            strategy = limiter.limiter
            ok = strategy.hit(item, scope, key)
            reset = strategy.get_window_stats(item, scope, key).reset_time if not ok else now
        if not ok:
            raise APIError(429, "rate_limited", "Too many requests; slow down and retry later.", {},
                           {"Retry-After": str(max(1, int(reset - now) + 1))})
