"""A dispute statement is the citizen's own words (issue 19): shown only to them and the reviewer, never used
for scoring, deleted after the retention once the case is decided (``flask retention purge``), and gone with
everything else at opt-out."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import LedgerCase
from tests.backend.test_ledger import Ledger, _newest

DAY = 86400


@pytest.fixture
def lg(h):
    return Ledger(h)
WORDS = "I was abroad that week; my passport stamps show it (statement canary 5517)."
EARLY = "I never parked there: my car was at the garage (statement canary 6620)."


def _disputed(h, lg, phone: str, statement: str, prov: str, ref: str) -> tuple[str, int]:
    tok = h.citizen(phone, {"moli": 650})
    lg.one(prov, phone, "moli", "VOLUNTEER-SERVICE", 5, ref=ref)
    ev = _newest(lg.score(tok, "moli"))
    lg.dispute(tok, ev["id"], statement)
    return tok, ev["id"]


def test_statements_are_seen_by_their_author_and_the_reviewer_only_and_go_after_the_retention(h, lg, runner,
                                                                                            json_logs):
    prov, rev = lg.provider(), lg.reviewer()
    tok, event_id = _disputed(h, lg, "+8613800004001", WORDS, prov, "DOC-000501")
    tok2, event2 = _disputed(h, lg, "+8613800004002", EARLY, prov, "DOC-000502")
    assert lg.score(tok, "moli")["score"] == 655, "a dispute changes no score"
    assert _newest(lg.score(tok, "moli"))["case"]["statement"] == WORDS          # the author
    assert lg.case_for(rev, event_id)["statement"] == WORDS                      # the reviewer
    # nobody else: not the operator's API, not the audit trail, not the logs, not the provider
    for path in ("/api/v1/operator/ledger/audit?limit=500", "/api/v1/operator/ledger/providers",
                 "/api/v1/operator/ledger/catalogue/changes?status=approved"):
        assert "canary" not in h.client.get(path, headers=h.op()).get_data(as_text=True), path
    assert "canary" not in json.dumps(h.client.get("/api/v1/provider/events/DOC-000501", headers=h.bearer(prov)).json)
    assert WORDS not in json.dumps(lg.score(tok2, "moli")), "each citizen sees only their own statement"

    # one case decided long ago, one decided today, one still open
    case = lg.case_for(rev, event_id)
    lg.decide(rev, case["id"], "confirm", "The volunteer centre's sign-in sheet shows the citizen.")
    db.session.execute(update(LedgerCase).where(LedgerCase.id == case["id"])
                       .values(decided_at=LedgerCase.decided_at - 181 * DAY))
    db.session.commit()
    tok3, event3 = _disputed(h, lg, "+8613800004003", "Not mine either (statement canary 7731).", prov, "DOC-000503")
    case2 = lg.case_for(rev, event2)
    lg.decide(rev, case2["id"], "reverse", "The garage's invoice confirms the car was there.")

    out = runner.invoke(args=["retention", "purge", "--pause", "0"])
    assert out.exit_code == 0, out.output
    db.session.expire_all()
    statements = {c.id: c.statement for c in db.session.scalars(select(LedgerCase))}
    assert statements[case["id"]] is None, "decided 181 days ago: the citizen's words are gone"
    assert statements[case2["id"]] == EARLY, "decided today: kept for the retention"
    assert "statement canary 7731" in (lg.case_for(rev, event3)["statement"] or ""), "open: the reviewer needs it"
    after = _newest(lg.score(tok, "moli"))
    assert after["case"]["statement"] is None and after["case"]["decision"] == "confirm" and after["status"] == "confirmed"
    assert lg.score(tok, "moli")["score"] == 655 and lg.score(tok2, "moli")["score"] == 650, "scores unchanged"
    for line in json_logs():
        assert "canary" not in line, line
    assert lg.score(tok3, "moli")["score"] == 655


def test_forget_statements_refuses_a_retention_under_a_day(app):
    from backend.services import ledger
    with pytest.raises(ValueError):
        ledger.forget_statements(1_800_000_000, 0)

