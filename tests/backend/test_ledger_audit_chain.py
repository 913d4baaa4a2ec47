"""One hash chain, one writer: the services' audit entries and the entries of operator score imports
(written by the ScoreEvent listener inside a flush) go through the same append (backend.services.ledger
.audit.append), so they interleave in the order they happened and never fork, even when written at once
by separate transactions."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import AuditEntry, Citizen


def _citizen(i: int, now: int) -> Citizen:
    c = Citizen(public_id="c_" + uuid.uuid4().hex[:24], phone_hash=uuid.uuid4().hex + f"{i:04d}",
                phone_hint="0000", created_at=now)
    db.session.add(c)
    db.session.flush()
    return c


def test_imports_and_service_entries_share_one_chain_in_order(app):
    from backend.services import ledger, scores
    now = int(time.time())
    ledger.audit("operator", "test", "test.before", "membership", "*", {"n": 1}, now)
    scores.set_score(_citizen(1, now), "moli", 650, now=now, source="city platform")  # an import, not flushed yet
    ledger.audit("operator", "test", "test.after", "membership", "*", {"n": 2}, now)
    db.session.commit()
    actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-3:] == ["test.before", "score.imported", "test.after"]
    out = ledger.verify_audit()
    assert out["ok"] is True and out["entries"] == len(actions)


def test_concurrent_imports_and_service_entries_never_fork_the_chain(app):
    """Four transactions at once, two importing scores (the listener's path) and two writing service
    entries (the services' path): every entry is in one unbroken chain."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite allows one writer at a time)")
    from backend.services import ledger, scores
    now = int(time.time())
    citizens = [_citizen(i, now).id for i in range(20)]
    db.session.commit()
    before = ledger.verify_audit()["entries"]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def importer(ids: list[int]) -> None:
        try:
            with app.app_context():
                start.wait()
                for cid in ids:
                    scores.set_score(db.session.get_one(Citizen, cid), "moli", 640, now=now, source="city platform")
                    db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def service(tag: str) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(10):
                    ledger.audit("operator", tag, "test.entry", "membership", i, {"i": i}, now)
                    db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=importer, args=(citizens[:10],)),
               threading.Thread(target=importer, args=(citizens[10:],)),
               threading.Thread(target=service, args=("a",)), threading.Thread(target=service, args=("b",))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    out = ledger.verify_audit()
    assert out["ok"] is True, out
    assert out["entries"] == before + 20 + 20
    db.session.remove()
