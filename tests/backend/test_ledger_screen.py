"""Provider events hold no text by construction: ``ledger.ingest`` builds a row only from the rule code, the
numbers, the time, the citizen and the reference's keyed digest, so even a direct caller (not the strict
schema of the API and ``flask ledger ingest``) that passes a description or extra fields stores none of it."""
from __future__ import annotations

import time
import uuid

from sqlalchemy import select

from backend.extensions import db
from backend.models import Citizen, ScoreEvent


def _member(now: int) -> Citizen:
    from backend.services import scores
    c = Citizen(public_id="c_" + uuid.uuid4().hex[:24], phone_hash=uuid.uuid4().hex, phone_hint="0000",
                created_at=now)
    db.session.add(c)
    db.session.flush()
    scores.set_score(c, "moli", 650, now=now, source="test")
    db.session.commit()
    return c


def test_a_direct_caller_cannot_store_text_either(app):
    from backend.services import ledger
    now = int(time.time())
    citizen = _member(now)
    provider, _token = ledger.create_provider("fuzhou-traffic", "Traffic police", ["moli"], now,
                                              reference_format="FZ-TP-######")
    change = next(c for c in ledger.catalogue_changes() if c.code == "fuzhou-traffic")
    ledger.decide_change(change.id, True, "operator:second", now)
    event = {"reference": "FZ-TP-000001", "citizen_id": citizen.public_id, "scheme": "moli",
             "rule": "VOLUNTEER-SERVICE", "points": 5, "occurred_at": now - 60,
             "description": "Diabetes and high blood pressure, seen at the clinic", "religion": "Buddhist"}
    assert ledger.ingest(provider, [event], now).counts()["accepted"] == 1
    row = db.session.scalars(select(ScoreEvent).where(ScoreEvent.kind == "point")).one()
    stored = " ".join(str(getattr(row, c.key)) for c in ScoreEvent.__table__.columns)
    for needle in ("Diabetes", "clinic", "Buddhist", "FZ-TP-000001"):
        assert needle not in stored
    assert (row.category, row.delta, row.reason) == ("VOLUNTEER-SERVICE", 5, None)
    assert "reference" not in ScoreEvent.__table__.c, "no column that could hold a readable reference"
