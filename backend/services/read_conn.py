"""One autocommit read connection per (engine, thread) for the hottest lookup.

Every citizen request resolves its bearer token with one query. Through the pool that query pays a
check-out, two switches of psycopg's autocommit flag and the reset on check-in; on a connection kept
out of the pool, already in autocommit, it pays the round trip and little else (PostgreSQL, hot loop:
115 -> 75 µs of CPU; bench/issue_load.py and docs/performance.md have the effect on a real server).
SQLite file databases take the same path (sqlite3 opens no transaction for a SELECT); in-memory ones
keep the pool, whose single connection *is* the database.

The connection only ever runs single statements in autocommit, so it never holds a transaction, a lock
or a snapshot past one statement: it sees every commit at once (a log-out or a new score counts on the next
request). Besides reads, the kiosk upload runs here as one writing statement, which autocommit makes its
own transaction (services/redemptions.py: one round trip instead of BEGIN, statements and COMMIT).
Connections are closed when their engine is disposed; a broken one (database restart) is replaced and
a read retried once; one inherited across ``fork`` is left alone (closing it would end the
parent's session) and the child opens its own.

State lives in one :class:`ReadConnections` object per engine, kept in ``app.extensions`` (an app and its
engine go together: a test's second app, or a disposed and rebuilt engine, gets its own, never a stale one).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine
from ..settings import settings_of

EXTENSION = "perkpass.read_conn"  # app.extensions[EXTENSION]: {engine: ReadConnections}
_registry_lock = threading.Lock()  # creating one object per engine, once


def applies(engine: Engine) -> bool:
    if engine.dialect.name == "postgresql":
        return True
    if engine.dialect.name == "sqlite":
        database = engine.url.database or ""
        return database not in ("", ":memory:") and engine.url.query.get("mode") != "memory"
    return False


# A row of fetch_prepared: each column as text, None for NULL. Typed Any per column: the caller knows
# which of its columns are NOT NULL and converts them (int(), json.loads()) without a check.
TextRow = tuple[Any, ...]

_last = threading.local()  # per thread, (engine, its ReadConnections) last used: a cache, app.extensions owns


def for_engine(engine: Engine, app: Flask | None = None) -> ReadConnections:
    """The read connections of ``engine`` in ``app`` (the current app by default), made on first use."""
    last = getattr(_last, "pair", None)
    if last is not None and last[0] is engine and app is None:
        return last[1]  # the hot path: ``current_app`` costs more than the lookup it serves (several µs)
    # current_app is typed as Flask; _get_current_object is the proxy's own method
    found = _registered(engine, app or current_app._get_current_object())  # type: ignore[attr-defined]
    _last.pair = (engine, found)
    return found


def _registered(engine: Engine, app: Flask) -> ReadConnections:
    registry = app.extensions.get(EXTENSION)
    found = registry.get(engine) if registry is not None else None
    if found is None:
        with _registry_lock:
            registry = app.extensions.setdefault(EXTENSION, {})
            found = registry.get(engine)
            if found is None:
                found = registry[engine] = ReadConnections(engine)
    return found


def fetch_all(engine: Engine, sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple]:
    return for_engine(engine).fetch_all(sql, params)


def fetch_prepared(engine: Engine, name: str | None, sql: str, params: Sequence[str | None], *,
                   retry: bool = True) -> list[TextRow]:
    return for_engine(engine).fetch_prepared(name, sql, params, retry=retry)


class _Held:
    """One thread's connection: the pool's wrapper (closing it closes the connection), the driver's connection,
    the process that opened it, and the statements prepared on it."""

    __slots__ = ("fairy", "conn", "pid", "prepared")

    def __init__(self, fairy: Any, conn: Any, pid: int):
        self.fairy, self.conn, self.pid = fairy, conn, pid
        self.prepared: set[str] = set()


class ReadConnections:
    """One engine's autocommit read connections, one per thread, all closed when the engine is disposed."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[Any] = set()  # pool wrappers of every thread's connection, until closed
        self._inherited: list[Any] = []  # connections a forked child must neither use nor close
        event.listen(engine, "engine_disposed", self._close_all)

    def open_connections(self) -> list[Any]:
        """The driver connections open now (every thread's): for tests and diagnostics."""
        with self._lock:
            return [fairy.dbapi_connection for fairy in self._open]

    def fetch_all(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple]:
        """Rows of one read-only statement (in the driver's parameter style) on this thread's connection."""
        operational_error = self.engine.dialect.loaded_dbapi.OperationalError
        for attempt in (1, 2):
            held = self._connection()
            try:
                cur = held.conn.cursor()
                try:
                    cur.execute(sql, params)
                    return cur.fetchall()
                finally:
                    cur.close()
            except operational_error:
                self._forget(held)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def fetch_prepared(self, name: str | None, sql: str, params: Sequence[str | None], *,
                       retry: bool = True) -> list[TextRow]:
        """PostgreSQL only: rows, as text (None for NULL), of ``sql`` (``$1``-style parameters) prepared once
        per connection and run with libpq's PQexecPrepared through ``psycopg.pq``, psycopg's documented
        libpq wrapper. It skips the cursor's generator machinery: 55 -> 25 µs of CPU per lookup in a hot loop.
        libpq releases the GIL while it waits, so the worker's other threads run meanwhile.

        ``sql`` may also be one writing statement (the kiosk upload): autocommit makes it its own transaction,
        committed when this returns. Pass ``retry=False`` for it: when the connection breaks, whether the
        statement committed is unknown, so the error goes to the caller (whose client retries) instead of
        running it again here.

        ``name=None``: not prepared but sent with its parameters each time (PQexecParams), so PostgreSQL plans
        it for the tables as they are now. For statements whose best plan changes as a table grows: a prepared
        statement keeps the generic plan it chose in its first executions, and one chosen while the table was
        empty (a new deployment, a benchmark) is a sequential scan until the next ANALYZE."""
        from psycopg import DatabaseError, OperationalError, pq

        bname = name.encode() if name is not None else b""
        query = sql.encode() if name is None else b""
        args = [None if p is None else p.encode() for p in params]  # None: SQL NULL
        for attempt in (1, 2):
            held = self._connection()
            pgconn = held.conn.pgconn
            try:
                if name is None:
                    res = pgconn.exec_params(query, args)
                else:
                    if name not in held.prepared:
                        _check(pgconn.prepare(bname, sql.encode()), pgconn, (pq.ExecStatus.COMMAND_OK,),
                               DatabaseError, OperationalError)
                        held.prepared.add(name)
                    res = pgconn.exec_prepared(bname, args)
                # a statement that returns no rows (an UPDATE without RETURNING) answers COMMAND_OK: no rows
                _check(res, pgconn, (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK), DatabaseError,
                       OperationalError)
                width = range(res.nfields)
                return [tuple(None if (v := res.get_value(i, j)) is None else v.decode() for j in width)
                        for i in range(res.ntuples)]
            except OperationalError:
                self._forget(held)
                if attempt == 2 or not retry:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self) -> _Held:
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None:
            # still open = not closed by a dispose (sqlite3 connections cannot tell they are closed)
            if held.pid == os.getpid() and held.fairy in self._open:
                return held
            if held.pid != os.getpid():
                self._inherited.append(held.fairy)
        fairy = self.engine.raw_connection()
        conn = fairy.dbapi_connection  # the driver's own connection (psycopg, sqlite3: not wrapped)
        fairy.detach()  # ours from now on: the pool neither resets nor hands it to anyone else
        assert conn is not None, "a detached fairy still holds its driver connection"
        if self.engine.dialect.name == "postgresql":
            conn.autocommit = True
        held = self._local.held = _Held(fairy, conn, os.getpid())
        with self._lock:
            self._open.add(fairy)
        return held

    def _forget(self, held: _Held) -> None:
        if getattr(self._local, "held", None) is held:
            self._local.held = None
        with self._lock:
            self._open.discard(held.fairy)
        try:
            held.fairy.close()
        except Exception:  # noqa: BLE001 - it is broken already
            pass

    def _close_all(self, _engine: Engine) -> None:
        with self._lock:
            fairies, self._open = self._open, set()
        for fairy in fairies:
            try:
                fairy.close()
            except Exception:  # noqa: BLE001 - closing at shutdown must not fail the dispose
                pass


