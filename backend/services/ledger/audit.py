"""The append-only audit log: who changed what in the ledger, each entry carrying the SHA-256 of the one
before it (``flask --app backend ledger audit --verify`` walks the chain).

There is one way to append: :func:`append`, on the connection of the caller's transaction. It takes the
chain's lock, reads the head once, and inserts the entries chained in order. :func:`audit` and
:func:`audit_many` call it for the services (after flushing the session, so rows written earlier in the
transaction are in the chain first); the ``after_insert`` listener on :class:`ScoreEvent` calls it for
operator imports (backend/services/scores.py), inside the flush that inserts them.

Entries carry ids, statuses and point deltas; never a phone number, a score or a citizen's own words.
"""
from __future__ import annotations

import json
import re

from sqlalchemy import Connection, select, text
from sqlalchemy import event as sa_event

from ...extensions import db
from ...models import AuditEntry, ScoreEvent
from .. import crypto
from .statuses import EventKind

GENESIS = "0" * 64
_LOCK_KEY = 74060006  # PostgreSQL advisory lock serialising appends (transaction-scoped), with the schema
_INSERT = AuditEntry.__table__.insert()
_SOURCE_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}\Z")  # a registered source system (import_codes)
_PG_INSERT = text(
    "INSERT INTO ledger_audit (at, actor_type, actor_ref, action, target_type, target_ref, details, prev_hash, "
    "entry_hash) SELECT at, actor_type, actor_ref, action, target_type, target_ref, details, prev_hash, entry_hash "
    "FROM ROWS FROM (json_to_recordset(CAST(:rows AS json)) AS (at bigint, actor_type text, actor_ref text, "
    "action text, target_type text, target_ref text, details json, prev_hash text, entry_hash text)) "
    "WITH ORDINALITY AS x(at, actor_type, actor_ref, action, target_type, target_ref, details, prev_hash, "
    "entry_hash, n) ORDER BY n")  # ids in chain order
_HEAD = select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(obj) -> str:
    """Sorted keys, no spaces, UTF-8 text: what the chain hashes. One encoder for every call (a provider's
    batch encodes a few thousand small objects; building an encoder each time was a tenth of the work)."""
    return _CANONICAL.encode(obj)


def entry_hash(prev: str, at: int, actor_type: str, actor_ref: str, action: str, target_type: str,
                target_ref: str, details: dict) -> str:
    return crypto.sha256_hex(canonical_json([prev, at, actor_type, actor_ref, action, target_type, target_ref,
                                             details]))


def append(connection: Connection, items: list[tuple], at: int) -> list[dict]:
    """Append entries ``(actor_type, actor_ref, action, target_type, target_ref, details)`` at time ``at``,
    in order, chained, in the transaction of ``connection``: the only writer of the chain.

    Appends are serialised so the chain never forks: PostgreSQL takes a transaction-scoped advisory
    lock (held until commit); SQLite's callers have written in this transaction already, so they hold
    its write lock. Returns the rows written."""
    if not items:
        return []
    if connection.dialect.name == "postgresql":
        # one chain per schema: instances of another schema in the same database (tenants, test runs) never
        # wait for this one
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY}, hashtext(current_schema()))"))
    prev = connection.execute(_HEAD).scalar() or GENESIS
    rows = []
    for actor_type, actor_ref, action, target_type, target_ref, details in items:
        details = json.loads(canonical_json(details))  # what is stored is exactly what was hashed
        actor_ref, target_ref = str(actor_ref)[:64], str(target_ref)[:64]
        this_hash = entry_hash(prev, at, actor_type, actor_ref, action, target_type, target_ref, details)
        rows.append({"at": at, "actor_type": actor_type, "actor_ref": actor_ref, "action": action,
                     "target_type": target_type, "target_ref": target_ref, "details": details,
                     "prev_hash": prev, "entry_hash": this_hash})
        prev = this_hash
    if connection.dialect.name == "postgresql" and len(rows) > 1:
        # a provider's batch appends a thousand entries: one JSON parameter instead of a VALUES list
        connection.execute(_PG_INSERT, {"rows": json.dumps(rows, ensure_ascii=False)})
    else:
        connection.execute(_INSERT, rows)
    return rows


def audit(actor_type: str, actor_ref: str, action: str, target_type: str, target_ref, details: dict,
          now: int) -> dict:
    """Append one entry (in the caller's transaction). Returns the row written."""
    return audit_many([(actor_type, actor_ref, action, target_type, target_ref, details)], now)[0]


def audit_many(items: list[tuple], now: int) -> list[dict]:
    """Append entries ``(actor_type, actor_ref, action, target_type, target_ref, details)`` in order, in
    the session's transaction: pending rows are flushed first (an import flushed now is audited before
    these entries, by the listener), then :func:`append` on the session's connection."""
    db.session.flush()
    return append(db.session.connection(), items, now)


@sa_event.listens_for(ScoreEvent, "after_insert")
def _audit_import(_mapper, connection: Connection, target: ScoreEvent) -> None:
    """Operator imports (backend/services/scores.py) change scores outside the ledger's services: audit
    them too, inside the same flush. No numbers: an import's change would reveal the score. No text either:
    the source only when it is a registered code (the audit log outlives an opt-out)."""
    if target.kind != EventKind.IMPORT:
        return
    source = target.source or ""
    details = {"source": source} if _SOURCE_CODE.match(source) else {}
    append(connection, [("operator", "import", "score.imported", "score_event", target.id, details)],
           target.recorded_at)


def audit_dict(e: AuditEntry) -> dict:
    return {"id": e.id, "at": e.at, "actor": {"type": e.actor_type, "ref": e.actor_ref}, "action": e.action,
            "target": {"type": e.target_type, "ref": e.target_ref}, "details": e.details,
            "prev_hash": e.prev_hash, "entry_hash": e.entry_hash}


def audit_page(after: int = 0, limit: int = 100, action: str | None = None, target_type: str | None = None) -> dict:
    stmt = select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(limit + 1)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    rows = list(db.session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"entries": [audit_dict(e) for e in rows], "next_after": rows[-1].id if more and rows else None}


def verify_audit() -> dict:
    """Walk the chain; report the first entry whose hash or link does not match."""
    prev, n = GENESIS, 0
    for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(500):
        n += 1
        if e.prev_hash != prev:
            return {"ok": False, "entries": n, "broken_at": e.id,
                    "problem": "link to the previous entry is wrong (an entry was removed or inserted)"}
        expect = entry_hash(e.prev_hash, e.at, e.actor_type, e.actor_ref, e.action, e.target_type, e.target_ref,
                             e.details)
        if e.entry_hash != expect:
            return {"ok": False, "entries": n, "broken_at": e.id,
                    "problem": "entry content does not match its hash (edited)"}
        prev = e.entry_hash
    return {"ok": True, "entries": n, "broken_at": None, "problem": None, "head": prev}
