"""Replay memory: a verifier remembers every credential it has granted until that credential expires.

``check_and_remember(key, expires_at, now)`` is atomic: it returns True the first time a key is seen and
False afterwards, so two threads (or two kiosk processes sharing one SQLite file) never both grant.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Protocol


class ReplayCache(Protocol):
    def check_and_remember(self, key: str, expires_at: float, now: float) -> bool: ...

    def __contains__(self, key: object) -> bool: ...


class MemoryReplayCache:
    """In-process replay memory; forgets on restart (use :class:`SQLiteReplayCache` where that matters)."""

    def __init__(self, max_entries: int = 1_000_000) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._max = max_entries
        self._next_purge = 0.0

    def check_and_remember(self, key: str, expires_at: float, now: float) -> bool:
        with self._lock:
            if now >= self._next_purge or len(self._seen) >= self._max:
                self._purge(now)
            exp = self._seen.get(key)
            if exp is not None and exp > now:
                return False
            self._seen[key] = expires_at
            return True

    def _purge(self, now: float) -> None:
        self._seen = {k: e for k, e in self._seen.items() if e > now}
        self._next_purge = now + 60

    def __contains__(self, key: object) -> bool:
        return key in self._seen

    def __len__(self) -> int:
        return len(self._seen)


class SQLiteReplayCache:
    """Replay memory that survives restarts and crashes (SQLite in WAL mode, one row per granted code)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = os.fspath(path)
        self._local = threading.local()
        self._next_purge = 0.0
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
        if now >= self._next_purge:
            conn.execute("DELETE FROM replay WHERE expires_at <= ?", (now,))
            self._next_purge = now + 60
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
