"""One autocommit read connection per (engine, thread) for the hottest lookup.

Every citizen request resolves its bearer token with one query. Through the pool that query pays a
check-out, two switches of psycopg's autocommit flag and the reset on check-in; on a connection kept
out of the pool, already in autocommit, it pays the round trip and little else (PostgreSQL, hot loop:
115 -> 75 µs of CPU; bench/issue_load.py and docs/performance.md have the effect on a real server).
SQLite file databases take the same path (sqlite3 opens no transaction for a SELECT); in-memory ones
keep the pool, whose single connection *is* the database.

The connection only ever runs single read statements in autocommit, so it never holds a transaction,
a lock or a snapshot: it sees every commit at once (a log-out or a new score counts on the next request).
Connections are closed when their engine is disposed; a broken one (database restart) is replaced and
the statement retried once; one inherited across ``fork`` is left alone (closing it would end the
parent's session) and the child opens its own.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Sequence

from sqlalchemy import event
from sqlalchemy.engine import Engine

_local = threading.local()
_lock = threading.Lock()
_detached: dict[int, tuple[Engine, set[Any]]] = {}  # id(engine) -> (engine, pool fairies of every thread)
_inherited: list[Any] = []  # connections a forked child must neither use nor close
_prepared: dict[int, set[str]] = {}  # id(DBAPI connection) -> names of the statements prepared on it


def applies(engine: Engine) -> bool:
    if engine.dialect.name == "postgresql":
        return True
    if engine.dialect.name == "sqlite":
        database = engine.url.database or ""
        return database not in ("", ":memory:") and engine.url.query.get("mode") != "memory"
    return False


def fetch_all(engine: Engine, sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple]:
    """Rows of one read-only statement (in the driver's parameter style) on this thread's connection."""
    for attempt in (1, 2):
        fairy, conn = _connection(engine)
        try:
            cur = conn.cursor()
            try:
                cur.execute(sql, params)
                return cur.fetchall()
            finally:
                cur.close()
        except engine.dialect.loaded_dbapi.OperationalError:
            _forget(engine, fairy)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def fetch_prepared(engine: Engine, name: str, sql: str, params: Sequence[str]) -> list[tuple[str | None, ...]]:
    """PostgreSQL only: rows, as text (None for NULL), of ``sql`` (``$1``-style parameters) prepared once
    per connection and run with libpq's PQexecPrepared through ``psycopg.pq``, psycopg's documented
    libpq wrapper. It skips the cursor's generator machinery: 55 -> 25 µs of CPU per lookup in a hot loop.
    libpq releases the GIL while it waits, so the worker's other threads run meanwhile."""
    from psycopg import DatabaseError, OperationalError, pq

    bname = name.encode()
    args = [p.encode() for p in params]
    for attempt in (1, 2):
        fairy, conn = _connection(engine)
        pgconn = conn.pgconn
        try:
            prepared = _prepared.setdefault(id(conn), set())
            if name not in prepared:
                _check(pgconn.prepare(bname, sql.encode()), pgconn, pq.ExecStatus.COMMAND_OK, DatabaseError,
                       OperationalError)
                prepared.add(name)
            res = pgconn.exec_prepared(bname, args)
            _check(res, pgconn, pq.ExecStatus.TUPLES_OK, DatabaseError, OperationalError)
            width = range(res.nfields)
            return [tuple(None if (v := res.get_value(i, j)) is None else v.decode() for j in width)
                    for i in range(res.ntuples)]
        except OperationalError:
            _prepared.pop(id(conn), None)
            _forget(engine, fairy)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _check(res: Any, pgconn: Any, ok: Any, database_error: type, operational_error: type) -> None:
    if res.status == ok:
        return
    from psycopg import pq
    message = (res.error_message or pgconn.error_message or b"").decode("utf-8", "replace").strip()
    if pgconn.status != pq.ConnStatus.OK:  # the connection itself is gone: reconnect and retry
        raise operational_error(message or "connection lost")
    raise database_error(message or f"unexpected result status {res.status}")


def _connection(engine: Engine):
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    entry = conns.get(id(engine))
    if entry is not None:
        eng, fairy, conn, pid = entry
        known = _detached.get(id(engine))
        # still registered = not closed by a dispose (sqlite3 connections cannot tell they are closed)
        if eng is engine and pid == os.getpid() and known is not None and fairy in known[1]:
            return fairy, conn
        if pid != os.getpid():
            _inherited.append(fairy)
    fairy = engine.raw_connection()
    conn = fairy.dbapi_connection  # the driver's own connection (psycopg, sqlite3: not wrapped)
    fairy.detach()  # ours from now on: the pool neither resets nor hands it to anyone else
    if engine.dialect.name == "postgresql":
        conn.autocommit = True
    conns[id(engine)] = (engine, fairy, conn, os.getpid())
    with _lock:
        known = _detached.get(id(engine))
        if known is None or known[0] is not engine:
            known = _detached[id(engine)] = (engine, set())
            if not event.contains(engine, "engine_disposed", _close_all):
                event.listen(engine, "engine_disposed", _close_all)
        known[1].add(fairy)
    return fairy, conn


def _forget(engine: Engine, fairy) -> None:
    conns = getattr(_local, "conns", {})
    conns.pop(id(engine), None)
    with _lock:
        known = _detached.get(id(engine))
        if known is not None:
            known[1].discard(fairy)
    _prepared.pop(id(fairy.dbapi_connection), None)
    try:
        fairy.close()
    except Exception:  # noqa: BLE001 - it is broken already
        pass


def _close_all(engine: Engine) -> None:
    with _lock:
        known = _detached.pop(id(engine), None)
    for fairy in (known[1] if known is not None and known[0] is engine else []):
        _prepared.pop(id(fairy.dbapi_connection), None)
        try:
            fairy.close()
        except Exception:  # noqa: BLE001 - closing at shutdown must not fail the dispose
            pass
