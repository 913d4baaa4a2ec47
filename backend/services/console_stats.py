"""Codes issued per day and venue type, for the console overview.

Issuance is the hottest endpoint, so it only adds one to an in-memory counter; the counts go to the
``console_issued_daily`` table at most every ``FLUSH_EVERY`` seconds per worker (on a later issuance) and
whenever the console's overview is read in that worker. A worker killed between two flushes loses at
most those seconds of counts: this is a chart, not an invoice.
"""
from __future__ import annotations

import threading
import time
from collections import Counter

from sqlalchemy import text

from ..extensions import db

FLUSH_EVERY = 10.0
_lock = threading.Lock()
_pending: Counter = Counter()
_last_flush = [time.monotonic()]

_UPSERT = text("INSERT INTO console_issued_daily (day, audience, count) VALUES (:day, :audience, :n) "
               "ON CONFLICT (day, audience) DO UPDATE SET count = console_issued_daily.count + excluded.count")


def utc_day(ts: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(int(ts)))


def count_issued(audience: str, now: int) -> None:
    """One code issued for ``audience`` at ``now`` (called by the issuance endpoint)."""
    with _lock:
        _pending[(utc_day(now), audience)] += 1
        due = time.monotonic() - _last_flush[0] >= FLUSH_EVERY
    if due:
        flush()


def flush() -> int:
    """Write the counted codes on a connection of their own (never inside the caller's transaction)."""
    with _lock:
        items = list(_pending.items())
        _pending.clear()
        _last_flush[0] = time.monotonic()
    if not items:
        return 0
    try:
        with db.engine.begin() as conn:
            conn.execute(_UPSERT, [{"day": d, "audience": a, "n": n} for (d, a), n in items])
    except Exception:  # noqa: BLE001 - a counter must never fail an issuance; keep the counts for later
        with _lock:
            for k, n in items:
                _pending[k] += n
        return 0
    return sum(n for _, n in items)
