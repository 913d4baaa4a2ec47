"""The kiosk's local SQLite store: settings, the redemption log and scan statistics.

Durability rules (see docs/kiosk.md, "What survives a crash"):

* The database runs in WAL mode with ``synchronous=FULL``: a committed transaction survives a
  process kill *and* a power cut.
* A grant is written (redemption rows + statistics row, one transaction) **before** the green
  screen is shown; a kill before the commit means the staff never saw green, so nothing was given.
* Each redemption carries a client-generated UUID. Sync sends pending rows and marks them synced
  only after the backend answered them (``accepted``, ``duplicate`` or ``rejected``: partner_sdk.upload).
  A kill at any point therefore leads at worst to the same ids being sent again, which the backend
  answers with ``duplicate``: nothing is lost, nothing is counted twice.

Every thread gets its own connection (SQLite connections are not shared across threads).
The replay memory lives in a separate file owned by ``partner_sdk.SQLiteReplayCache``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from collections.abc import Callable, Iterable
from typing import Any

from partner_sdk.status import Status
from partner_sdk.upload import Outcome, RedemptionItem

from .pin_rule import PIN_MAX_DIGITS, PIN_MIN_DIGITS, is_valid_pin

# The schema is built by MIGRATIONS, the sqlite-utils pattern: an ordered list of functions, each applied once,
# in its own transaction, and recorded by name in the ``migrations`` table. A database from before this table
# existed (made by the first schema) gets the first migration as a no-op (IF NOT EXISTS) and is recorded.
# Add a function at the end for every schema change; never edit or reorder one that has shipped.

def _m001_initial(conn: sqlite3.Connection) -> None:
    for statement in (
        """CREATE TABLE IF NOT EXISTS settings (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS redemptions (
            id            TEXT PRIMARY KEY,          -- client-generated uuid4, the idempotency key
            jti           TEXT NOT NULL,
            pseudonym     TEXT NOT NULL,
            perk          TEXT NOT NULL,
            scanned_at    INTEGER NOT NULL,          -- epoch seconds
            synced_at     INTEGER,                   -- NULL while pending
            server_status TEXT                       -- the backend's answer: a partner_sdk.upload.Outcome
        )""",
        "CREATE INDEX IF NOT EXISTS redemptions_pending ON redemptions (scanned_at) WHERE synced_at IS NULL",
        "CREATE INDEX IF NOT EXISTS redemptions_jti ON redemptions (jti)",
        """CREATE TABLE IF NOT EXISTS scans (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            at         INTEGER NOT NULL,             -- epoch seconds
            day        TEXT NOT NULL,                -- local date YYYY-MM-DD, for the statistics screen
            status     TEXT NOT NULL,                -- partner_sdk Status name
            perk       TEXT,                         -- granted perk (one row per perk), NULL for refusals
            source     TEXT NOT NULL                 -- camera | hid | manual | file
        )""",
        "CREATE INDEX IF NOT EXISTS scans_day ON scans (day, status)",
    ):
        conn.execute(statement)


Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = [_m001_initial]
SCHEMA_VERSION = len(MIGRATIONS)  # also kept in settings['schema_version'] (what older tools read)


def apply_migrations(conn: sqlite3.Connection, migrations: list[Migration], *, now: float) -> list[str]:
    """Apply, in order, the migrations not yet recorded; returns the names applied. A failing migration rolls
    back alone (nothing of it stays, it is not recorded) and raises: the kiosk must not run on half a schema.
    ``conn`` is in autocommit mode (isolation_level=None), as the store's connections are."""
    conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)")
    applied: list[str] = []
    for migration in migrations:
        name = migration.__name__.lstrip("_")
        with _Tx(conn) as c:  # BEGIN IMMEDIATE: two processes opening one file apply each migration once
            if c.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                continue
            migration(c)
            c.execute("INSERT INTO migrations(name, applied_at) VALUES (?, ?)", (name, int(now)))
            c.execute("INSERT INTO settings(key, value) VALUES ('schema_version', ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                      (json.dumps(migrations.index(migration) + 1),))
            applied.append(name)
    return applied


# How long local data is kept. Synced redemptions and statistics older than this are pruned:
# the kiosk keeps only what it needs (minimum disclosure also applies to a stolen kiosk).
RETENTION_DAYS = 30


def local_day(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Redemption:
    """One row of the log: an upload item (partner_sdk.upload.RedemptionItem) and what became of it."""
    id: str
    jti: str
    pseudonym: str
    perk: str
    scanned_at: int
    synced_at: int | None = None
    server_status: str | None = None  # an Outcome's value once the backend answered

    def to_wire(self) -> RedemptionItem:
        return {"id": self.id, "jti": self.jti, "pseudonym": self.pseudonym,
                "perk": self.perk, "scanned_at": int(self.scanned_at)}


class Store:
    """Thread-safe facade over one SQLite file (one connection per thread)."""

    def __init__(self, path: str | os.PathLike[str], *, migrations: list[Migration] | None = None,
                 now: float | None = None):
        self.path = os.fspath(path)
        parent = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(parent, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self.migrations_applied = apply_migrations(self._conn(), MIGRATIONS if migrations is None else migrations,
                                                       now=time.time() if now is None else now)
        except BaseException:
            self.close()
            raise

    # -- connections -----------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

    def _tx(self):
        return _Tx(self._conn())

    # -- settings --------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        row = self._conn().execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row["value"])

    def set(self, key: str, value: Any) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO settings(key, value) VALUES (?, ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                      (key, json.dumps(value)))

    def set_many(self, values: dict[str, Any]) -> None:
        with self._tx() as c:
            for key, value in values.items():
                c.execute("INSERT INTO settings(key, value) VALUES (?, ?) "
                          "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                          (key, json.dumps(value)))

    def delete(self, *keys: str) -> None:
        with self._tx() as c:
            for key in keys:
                c.execute("DELETE FROM settings WHERE key = ?", (key,))

    # -- redemption log --------------------------------------------------------------------
    def record_scan(self, *, status: str, source: str, now: float, jti: str | None = None,
                    pseudonym: str | None = None, perks: Iterable[str] = ()) -> list[Redemption]:
        """Record one decision. For a grant, one redemption per perk, in the same transaction."""
        perks = [p for p in perks]
        ts = int(now)
        day = local_day(now)
        made: list[Redemption] = []
        with self._tx() as c:
            if status == Status.GRANTED and perks:
                for perk in perks:
                    r = Redemption(id=str(uuid.uuid4()), jti=str(jti or ""),
                                   pseudonym=str(pseudonym or ""), perk=perk, scanned_at=ts)
                    c.execute("INSERT INTO redemptions(id, jti, pseudonym, perk, scanned_at) "
                              "VALUES (?, ?, ?, ?, ?)",
                              (r.id, r.jti, r.pseudonym, r.perk, r.scanned_at))
                    c.execute("INSERT INTO scans(at, day, status, perk, source) VALUES (?, ?, ?, ?, ?)",
                              (ts, day, status, perk, source))
                    made.append(r)
            else:
                c.execute("INSERT INTO scans(at, day, status, perk, source) VALUES (?, ?, ?, NULL, ?)",
                          (ts, day, status, source))
        return made

    def redemption_for_jti(self, jti: str) -> Redemption | None:
        row = self._conn().execute(
            "SELECT * FROM redemptions WHERE jti = ? ORDER BY scanned_at LIMIT 1", (jti,)).fetchone()
        return None if row is None else Redemption(**dict(row))

    def pending(self, limit: int = 500) -> list[Redemption]:
        rows = self._conn().execute(
            "SELECT * FROM redemptions WHERE synced_at IS NULL ORDER BY scanned_at, id LIMIT ?",
            (int(limit),)).fetchall()
        return [Redemption(**dict(r)) for r in rows]

    def pending_count(self) -> int:
        return int(self._conn().execute(
            "SELECT COUNT(*) FROM redemptions WHERE synced_at IS NULL").fetchone()[0])

    def mark_synced(self, results: Iterable[tuple[str, Outcome]], now: float) -> int:
        """Mark ids the backend answered as done. ``results``: (id, its outcome); every outcome is final."""
        n = 0
        with self._tx() as c:
            for rid, status in results:
                cur = c.execute("UPDATE redemptions SET synced_at = ?, server_status = ? "
                                "WHERE id = ? AND synced_at IS NULL", (int(now), status, rid))
                n += cur.rowcount
        return n

    def all_redemptions(self) -> list[Redemption]:
        rows = self._conn().execute("SELECT * FROM redemptions ORDER BY scanned_at, id").fetchall()
        return [Redemption(**dict(r)) for r in rows]

    def prune(self, now: float, days: int = RETENTION_DAYS) -> None:
        cutoff = int(now - days * 86400)
        day_cutoff = local_day(now - days * 86400)
        with self._tx() as c:
            c.execute("DELETE FROM redemptions WHERE synced_at IS NOT NULL AND scanned_at < ?", (cutoff,))
            c.execute("DELETE FROM scans WHERE day < ?", (day_cutoff,))

    # -- statistics ------------------------------------------------------------------------
    def stats_for_day(self, day: str) -> dict[str, dict[str, int]]:
        conn = self._conn()
        grants = {r["perk"]: r["n"] for r in conn.execute(
            "SELECT perk, COUNT(*) AS n FROM scans WHERE day = ? AND status = ? "
            "GROUP BY perk ORDER BY n DESC, perk", (day, Status.GRANTED.value))}
        refusals = {r["status"]: r["n"] for r in conn.execute(
            "SELECT status, COUNT(*) AS n FROM scans WHERE day = ? AND status != ? "
            "GROUP BY status ORDER BY n DESC, status", (day, Status.GRANTED.value))}
        return {"grants": grants, "refusals": refusals}

    def scan_counts(self, since_day: str) -> list[dict[str, Any]]:
        """Whole-day totals by result since ``since_day`` (for the backend's console; counts only)."""
        days: dict[str, dict[str, int]] = {}
        for r in self._conn().execute("SELECT day, status, COUNT(*) AS n FROM scans WHERE day >= ? "
                                      "GROUP BY day, status ORDER BY day, status", (since_day,)):
            if r["status"].replace("_", "").isalpha() and r["status"].isupper():
                days.setdefault(r["day"], {})[r["status"]] = int(r["n"])
        return [{"day": d, "counts": c} for d, c in days.items()]

    # -- staff PIN -------------------------------------------------------------------------
    def set_pin(self, pin: str) -> None:
        self.set_many({"pin_hash": hash_pin(pin), "pin_failures": 0, "pin_locked_until": 0})

    def has_pin(self) -> bool:
        return bool(self.get("pin_hash"))

    def check_pin(self, pin: str, now: float | None = None) -> tuple[bool, int]:
        """Return (ok, seconds_locked). Five wrong PINs in a row lock entry for a minute, doubling."""
        now = time.time() if now is None else now
        locked_until = float(self.get("pin_locked_until", 0) or 0)
        if locked_until > now:
            return False, int(locked_until - now + 0.999)
        stored = self.get("pin_hash")
        if not stored:
            return False, 0
        if verify_pin(pin, stored):
            self.set_many({"pin_failures": 0, "pin_locked_until": 0})
            return True, 0
        failures = int(self.get("pin_failures", 0) or 0) + 1
        values: dict[str, Any] = {"pin_failures": failures}
        wait = 0
        if failures >= 5:
            wait = 60 * (2 ** min(failures - 5, 6))
            values["pin_locked_until"] = now + wait
        self.set_many(values)
        return False, wait


class _Tx:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


# -- PIN hashing (scrypt, per-PIN salt) ---------------------------------------------------------
_N, _R, _P = 2 ** 14, 8, 1


def hash_pin(pin: str) -> str:
    if not is_valid_pin(pin):
        raise ValueError(f"PIN must be {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits")
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if algo != "scrypt":
            return False
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(digest_b64)
        got = hashlib.scrypt(str(pin).encode(), salt=salt, n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def today(now: float | None = None) -> str:
    return local_day(time.time() if now is None else now)


def yesterday(now: float) -> str:
    return (datetime.fromtimestamp(now) - timedelta(days=1)).strftime("%Y-%m-%d")
