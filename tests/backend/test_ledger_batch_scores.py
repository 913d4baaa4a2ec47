"""A provider's batch writes scores in one statement (issue 19, speed), so the score arithmetic and its
consequences are checked here without the ORM's help: the new score equals the full replay (inside the range,
at its edges and clamped), every row's score_after is the score after the batch, and a score the batch lowers
withdraws the PP2 certificates it no longer justifies, as an ORM change would."""
from __future__ import annotations

import json
import shutil
import time

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import CitizenScheme, ScoreEvent
from tests.backend.test_devices import PHONE, _certs
from tests.backend.test_devices import phone as phone
from tests.backend.test_ledger import Ledger


@pytest.fixture
def confirmed_at_once(make_app, tmp_path):
    """An app whose Moli rules confirm negative events at once (review: none), with its helper."""
    from backend.config import REPO_ROOT
    rules_dir = tmp_path / "point-rules"
    shutil.copytree(REPO_ROOT / "assets" / "point-rules", rules_dir)
    moli = json.loads((rules_dir / "moli.json").read_text())
    moli["review"] = "none"
    (rules_dir / "moli.json").write_text(json.dumps(moli))
    return make_app(PERKPASS_POINT_RULES_DIR=str(rules_dir))


def test_batch_scores_equal_the_full_replay_inside_and_at_the_edges(h, confirmed_at_once):
    from tests.backend.conftest import Helper
    from backend.services import ledger
    h2 = Helper(confirmed_at_once, confirmed_at_once.test_client())
    with confirmed_at_once.app_context():
        lg = Ledger(h2)
        phones = {"+8613800005001": 700, "+8613800005002": 1000, "+8613800005003": 1, "+8613800005004": 995,
                  "+8613800005005": 0}
        toks = {p: h2.citizen(p, {"moli": s}) for p, s in phones.items()}
        prov = lg.provider("city-data")
        now = int(time.time())
        events = []
        for k, p in enumerate(phones):
            for j, (rule, pts) in enumerate((("VOLUNTEER-SERVICE", 20), ("OFFENCE-MINOR", -10), ("VOLUNTEER-SERVICE", 5))):
                events.append(lg.event(p, "moli", rule, pts, ref=f"DOC-{k}0000{j}", occurred_at=now - 60))
        out = lg.send(prov, events)
        assert out["accepted"] == 15
        got = {p: lg.score(toks[p], "moli")["score"] for p in phones}
        # +20 -10 +5 each: 700 -> 715; 1000 is the top (replayed: 1015 -> 1000); 1 -> 16; 995 -> 1010 -> 1000;
        # 0 is the bottom (replayed) -> 15
        assert got == {"+8613800005001": 715, "+8613800005002": 1000, "+8613800005003": 16,
                       "+8613800005004": 1000, "+8613800005005": 15}
        for m in db.session.scalars(select(CitizenScheme)):
            old = m.score
            assert ledger.recompute(m, now)[1] == old, "the batch's score is the replay's"
            rows = db.session.scalars(select(ScoreEvent).where(ScoreEvent.membership_id == m.id,
                                                               ScoreEvent.kind == "point")).all()
            assert rows and {r.score_after for r in rows} == {old}
        db.session.rollback()


def test_a_batch_that_lowers_a_score_withdraws_the_certificates_it_no_longer_justifies(h, app, phone,
                                                                                       make_app, tmp_path):
    from backend.config import REPO_ROOT
    token = h.citizen(PHONE, {"moli": 690})
    dev = phone.register(h, token).json["id"]
    certs = {c["audience"]: c for c in _certs(h, token, dev)["certificates"]}
    assert set(certs) == {"gov-office", "metro"}
    rules_dir = tmp_path / "point-rules"
    shutil.copytree(REPO_ROOT / "assets" / "point-rules", rules_dir)
    moli = json.loads((rules_dir / "moli.json").read_text())
    moli["review"] = "none"
    (rules_dir / "moli.json").write_text(json.dumps(moli))
    app2 = make_app(PERKPASS_POINT_RULES_DIR=str(rules_dir))
    with app2.app_context():
        from tests.backend.conftest import Helper
        lg = Ledger(Helper(app2, app2.test_client()))
        prov = lg.provider("city-data")
        out = lg.send(prov, [lg.event(PHONE, "moli", "OFFENCE-MINOR", -6, ref="DOC-000601")])
        assert out["results"][0]["event_status"] == "confirmed"
        db.session.remove()
    assert h.client.get("/api/v1/me/score/moli", headers=h.bearer(token)).json["score"] == 684
    revoked = h.trust_store().current.revoked
    assert certs["metro"]["cert_id"] in revoked and certs["gov-office"]["cert_id"] not in revoked
