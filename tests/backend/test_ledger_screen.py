"""The forbidden-data screen fails closed: ``ledger.ingest`` screens a batch itself unless its caller says it
screened the raw batch (the provider API and ``flask ledger ingest`` do, with ``screen_batch``, before
loading it), so a direct caller can never store what the screen refuses."""
from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

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


def test_ingest_screens_a_batch_nobody_screened_before(app):
    from backend.services import ledger
    from backend.services.errors import ForbiddenData
    now = int(time.time())
    citizen = _member(now)
    provider, _token = ledger.create_provider("fuzhou-traffic", "Traffic police", ["moli"], now)
    event = {"id": "E-1", "citizen_id": citizen.public_id, "scheme": "moli", "category": "VOLUNTEER-SERVICE",
             "points": 5, "occurred_at": now - 60,
             "description": "Diabetes and high blood pressure, seen at the clinic"}
    before = db.session.scalar(select(func.count()).select_from(ScoreEvent))
    with pytest.raises(ForbiddenData) as refused:
        ledger.ingest(provider, [dict(event)], now)
    assert "events.0.description" in refused.value.details
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ScoreEvent)) == before
    clean = dict(event, description="Two afternoons at the community library")
    assert ledger.ingest(provider, [clean], now).counts()["accepted"] == 1