def _check(res: Any, pgconn: Any, ok: tuple[Any, ...], database_error: type, operational_error: type) -> None:
    if res.status in ok:
        return
    from psycopg import pq
    message = (res.error_message or pgconn.error_message or b"").decode("utf-8", "replace").strip()
    if pgconn.status != pq.ConnStatus.OK:  # the connection itself is gone: reconnect and retry
        raise operational_error(message or "connection lost")
    raise database_error(message or f"unexpected result status {res.status}")


# ---------------------------------------------------------------- reports on a replica

REPORTS_EXTENSION = "perkpass.reports_engine"  # app.extensions[REPORTS_EXTENSION]: the replica's engine


def reports_engine(app: Flask | None = None) -> Engine:
    """The engine report queries read from: a streaming replica when ``PERKPASS_REPORTS_DATABASE_URL`` names
    one (docs/deploy.md), else the primary (``db.engine``). The console's overview charts, its replays page
    (the cross-venue replay report and the anomalies) and ``GET /api/v1/operator/replays`` read here, so a
    city's reports never compete with kiosks and phones for the primary; they see the primary's data as of the
    replica's lag (seconds), which a report can afford. Pass it as ``bind_arguments={"bind": ...}`` to
    ``db.session.execute``: the session then reads on a connection of this engine.

    The replica's engine takes the primary's engine options (schema, recycle) with a small pool of its own:
    reports are few. It is made on first use and disposed with the primary's engine."""
    from ..extensions import db
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    url = settings_of(app).reports_database_url
    if not url:
        return db.engine
    found = app.extensions.get(REPORTS_EXTENSION)
    if found is None:
        with _registry_lock:
            found = app.extensions.get(REPORTS_EXTENSION)
            if found is None:
                from sqlalchemy import create_engine

                from ..config import normalise_database_url
                opts = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
                if not str(url).startswith("sqlite"):
                    opts.update(pool_size=2, max_overflow=4)
                found = app.extensions[REPORTS_EXTENSION] = create_engine(normalise_database_url(url), **opts)
                with app.app_context():
                    event.listen(db.engine, "engine_disposed", lambda _e: found.dispose())
    return found
