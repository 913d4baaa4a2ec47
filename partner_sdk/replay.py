"""Replay memory: a verifier remembers every credential it has granted until that credential expires.

``check_and_remember(key, expires_at, now)`` is atomic: it returns True the first time a key is seen and
False afterwards, so two threads (or two kiosk processes sharing one SQLite file) never both grant.

Forgetting is where replay memories go wrong, so both caches forget cautiously: an entry is only dropped
when it can no longer matter even if the wall clock passed as ``now`` was wrong for a while (one scan
with the clock a day ahead must not wipe the memory and let a still-valid code be granted again once the
clock is corrected).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("partner_sdk.replay")


class ReplayCache(Protocol):
    def check_and_remember(self, key: str, expires_at: float, now: float) -> bool: ...

    def __contains__(self, key: object) -> bool: ...


class MemoryReplayCache:
    """In-process replay memory; forgets on restart (use :class:`SQLiteReplayCache` where that matters).

    O(1) amortised per call and bounded: at most ``max_entries`` entries (about 200 bytes each). Entries
    leave in insertion order once *both* clocks agree their code has expired: the wall clock passed as
    ``now`` and this process's ``monotonic`` clock (the time the code had left when it was remembered, up to
    ``max_remember`` seconds, must really have elapsed). A wall clock that jumps forward therefore forgets
    nothing early, and one that jumps back keeps an entry until the wall clock passes its expiry again.

    At the limit, with every entry still live, a new code is refused (``False``: the verifier answers
    REPLAYED) and a warning is logged: failing closed, never forgetting a live code to make room. Size
    ``max_entries`` for the peak number of grants within a code's lifetime plus leeway (at most
    300 + 120 s): the default 1,000,000 is ~2,400 grants per second.
    """

    def __init__(self, max_entries: int = 1_000_000, *, monotonic: Callable[[], float] = time.monotonic,
                 max_remember: float = 3600.0) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        # key -> (key, expires_at, monotonic deadline); the same tuple sits in the queue, so identity tells
        # a queue entry that was superseded from the current one
        self._seen: dict[str, tuple[str, float, float]] = {}
        self._queue: deque[tuple[str, float, float]] = deque()
        self._lock = threading.Lock()
        self._max = max_entries
        self._monotonic = monotonic
        self._max_remember = max_remember
        self._warned_full_at: float | None = None

    def check_and_remember(self, key: str, expires_at: float, now: float) -> bool:
        with self._lock:
            mono = self._monotonic()
            queue = self._queue
            if queue and queue[0][2] <= mono:
                self._purge(now, mono)
            entry = self._seen.get(key)
            if entry is not None and entry[1] > now:
                return False
            if entry is None and len(self._seen) >= self._max:
                if self._warned_full_at is None or mono - self._warned_full_at >= 60:
                    self._warned_full_at = mono
                    log.warning("replay memory full (%d live entries): refusing new codes until some expire", self._max)
                return False
            remaining = expires_at - now  # the time the code has left; 0 or less is purged at the next call
            if remaining > self._max_remember:
                remaining = self._max_remember
            entry = (key, expires_at, mono + remaining)
            self._seen[key] = entry
            queue.append(entry)
            return True

    def _purge(self, now: float, mono: float) -> None:
        queue, seen = self._queue, self._seen
        while queue and queue[0][2] <= mono:
            entry = queue.popleft()
            key, expires_at, _ = entry
            if seen.get(key) is not entry:
                continue  # superseded by a newer entry for the same key
            if expires_at > now:
                # the monotonic time is up but the wall clock says the code is still valid (it was set back):
                # keep it, and look again when the wall clock should have caught up
                again = (key, expires_at, mono + min(expires_at - now, self._max_remember))
                seen[key] = again
                queue.append(again)
            else:
                del seen[key]

    def __contains__(self, key: object) -> bool:
        return key in self._seen

    def __len__(self) -> int:
        return len(self._seen)


class SQLiteReplayCache:
    """Replay memory that survives restarts and crashes (SQLite in WAL mode, one row per granted code).

    Several verifiers (kiosk processes, gates) may share one file, each with its own clock. A row is
    deleted only ``retain_after`` seconds (default one day) after its expiry by the deleting process's
    clock, so a verifier whose clock is up to that far ahead cannot wipe codes the others still accept.
    Callers pass ``expires_at`` = the code's ``exp`` plus the largest leeway any verifier sharing the file
    may use (:class:`partner_sdk.Verifier` passes ``exp + MAX_LEEWAY``).
    """

    def __init__(self, path: str | os.PathLike[str], *, retain_after: float = 86_400.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if not retain_after >= 0:
            raise ValueError("retain_after must be >= 0")
        self._path = os.fspath(path)
        self._local = threading.local()
        self._retain_after = float(retain_after)
        self._monotonic = monotonic
        self._next_purge = self._monotonic()  # scheduled by the monotonic clock: a wall-clock jump cannot stop it
        conn = self._conn()
        conn.execute("CREATE TABLE IF NOT EXISTS replay (key TEXT PRIMARY KEY, expires_at REAL NOT NULL)")
        conn.execute("CREATE INDEX IF NOT EXISTS replay_expiry ON replay (expires_at)")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # a granted code must be remembered across power loss
            self._local.conn = conn
        return conn

    def check_and_remember(self, key: str, expires_at: float, now: float) -> bool:
        conn = self._conn()
        mono = self._monotonic()
        if mono >= self._next_purge:
            conn.execute("DELETE FROM replay WHERE expires_at <= ?", (now - self._retain_after,))
            self._next_purge = mono + 60
        # An expired row for the same key is replaced; a live one makes the insert a no-op.
        cur = conn.execute(
            "INSERT INTO replay (key, expires_at) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at WHERE replay.expires_at <= ?",
            (key, expires_at, now),
        )
        return cur.rowcount == 1

    def __contains__(self, key: object) -> bool:
        row = self._conn().execute("SELECT 1 FROM replay WHERE key = ?", (key,)).fetchone()
        return row is not None

    def __len__(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM replay").fetchone()[0])

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
