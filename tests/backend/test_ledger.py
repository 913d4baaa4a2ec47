"""The score ledger through the HTTP API, on SQLite and PostgreSQL: arithmetic at the band edges,
review of negative events, disputes, forbidden data, idempotent batches, perks in the next real
credential, and nothing of it reaching partners."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import AuditEntry, LedgerCase, ScoreEvent
from partner_sdk import Status, Verifier


def NOW() -> int:
    return int(time.time())


class Ledger:
    """Small client for the ledger's four roles on top of the conftest Helper."""

    def __init__(self, h):
        self.h, self.c = h, h.client
        self._n = 0

    def provider(self, code="fuzhou-traffic", schemes=("moli",), name=None, categories=None,
                 reference_format="DOC-######", approve=True) -> str:
        """A provider whose catalogue entry (name, reference format) a second operator approves."""
        body = {"code": code, "name": name or code.replace("-", " ").title(), "schemes": list(schemes),
                "reference_format": reference_format}
        if categories:
            body["categories"] = categories
        r = self.c.post("/api/v1/operator/ledger/providers", json=body, headers=self.h.op())
        assert r.status_code == 201, r.json
        if approve:
            self.approve_pending("provider", code)
        return r.json["token"]

    def second_op(self) -> dict:
        if not hasattr(self, "_second"):
            from backend.services.operators import create_token
            self._second = create_token("second operator", 1_700_000_000)
        return self.h.bearer(self._second)

    def approve_pending(self, kind, code):
        changes = self.c.get("/api/v1/operator/ledger/catalogue/changes", headers=self.second_op()).json["changes"]
        change = next(c for c in changes if c["kind"] == kind and c["code"] == code)
        r = self.c.post(f"/api/v1/operator/ledger/catalogue/changes/{change['id']}/approve", headers=self.second_op())
        assert r.status_code == 200, r.json

    def reviewer(self, name="Reviewer Lin") -> str:
        r = self.c.post("/api/v1/operator/ledger/reviewers", json={"name": name}, headers=self.h.op())
        assert r.status_code == 201, r.json
        return r.json["token"]

    def event(self, phone, scheme, rule, points=None, ref=None, **extra) -> dict:
        """An event: a reference (DOC-###### by default), the citizen, a rule code, points, a time."""
        self._n += 1
        ev = {"reference": ref or f"DOC-{self._n:06d}", "phone": phone, "scheme": scheme, "rule": rule,
              "occurred_at": NOW() - 3600}
        if points is not None:
            ev["points"] = points
        ev.update(extra)
        return ev

    def send(self, token, events, expect=200):
        r = self.c.post("/api/v1/provider/events", json={"events": events}, headers=self.h.bearer(token))
        assert r.status_code == expect, r.json
        return r.json

    def one(self, token, phone, scheme, category, points=None, **extra) -> dict:
        out = self.send(token, [self.event(phone, scheme, category, points, **extra)])
        assert out["results"][0]["status"] == "accepted", out
        return out["results"][0]

    def score(self, citizen_token, scheme) -> dict:
        r = self.c.get(f"/api/v1/me/score/{scheme}", headers=self.h.bearer(citizen_token))
        assert r.status_code == 200, r.json
        return r.json

    def queue(self, reviewer_token, **params) -> dict:
        r = self.c.get("/api/v1/reviewer/queue", query_string=params, headers=self.h.bearer(reviewer_token))
        assert r.status_code == 200, r.json
        return r.json

    def decide(self, reviewer_token, case_id, decision, reason="Checked against the source document.", expect=200):
        r = self.c.post(f"/api/v1/reviewer/cases/{case_id}/decision", json={"decision": decision, "reason": reason},
                        headers=self.h.bearer(reviewer_token))
        assert r.status_code == expect, r.json
        return r.json

    def dispute(self, citizen_token, event_id, statement="This was not me: my car was sold in May.", expect=201):
        r = self.c.post(f"/api/v1/me/score/events/{event_id}/dispute", json={"statement": statement},
                        headers=self.h.bearer(citizen_token))
        assert r.status_code == expect, r.json
        return r.json

    def case_for(self, reviewer_token, event_id) -> dict:
        for c in self.queue(reviewer_token)["cases"]:
            if c["event"]["id"] == event_id:
                return c
        raise AssertionError(f"no open case for event {event_id}")


@pytest.fixture
def lg(h):
    return Ledger(h)


def _newest(expl, kind="point"):
    return next(e for e in expl["events"] if e["kind"] == kind)


def _perk_codes(expl):
    return sorted(p["code"] for p in expl["perks"])


# ------------------------------------------------------------------ arithmetic at the edges

def test_moli_682_683_686_and_a_confirmed_offence(h, lg):
    phone = "+8613800001001"
    tok = h.citizen(phone, {"moli": 682})
    prov, rev = lg.provider(), lg.reviewer()
    s = lg.score(tok, "moli")
    assert (s["score"], s["band"]["code"], s["perks"]) == (682, "GOOD", [])
    assert s["next_band"] == {"code": "VERY-GOOD", "label": s["next_band"]["label"], "min": 683, "points_needed": 1}
    assert {p["code"]: p["points_needed"] for p in s["upcoming_perks"]}["MOLI-METRO20"] == 4

    lg.one(prov, phone, "moli", "SOCIAL-SECURITY-ONTIME", 1)  # positive: counts at once
    s = lg.score(tok, "moli")
    assert (s["score"], s["band"]["code"]) == (683, "VERY-GOOD")
    assert _perk_codes(s) == ["MOLI-GOV-ASSIST", "MOLI-GOV-EXPRESS", "MOLI-GOV-PRIORITY"]

    lg.one(prov, phone, "moli", "VOLUNTEER-SERVICE", 3)
    s = lg.score(tok, "moli")
    assert (s["score"], s["band"]["code"]) == (686, "EXCELLENT")
    assert "MOLI-METRO20" in _perk_codes(s) and s["next_band"] is None

    res = lg.one(prov, phone, "moli", "OFFENCE-MINOR", -5)
    assert res["event_status"] == "pending_review"
    s = lg.score(tok, "moli")
    assert s["score"] == 686 and s["pending_points"] == -5, "a pending negative does not count"
    offence = _newest(s)
    assert (offence["status"], offence["counts"], offence["points"]) == ("pending_review", False, -5)
    assert offence["source"] == {"type": "provider", "code": "fuzhou-traffic", "name": "Fuzhou Traffic",
                                 "name_zh": "Fuzhou Traffic"}  # the approved catalogue labels
    assert offence["title"]["en"] == "Minor offence" and "reference" not in offence

    case = lg.case_for(rev, offence["id"])
    assert case["reason"] == "pending_review" and not case["disputed"]
    lg.decide(rev, case["id"], "confirm", "Ticket FZ-1 matches the plate registered to this citizen.")
    s = lg.score(tok, "moli")
    assert (s["score"], s["band"]["code"], s["perks"]) == (681, "GOOD", [])
    offence = _newest(s)
    assert offence["status"] == "confirmed" and offence["counts"] and offence["can_dispute"]
    assert offence["case"]["decision"] == "confirm"
    assert offence["case"]["decision_reason"].startswith("Ticket FZ-1")
    # the explanation adds up: base + every counted event
    assert s["base"] + sum(e["points"] for e in s["events"] if e["counts"]) == s["score"]


def test_osmanthus_floor_of_100_and_fixed_rules(h, lg):
    phone = "+8613800001002"
    tok = h.login(phone)
    r = h.client.post("/api/v1/me/schemes", json={"scheme": "osmanthus"}, headers=h.bearer(tok))
    assert r.status_code == 201
    prov, rev = lg.provider("suzhou-police", ("osmanthus",)), lg.reviewer()
    s = lg.score(tok, "osmanthus")
    assert (s["score"], s["band"]["code"]) == (100, "BASE")
    assert [e["kind"] for e in s["events"]] == ["join"] and s["events"][0]["can_dispute"] is False

    ev = lg.one(prov, phone, "osmanthus", "SPEEDING")  # fixed -1: points may be omitted
    case = lg.queue(rev)["cases"][0]
    assert case["event"]["points"] == -1 and ev["event_status"] == "pending_review"
    lg.decide(rev, case["id"], "confirm", "Camera record SZ-88 checked by hand.")
    s = lg.score(tok, "osmanthus")
    assert s["score"] == 100 and s["clamped"] is True, "never below the range"

    blood = lg.provider("suzhou-blood-centre", ("osmanthus",), categories=["BLOOD-DONATION"])
    lg.one(blood, phone, "osmanthus", "BLOOD-DONATION")
    s = lg.score(tok, "osmanthus")
    # base 100, -1 speeding, +5 blood donation: 104, every point explained
    assert (s["score"], s["band"]["code"], s["clamped"]) == (104, "CREDITED", False)
    assert [e["points"] for e in s["events"]] == [5, -1, 0]
    # the blood centre may only send blood donations
    out = lg.send(blood, [lg.event(phone, "osmanthus", "TAX-ONTIME", 2)], expect=422)
    assert out["error"]["code"] == "invalid_events" and "events.0.rule" in out["error"]["fields"]
    # fixed rules refuse other values
    out = lg.send(blood, [lg.event(phone, "osmanthus", "BLOOD-DONATION", 50)], expect=422)
    assert "events.0.points" in out["error"]["fields"]


@pytest.mark.parametrize("start,events,score,grade", [
    (None, [], 1000, "A"),                                     # everyone starts at 1000 = A
    (None, [-5], 995, "A"),                                    # not yielding to pedestrians
    (965, [-5], 960, "A"),                                     # lowest A
    (965, [-5, -5], 955, "B"),                                 # one more: B
    (1025, [5], 1030, "AA"),                                   # lowest AA
    (1025, [5, 19], 1049, "AA"),
    (1025, [5, 20], 1050, "AAA"),                              # lowest AAA: heating discount
    (1190, [50], 1200, "AAA"),                                 # clamped at the top
])
def test_rongcheng_grade_boundaries(h, lg, start, events, score, grade):
    phone = "+8613800001003"
    if start is None:
        tok = h.login(phone)
        assert h.client.post("/api/v1/me/schemes", json={"scheme": "rongcheng"}, headers=h.bearer(tok)).status_code == 201
    else:
        tok = h.citizen(phone, {"rongcheng": start})
    prov, rev = lg.provider("rongcheng-credit-office", ("rongcheng",)), lg.reviewer()
    for pts in events:
        cat = "NOT-YIELDING-PEDESTRIANS" if pts == -5 else "GOOD-DEED" if pts >= 5 else "VOLUNTEER-SERVICE"
        lg.one(prov, phone, "rongcheng", cat, pts)
    for c in lg.queue(rev)["cases"]:
        lg.decide(rev, c["id"], "confirm", "Crosswalk camera footage reviewed.")
    s = lg.score(tok, "rongcheng")
    assert (s["score"], s["band"]["code"]) == (score, grade)
    assert ("RC-HEATING" in _perk_codes(s)) == (grade == "AAA")
    assert ("RC-NODEPOSIT" in _perk_codes(s)) == (grade in ("A", "AA", "AAA"))


# ------------------------------------------------------------------ review and disputes

def test_rejected_pending_negative_never_counts_and_the_citizen_sees_why(h, lg):
    phone = "+8613800001004"
    tok = h.citizen(phone, {"moli": 690})
    prov, rev = lg.provider(), lg.reviewer()
    lg.one(prov, phone, "moli", "OFFENCE-SERIOUS", -40)
    assert lg.score(tok, "moli")["score"] == 690
    case = lg.queue(rev, reason="pending_review")["cases"][0]
    out = lg.decide(rev, case["id"], "reverse", "The ticket was cancelled by the court on appeal.")
    assert out["event"]["status"] == "rejected" and out["reviewer"] == "Reviewer Lin"
    s = lg.score(tok, "moli")
    ev = _newest(s)
    assert s["score"] == 690 and ev["status"] == "rejected" and not ev["counts"] and not ev["can_dispute"]
    assert ev["case"]["decision_reason"] == "The ticket was cancelled by the court on appeal."
    # decided once
    lg.decide(rev, case["id"], "confirm", expect=409)
    assert lg.queue(rev)["counts"] == {"disputes": 0, "pending_review": 0}


def test_a_dispute_leaves_a_confirmed_record_counting_until_a_reviewer_decides(h, lg):
    phone = "+8613800001005"
    tok = h.citizen(phone, {"moli": 680})
    prov, rev = lg.provider(), lg.reviewer()
    lg.one(prov, phone, "moli", "VOLUNTEER-SERVICE", 10)
    ev = _newest(lg.score(tok, "moli"))
    assert ev["can_dispute"] and ev["disputable_until"] > NOW() + 9 * 86400
    out = lg.dispute(tok, ev["id"], "I never volunteered there; this is someone else's record.")
    assert out["status"] == "disputed" and out["counts"] and out["case"]["statement"].startswith("I never")
    s = lg.score(tok, "moli")
    assert s["score"] == 690 and s["frozen_points"] == 0, "a dispute changes no score: the reviewer decides"
    lg.dispute(tok, ev["id"], expect=409)
    case = lg.queue(rev, reason="dispute")["cases"][0]
    assert case["disputed"] and case["statement"].startswith("I never") and case["event"]["points"] == 10
    lg.decide(rev, case["id"], "confirm", "The volunteer centre confirmed the attendance sheet.")
    s = lg.score(tok, "moli")
    ev = _newest(s)
    assert s["score"] == 690 and ev["status"] == "confirmed" and ev["counts"]
    assert ev["case"]["decision"] == "confirm" and not ev["can_dispute"], "one dispute per record"
    r = h.client.post(f"/api/v1/me/score/events/{ev['id']}/dispute", json={"statement": "Again, please look again."},
                      headers=h.bearer(tok))
    assert r.status_code == 409 and r.json["error"]["code"] == "already_disputed"


def test_dispute_then_reverse_removes_the_points_for_good(h, lg):
    phone = "+8613800001006"
    tok = h.citizen(phone, {"moli": 700})
    prov, rev = lg.provider(), lg.reviewer()
    lg.one(prov, phone, "moli", "OFFENCE-MODERATE", -15)
    lg.decide(rev, lg.queue(rev)["cases"][0]["id"], "confirm", "Matches the urban management record.")
    assert lg.score(tok, "moli")["score"] == 685
    ev = _newest(lg.score(tok, "moli"))
    lg.dispute(tok, ev["id"], "I was abroad on that date; passport stamps attached at the office.")
    assert lg.score(tok, "moli")["score"] == 685, "a dispute is not a way to raise a score (Suzhou: a person decides)"
    case = lg.case_for(rev, ev["id"])
    lg.decide(rev, case["id"], "reverse", "Passport stamps show the citizen was abroad; record withdrawn.")
    s = lg.score(tok, "moli")
    ev = _newest(s)
    assert s["score"] == 700 and ev["status"] == "reversed" and not ev["counts"]
    assert ev["case"]["decision"] == "reverse"
    assert ev["case"]["decision_reason"] == "Passport stamps show the citizen was abroad; record withdrawn."


def test_a_pending_negative_can_be_disputed_before_the_decision(h, lg):
    phone = "+8613800001007"
    tok = h.citizen(phone, {"osmanthus": 120})
    prov, rev = lg.provider("suzhou-police", ("osmanthus",)), lg.reviewer()
    lg.one(prov, phone, "osmanthus", "RED-LIGHT", -3)
    ev = _newest(lg.score(tok, "osmanthus"))
    assert ev["status"] == "pending_review" and ev["can_dispute"] and ev["disputable_until"] is None
    lg.dispute(tok, ev["id"], "The light was broken that day; the city repaired it the next morning.")
    q = lg.queue(rev)
    assert q["counts"] == {"disputes": 1, "pending_review": 0} and len(q["cases"]) == 1, "one case, not two"
    out = lg.decide(rev, q["cases"][0]["id"], "reverse", "Maintenance log confirms the signal fault.")
    assert out["event"]["status"] == "reversed"
    assert lg.score(tok, "osmanthus")["score"] == 120


def test_dispute_window_closes_and_is_configurable(h, lg, make_app, tmp_path, monkeypatch):
    phone = "+8613800001008"
    tok = h.citizen(phone, {"moli": 600})
    prov = lg.provider()
    lg.one(prov, phone, "moli", "VOLUNTEER-SERVICE", 5)
    ev = _newest(lg.score(tok, "moli"))
    from backend.api import score as score_api
    monkeypatch.setattr(score_api, "now", lambda: ev["disputable_until"] + 1)
    r = h.client.post(f"/api/v1/me/score/events/{ev['id']}/dispute", json={"statement": "Too late but I try it."},
                      headers=h.bearer(tok))
    assert r.status_code == 422 and r.json["error"]["code"] == "dispute_window_closed"
    assert r.json["error"]["fields"]["disputable_until"] == [str(ev["disputable_until"])]
    monkeypatch.setattr(score_api, "now", lambda: ev["disputable_until"])
    lg.dispute(tok, ev["id"])  # the last second is still inside

    # a scheme can choose another window
    import json
    import shutil
    from backend.config import REPO_ROOT
    rules_dir = tmp_path / "point-rules"
    shutil.copytree(REPO_ROOT / "assets" / "point-rules", rules_dir)
    moli = json.loads((rules_dir / "moli.json").read_text())
    moli["dispute_window_days"] = 3
    (rules_dir / "moli.json").write_text(json.dumps(moli))
    app2 = make_app(PERKPASS_POINT_RULES_DIR=str(rules_dir))
    with app2.app_context():
        from backend.services.ledger import get_point_rules
        assert get_point_rules().schemes["moli"].dispute_window_days == 3
    c2 = app2.test_client()
    r = c2.get("/api/v1/me/score/moli", headers=h.bearer(tok))
    assert r.json["dispute_window_days"] == 3


def test_review_policy_is_per_scheme(h, lg, make_app, tmp_path):
    import json
    import shutil
    from backend.config import REPO_ROOT
    rules_dir = tmp_path / "point-rules"
    shutil.copytree(REPO_ROOT / "assets" / "point-rules", rules_dir)
    moli = json.loads((rules_dir / "moli.json").read_text())
    moli["review"] = "none"
    (rules_dir / "moli.json").write_text(json.dumps(moli))
    osm = json.loads((rules_dir / "osmanthus.json").read_text())
    osm["review"] = "all"
    (rules_dir / "osmanthus.json").write_text(json.dumps(osm))
    app2 = make_app(PERKPASS_POINT_RULES_DIR=str(rules_dir))
    h2 = type(h)(app2, app2.test_client())
    with app2.app_context():
        lg2 = Ledger(h2)
        tok = h2.citizen("+8613800001009", {"moli": 700, "osmanthus": 110})
        prov = lg2.provider("city-data", ("moli", "osmanthus"))
        assert lg2.one(prov, "+8613800001009", "moli", "OFFENCE-MINOR", -5)["event_status"] == "confirmed"
        assert lg2.one(prov, "+8613800001009", "osmanthus", "BLOOD-DONATION")["event_status"] == "pending_review"
        assert lg2.score(tok, "moli")["score"] == 695 and lg2.score(tok, "osmanthus")["score"] == 110


# ------------------------------------------------------------------ forbidden data, idempotency, validation

def _schema_fields(r) -> dict:
    """A 400's nested schema errors ({"events": {"0": {"x": [...]}}}) as {"events.0.x": [...]}."""
    fields = r.json["error"]["fields"]
    if isinstance(fields.get("events"), dict):
        return {f"events.{i}.{k}": v for i, f in fields["events"].items() if isinstance(f, dict) for k, v in f.items()}
    return fields


@pytest.mark.parametrize("mutate,field", [
    (lambda e: e.update(rule="BLOOD-TYPE"), "events.0.rule"),                    # no such approved rule
    (lambda e: e.update(rule="religious_belief"), "events.0.rule"),              # not even a code
    (lambda e: e.update(blood_type="AB"), "events.0.blood_type"),                # no such field
    (lambda e: e.update(fingerprint_hash="9f8e"), "events.0.fingerprint_hash"),
    (lambda e: e.update(description="Genetic test result shared by the clinic"), "events.0.description"),
    (lambda e: e.update(description="病史：高血压"), "events.0.description"),
    (lambda e: e.update(reference="medical history file 7"), "events.0.reference"),
    (lambda e: e.update(reference="DOC-12345X"), "events.0.reference"),         # not the registered format
    (lambda e: e.update(phone={"number": "+8613800001010", "note": "diabetic"}), "events.0.phone"),  # nested
])
def test_only_codes_numbers_and_identifiers_enter_and_nothing_of_a_refusal_is_stored(h, lg, mutate, field):
    phone = "+8613800001010"
    tok = h.citizen(phone, {"moli": 650})
    prov = lg.provider()
    good = lg.event(phone, "moli", "VOLUNTEER-SERVICE", 5)
    bad = lg.event(phone, "moli", "VOLUNTEER-SERVICE", 5)
    mutate(bad)
    before = db.session.scalar(select(func.count()).select_from(ScoreEvent))
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    r = h.client.post("/api/v1/provider/events", json={"events": [bad, good]}, headers=h.bearer(prov))
    assert r.status_code in (400, 422), r.json
    assert r.json["error"]["code"] in ("validation_error", "invalid_events") and field in _schema_fields(r), r.json
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ScoreEvent)) == before
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before, "not even in the audit"
    assert lg.score(tok, "moli")["score"] == 650, "not even the good event of the batch"


def test_point_rules_never_name_forbidden_data(app, tmp_path):
    import json
    import shutil
    from backend.config import REPO_ROOT
    from backend.services.ledger import PointRulesError, load_point_rules
    from backend.services.perks import get_catalogue
    rules_dir = tmp_path / "pr"
    shutil.copytree(REPO_ROOT / "assets" / "point-rules", rules_dir)
    osm = json.loads((rules_dir / "osmanthus.json").read_text())
    osm["rules"].append({"code": "BLOOD-TYPE-O", "points": 1, "title": {"en": "Universal donor", "zh-CN": "O型血"}})
    (rules_dir / "osmanthus.json").write_text(json.dumps(osm))
    with pytest.raises(PointRulesError, match="forbidden"):
        load_point_rules(rules_dir, get_catalogue())


def test_only_approved_rules_and_registered_references_enter(h, lg):
    """By structure: an event type no approved rule registers, and a reference that does not match the provider's
    registered format, are refused even when no forbidden word is in them; the title the citizen reads is the
    rule's, from the catalogue."""
    phone = "+8613800001013"
    tok = h.citizen(phone, {"moli": 650})
    prov = lg.provider(reference_format="FZ-VOL-####-####")
    for change, where in ((dict(rule="CHURCH-ATTENDANCE-BONUS"), "events.0.rule"),
                          (dict(rule="PIETY"), "events.0.rule"),
                          (dict(reference="OFFICE-FILE-SEVEN"), "events.0.reference"),
                          (dict(reference="fz-vol-2026-0001"), "events.0.reference"),
                          (dict(reference="FZ-VOL-2026-00001"), "events.0.reference"),
                          (dict(reference="FZ-VOL-２０２６-0001"), "events.0.reference"),  # full-width digits
                          (dict(title="Faithful member"), "events.0.title")):
        r = h.client.post("/api/v1/provider/events", json={"events": [dict(lg.event(phone, "moli", "VOLUNTEER-SERVICE",
                                                                                    5), **change)]},
                          headers=h.bearer(prov))
        assert r.status_code in (400, 422) and where in _schema_fields(r), (change, r.json)
    lg.one(prov, phone, "moli", "VOLUNTEER-SERVICE", 5, ref="FZ-VOL-2026-0007")
    ev = _newest(lg.score(tok, "moli"))
    assert ev["title"] == {"en": "Registered volunteer service", "zh-CN": "志愿服务"}
    assert "reference" not in ev and ev["description"] is None, "the ledger holds no readable reference or text"
    stored = db.session.scalars(select(ScoreEvent).where(ScoreEvent.kind == "point")).one()
    assert "FZ-VOL-2026-0007" not in str([stored.provider_event_id, stored.reason, stored.source, stored.category])
    rules = h.client.get("/api/v1/provider/rules", headers=h.bearer(prov)).json
    assert {r["code"]: r["data_category"] for r in rules["schemes"][0]["rules"]}["OFFENCE-MINOR"] == "public-record-offence"
    assert rules["provider"]["reference_format"] == "FZ-VOL-####-####"
    assert "wrong-person" in {x["code"] for x in rules["withdrawal_reasons"]}


def test_a_withdrawal_gives_a_reason_code_and_the_citizen_reads_its_label(h, lg):
    phone = "+8613800001014"
    tok = h.citizen(phone, {"moli": 650})
    prov = lg.provider()
    lg.one(prov, phone, "moli", "VOLUNTEER-SERVICE", 5, ref="DOC-000101")
    for body, status in (({"reference": "DOC-000101", "reason": "The person was in hospital for surgery"}, 400),
                         ({"reference": "DOC-000101", "reason": "in-hospital"}, 400),        # not an approved code
                         ({"reference": "DOC-000101", "reason": "wrong-person", "note": "x"}, 400),
                         ({"reference": "DOC-000102", "reason": "wrong-person"}, 404)):
        r = h.client.post("/api/v1/provider/withdrawals", headers=h.bearer(prov), json=body)
        assert r.status_code == status, r.json
    assert h.client.get("/api/v1/provider/events/DOC-000101", headers=h.bearer(prov)).json["status"] == "confirmed"
    assert lg.score(tok, "moli")["score"] == 655
    r = h.client.post("/api/v1/provider/withdrawals", headers=h.bearer(prov),
                      json={"reference": "DOC-000101", "reason": "wrong-person"})
    assert r.status_code == 200 and r.json == {"reference": "DOC-000101", "status": "withdrawn",
                                               "recorded_at": r.json["recorded_at"], "decided_at": r.json["decided_at"]}
    s = lg.score(tok, "moli")
    ev = _newest(s)
    assert s["score"] == 650 and ev["status"] == "withdrawn"
    assert ev["case"]["reason_code"] == "wrong-person" and ev["case"]["decision_reason"] is None
    assert ev["case"]["reason_title"] == {"en": "Recorded for the wrong person", "zh-CN": "记录对象有误"}


def test_a_provider_sends_nothing_until_a_second_operator_approves_its_entry(h, lg):
    phone = "+8613800001015"
    tok = h.citizen(phone, {"moli": 650})
    prov = lg.provider(approve=False)
    r = h.client.post("/api/v1/provider/events", json={"events": [lg.event(phone, "moli", "VOLUNTEER-SERVICE", 5)]},
                      headers=h.bearer(prov))
    assert r.status_code == 403 and r.json["error"]["code"] == "provider_not_approved", r.json
    changes = h.client.get("/api/v1/operator/ledger/catalogue/changes", headers=h.op()).json["changes"]
    mine = next(c for c in changes if c["code"] == "fuzhou-traffic")
    assert mine["can_decide"] is False and mine["data"] == {"reference_format": "DOC-######"}
    r = h.client.post(f"/api/v1/operator/ledger/catalogue/changes/{mine['id']}/approve", headers=h.op())
    assert r.status_code == 403 and r.json["error"]["code"] == "four_eyes"
    lg.approve_pending("provider", "fuzhou-traffic")
    lg.one(prov, phone, "moli", "VOLUNTEER-SERVICE", 5)
    assert lg.score(tok, "moli")["score"] == 655


def test_every_rule_is_about_an_allowed_category_of_data(app, tmp_path):
    import json
    import shutil
    from backend.config import REPO_ROOT
    from backend.services.ledger import PointRulesError, load_point_rules
    from backend.services.perks import get_catalogue
    rules = load_point_rules(REPO_ROOT / "assets" / "point-rules", get_catalogue())
    assert all(r.category in rules.categories for s in rules.schemes.values() for r in s.rules.values())
    for mutate, match in (
            (lambda d: d["rules"][0].pop("category"), "needs a category"),
            (lambda d: d["rules"][0].update(category="faith-community"), "needs a category"),
            (lambda d: d["rules"].append({"code": "CHURCH-GOING", "category": "volunteering", "points": 1,
                                          "title": {"en": "Church going", "zh-CN": "去教堂"}}), "forbidden")):
        rules_dir = tmp_path / f"pr{match[:5]}{len(list(tmp_path.iterdir()))}"
        shutil.copytree(REPO_ROOT / "assets" / "point-rules", rules_dir)
        osm = json.loads((rules_dir / "osmanthus.json").read_text())
        mutate(osm)
        (rules_dir / "osmanthus.json").write_text(json.dumps(osm))
        with pytest.raises(PointRulesError, match=match):
            load_point_rules(rules_dir, get_catalogue())
    rules_dir = tmp_path / "cats"
    shutil.copytree(REPO_ROOT / "assets" / "point-rules", rules_dir)
    cats = json.loads((rules_dir / "categories.json").read_text())
    cats["categories"].append({"code": "religious-activity", "label": {"en": "Religious activity", "zh-CN": "宗教活动"}})
    (rules_dir / "categories.json").write_text(json.dumps(cats))
    with pytest.raises(PointRulesError, match="forbidden"):
        load_point_rules(rules_dir, get_catalogue())


def test_resent_batches_change_nothing(h, lg):
    phone = "+8613800001011"
    tok = h.citizen(phone, {"moli": 600})
    prov = lg.provider()
    batch = [lg.event(phone, "moli", "VOLUNTEER-SERVICE", 4, ref="DOC-000001"),
             lg.event(phone, "moli", "OFFENCE-MINOR", -6, ref="DOC-000002"),
             lg.event("+8613899999999", "moli", "OFFENCE-MINOR", -6, ref="DOC-000003")]
    first = lg.send(prov, batch)
    assert [r["status"] for r in first["results"]] == ["accepted", "accepted", "not_enrolled"]
    assert (first["accepted"], first["not_enrolled"]) == (2, 1)
    events_before = db.session.scalar(select(func.count()).select_from(ScoreEvent))
    cases_before = db.session.scalar(select(func.count()).select_from(LedgerCase))
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    s_before = lg.score(tok, "moli")
    for _ in range(2):
        again = lg.send(prov, batch)
        assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate", "not_enrolled"]
        assert [r["event_status"] for r in again["results"]] == ["confirmed", "pending_review", None]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ScoreEvent)) == events_before
    assert db.session.scalar(select(func.count()).select_from(LedgerCase)) == cases_before
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
    assert lg.score(tok, "moli") == s_before and s_before["score"] == 604
    # the same id with other content is a conflict, not an update
    changed = dict(batch[0], points=9)
    out = lg.send(prov, [changed])
    assert out["results"][0]["status"] == "conflict" and lg.score(tok, "moli")["score"] == 604
    # the same id inside one batch: the second copy is a duplicate
    twin = lg.event(phone, "moli", "VOLUNTEER-SERVICE", 1, ref="DOC-000009")
    out = lg.send(prov, [twin, dict(twin)])
    assert [r["status"] for r in out["results"]] == ["accepted", "duplicate"]
    # providers can ask what became of their event
    r = h.client.get("/api/v1/provider/events/DOC-000002", headers=h.bearer(prov))
    assert r.status_code == 200 and r.json["status"] == "pending_review" and "score" not in r.json
    # the people who did not opt in leave no trace
    assert h.client.get("/api/v1/provider/events/DOC-000003", headers=h.bearer(prov)).status_code == 404


def test_invalid_batches_are_refused_whole(h, lg):
    phone = "+8613800001012"
    tok = h.citizen(phone, {"moli": 600, "bailu": 600})
    prov = lg.provider()
    ok = lg.event(phone, "moli", "VOLUNTEER-SERVICE", 5)
    cases = [
        (lg.event(phone, "moli", "NO-SUCH-RULE", 5), 422, "events.0.rule"),
        (lg.event(phone, "moli", "OFFENCE-MINOR", -11), 422, "events.0.points"),
        (lg.event(phone, "moli", "OFFENCE-MINOR"), 422, "events.0.points"),           # ranges need points
        (lg.event(phone, "bailu", "OFFENCE-MINOR", -5), 422, "events.0.scheme"),      # not this provider's scheme
        (lg.event(phone, "moli", "OFFENCE-MINOR", -5, occurred_at=NOW() + 86400), 422, "events.0.occurred_at"),
        (lg.event(phone, "moli", "OFFENCE-MINOR", -5, citizen_id="c_" + "0" * 24), 422, "events.0.phone"),
        (lg.event(phone, "moli", "OFFENCE-MINOR", -5, ref="bad id with spaces"), 400, "events"),
        (lg.event(phone, "moli", "OFFENCE-MINOR", "-5"), 400, "events"),               # wrong type
        (lg.event(phone, "moli", "OFFENCE-MINOR", -5, score=600), 400, "events"),      # unknown field
    ]
    for bad, status, field in cases:
        r = h.client.post("/api/v1/provider/events", json={"events": [bad, ok]}, headers=h.bearer(prov))
        assert r.status_code == status, (bad, r.json)
        assert any(k.startswith(field) for k in r.json["error"]["fields"]), r.json
    assert lg.score(tok, "moli")["score"] == 600
    for body in ({"events": []}, {"events": [ok] * 1001}, {}, [ok]):
        r = h.client.post("/api/v1/provider/events", json=body, headers=h.bearer(prov))
        assert r.status_code == 400 and r.json["error"]["code"] == "validation_error"
    r = h.client.post("/api/v1/provider/events", data="{nope", headers={**h.bearer(prov), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_json"


def test_provider_rules_endpoint(h, lg):
    prov = lg.provider("suzhou-blood-centre", ("osmanthus",), categories=["BLOOD-DONATION"])
    r = h.client.get("/api/v1/provider/rules", headers=h.bearer(prov))
    assert r.status_code == 200
    assert r.json["schemes"] == [{"scheme": "osmanthus", "review": "negative", "dispute_window_days": 10,
                                  "while_disputed": "count",
                                  "rules": [{"code": "BLOOD-DONATION", "title": {"en": "Donated blood", "zh-CN": "无偿献血"},
                                             "data_category": "blood-donation", "points": 5}]}]
    assert {f["code"] for f in r.json["forbidden"]} == {
        "religious-belief", "genetics", "fingerprints", "biometrics", "blood-type", "medical-history",
        "specific-identity", "financial-accounts", "location-tracks", "children-under-14", "political-opinion"}


# ------------------------------------------------------------------ the next real credential

def _walk(obj):
    """Every key and scalar value of a JSON-like structure."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _walk(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _walk(v)
    else:
        yield obj


def _jws_payload(jws: str) -> dict:
    import base64
    import json
    part = jws.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _qr_jws(qr_text: str) -> str:
    from partner_sdk.format import parse_qr_text
    return parse_qr_text(qr_text).jws


def _metro(h, tok):
    return h.client.post("/api/v1/credentials", json={"audience": "metro"}, headers=h.bearer(tok)).json


def test_a_perk_appears_and_disappears_in_the_next_credential(h, lg):
    phone = "+8613800001013"
    tok = h.citizen(phone, {"moli": 685})
    prov, rev = lg.provider(), lg.reviewer()
    venue = h.venue("Dongjiekou gate", "metro")
    h.enrol(venue)
    assert _metro(h, tok)["eligible"] is False

    lg.one(prov, phone, "moli", "SOCIAL-SECURITY-ONTIME", 1)            # 686: the metro discount
    out = _metro(h, tok)
    assert out["eligible"] and [p["code"] for p in out["perks"]] == ["MOLI-METRO20"]
    d = Verifier(h.trust_store(), audience="metro").verify(out["qr_text"], perk="MOLI-METRO20")
    assert d.status is Status.GRANTED and d.perks == ("MOLI-METRO20",)

    ev = _newest(lg.score(tok, "moli"))
    lg.dispute(tok, ev["id"], "Checking: I am not sure this payment is mine.")   # still 686 until decided
    assert _metro(h, tok)["eligible"] is True
    lg.decide(rev, lg.case_for(rev, ev["id"])["id"], "confirm", "Social security bureau confirmed the payment.")
    out = _metro(h, tok)
    assert Verifier(h.trust_store(), audience="metro").verify(out["qr_text"]).status is Status.GRANTED

    lg.one(prov, phone, "moli", "OFFENCE-MINOR", -5)                    # pending: still granted
    assert _metro(h, tok)["eligible"] is True
    lg.decide(rev, lg.queue(rev)["cases"][0]["id"], "confirm", "Traffic police ticket verified.")
    assert _metro(h, tok)["eligible"] is False                          # 681: no code at all


# ------------------------------------------------------------------ nothing reaches partners

def test_nothing_of_the_ledger_reaches_partners_or_logs(h, lg, json_logs):
    phone = "+8613800001014"
    tok = h.citizen(phone, {"moli": 701})
    prov, rev = lg.provider("fuzhou-secret-bureau"), lg.reviewer("Reviewer Zhao")
    lg.one(prov, phone, "moli", "VOLUNTEER-SERVICE", 6, ref="DOC-770077")
    lg.one(prov, phone, "moli", "OFFENCE-MINOR", -8, ref="DOC-880088")
    lg.decide(rev, lg.queue(rev)["cases"][0]["id"], "confirm", "Canary-decision-reason checked.")
    ev = _newest(lg.score(tok, "moli"))
    lg.dispute(tok, ev["id"], "Canary-citizen-statement about the record.")
    score = lg.score(tok, "moli")["score"]
    assert score == 699  # 701 + 6 - 8: the disputed, confirmed -8 counts until a reviewer decides

    venue = h.venue("Gulou office", "gov-office")
    enrol = h.enrol(venue)
    issued = h.issue(tok, "gov-office")
    device = h.bearer(enrol["device_token"])
    d = Verifier(h.trust_store(), audience="gov-office").verify(issued["qr_text"])
    red = h.client.post("/api/v1/kiosk/redemptions", headers=device, json={"redemptions": [
        {"id": "5f0c6a43-9b1e-4a7e-8d2e-2b6a8e1f0c11", "jti": d.jti, "pseudonym": d.pseudonym,
         "perk": "MOLI-GOV-PRIORITY", "scanned_at": NOW()}]})
    assert red.status_code == 200
    trust_jws = h.client.get("/api/v1/trust-list").get_data(as_text=True)
    partner_facing = {  # everything a kiosk or partner system ever receives, decoded
        "enrol": enrol, "trust list": _jws_payload(trust_jws), "jwks": h.client.get("/.well-known/jwks.json").json,
        "redemptions": red.json, "credential": _jws_payload(_qr_jws(issued["qr_text"])), "decision": d.to_dict(),
    }
    needles = ["DOC-770077", "DOC-880088", "Canary", "fuzhou-secret-bureau", "VOLUNTEER-SERVICE", "OFFENCE-MINOR",
               "Reviewer Zhao", "dispute", "pending_review", "ledger"]
    for name, obj in partner_facing.items():
        for item in _walk(obj):
            assert item != score and item != str(score), (name, item)
            assert "score" not in str(item).lower(), (name, item)
            for needle in needles:
                assert needle not in str(item), (name, needle, item)
    # logs: no score, no phone, no free text, no references
    for line in json_logs():
        for needle in ("DOC-770077", "DOC-880088", "Canary", phone, phone[3:], f'"score": {score}', "Reviewer Zhao"):
            assert needle not in line, line
    # the data provider's answers never carry a score either
    r = lg.send(prov, [lg.event(phone, "moli", "VOLUNTEER-SERVICE", 1)])
    assert not {score, score + 1, str(score), str(score + 1)} & set(_walk(r)) and "score" not in str(r)


# ------------------------------------------------------------------ access control

def test_access_control_between_roles(h, lg):
    a_phone, b_phone = "+8613800001015", "+8613800001016"
    a, b = h.citizen(a_phone, {"moli": 650}), h.citizen(b_phone, {"moli": 650})
    prov, rev = lg.provider(), lg.reviewer()
    lg.one(prov, a_phone, "moli", "OFFENCE-MINOR", -5)
    a_event = _newest(lg.score(a, "moli"))["id"]
    case_id = lg.queue(rev)["cases"][0]["id"]

    # citizen B can neither see nor dispute A's events, and cannot tell them from missing ones
    for path in (f"/api/v1/me/score/events/{a_event}", "/api/v1/me/score/events/999999"):
        r = h.client.get(path, headers=h.bearer(b))
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    r = h.client.post(f"/api/v1/me/score/events/{a_event}/dispute", json={"statement": "Not mine but let me try."},
                      headers=h.bearer(b))
    assert r.status_code == 404
    assert all(e["kind"] != "point" for e in lg.score(b, "moli")["events"])
    assert h.client.get(f"/api/v1/me/score/events/{a_event}", headers=h.bearer(a)).status_code == 200

    # provider tokens are not citizen tokens and vice versa
    for tok in (prov, rev, h.op()["Authorization"].split()[1]):
        assert h.client.get("/api/v1/me/score", headers=h.bearer(tok)).status_code == 401
    for tok in (a, rev):
        r = h.client.post("/api/v1/provider/events", json={"events": [lg.event(a_phone, "moli", "OFFENCE-MINOR", -5)]},
                          headers=h.bearer(tok))
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    # only reviewers decide (not citizens, providers or operators)
    for tok in (a, prov, h.op()["Authorization"].split()[1]):
        r = h.client.post(f"/api/v1/reviewer/cases/{case_id}/decision",
                          json={"decision": "reverse", "reason": "I decide this myself now."}, headers=h.bearer(tok))
        assert r.status_code == 401
        assert h.client.get("/api/v1/reviewer/queue", headers=h.bearer(tok)).status_code == 401
    # only operators administer providers/reviewers and read the audit log
    for tok in (a, prov, rev):
        assert h.client.get("/api/v1/operator/ledger/audit", headers=h.bearer(tok)).status_code == 401
        r = h.client.post("/api/v1/operator/ledger/reviewers", json={"name": "Me"}, headers=h.bearer(tok))
        assert r.status_code == 401
    # a decision needs a written reason
    r = h.client.post(f"/api/v1/reviewer/cases/{case_id}/decision", json={"decision": "reverse", "reason": "no"},
                      headers=h.bearer(rev))
    assert r.status_code == 400 and "reason" in r.json["error"]["fields"]
    r = h.client.post(f"/api/v1/reviewer/cases/{case_id}/decision", json={"decision": "maybe", "reason": "x" * 20},
                      headers=h.bearer(rev))
    assert r.status_code == 400 and "decision" in r.json["error"]["fields"]
    # revoked roles are refused
    h.client.post("/api/v1/operator/ledger/providers/fuzhou-traffic/revoke", headers=h.op())
    r = lg.send(prov, [lg.event(a_phone, "moli", "OFFENCE-MINOR", -5)], expect=403)
    assert r["error"]["code"] == "provider_revoked"
    rid = h.client.get("/api/v1/operator/ledger/reviewers", headers=h.op()).json["reviewers"][0]["id"]
    h.client.post(f"/api/v1/operator/ledger/reviewers/{rid}/revoke", headers=h.op())
    r = h.client.get("/api/v1/reviewer/queue", headers=h.bearer(rev))
    assert r.status_code == 403 and r.json["error"]["code"] == "reviewer_revoked"
    # tokens are stored hashed
    from backend.models import DataProvider, Reviewer
    assert prov not in str([p.token_hash for p in db.session.scalars(select(DataProvider))])
    assert rev not in str([x.token_hash for x in db.session.scalars(select(Reviewer))])


def test_unknown_query_parameters_are_refused(h, lg):
    rev = lg.reviewer()
    r = h.client.get("/api/v1/reviewer/queue?sort=score", headers=h.bearer(rev))
    assert r.status_code == 400 and "sort" in r.json["error"]["fields"]
    r = h.client.get("/api/v1/operator/ledger/audit?limit=0", headers=h.op())
    assert r.status_code == 400 and "limit" in r.json["error"]["fields"]


# ------------------------------------------------------------------ audit log, opt-out, API document

def test_audit_log_records_who_changed_what_and_is_append_only(h, lg):
    phone = "+8613800001017"
    tok = h.citizen(phone, {"moli": 650})
    prov, rev = lg.provider(), lg.reviewer("Reviewer Wu")
    lg.one(prov, phone, "moli", "OFFENCE-MINOR", -5)
    case = lg.queue(rev)["cases"][0]
    lg.decide(rev, case["id"], "confirm", "Verified with the traffic police.")
    lg.dispute(tok, case["event"]["id"], "The plate number on the ticket is not mine.")
    r = h.client.get("/api/v1/operator/ledger/audit?limit=500", headers=h.op())
    assert r.status_code == 200
    seeded = [e for e in r.json["entries"] if e["action"] == "catalogue.seeded"]
    assert seeded and seeded == r.json["entries"][:len(seeded)], "init-db seeded the catalogue first"
    entries = r.json["entries"][len(seeded):]
    got = [(e["actor"]["type"], e["action"]) for e in entries]
    assert got[0][0] == "operator" and got[0][1] in ("score.imported", "scores.imported")  # the operator's import
    assert got[1:] == [("operator", "provider.created"), ("operator", "catalogue.proposed"),
                       ("operator", "catalogue.approved"), ("operator", "reviewer.created"),
                       ("provider", "event.recorded"), ("reviewer", "case.decided"), ("citizen", "event.disputed")]
    assert "650" not in str({k: v for k, v in entries[0].items() if not k.endswith("hash")})
    decided = entries[6]
    assert decided["actor"]["ref"] == "Reviewer Wu"
    assert decided["details"] == {"case": case["id"], "decision": "confirm", "from": "pending_review",
                                  "to": "confirmed", "points": -5, "disputed": False}
    assert all("statement" not in str(e) and "plate number" not in str(e) for e in entries)
    assert entries[1]["prev_hash"] == entries[0]["entry_hash"]
    # paging
    first = entries[0]["id"] - 1
    page = h.client.get(f"/api/v1/operator/ledger/audit?limit=2&after={first}", headers=h.op()).json
    assert len(page["entries"]) == 2 and page["next_after"] == page["entries"][-1]["id"]
    page2 = h.client.get(f"/api/v1/operator/ledger/audit?limit=10&after={page['next_after']}", headers=h.op()).json
    assert [e["id"] for e in page2["entries"]] == [e["id"] for e in entries[2:]]
    assert [e["action"] for e in h.client.get("/api/v1/operator/ledger/audit?action=case.decided",
                                              headers=h.op()).json["entries"]] == ["case.decided"]
    assert h.client.get("/api/v1/operator/ledger/audit/verify", headers=h.op()).json["ok"] is True

    # append-only: the database itself refuses an UPDATE
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    with pytest.raises(DBAPIError):
        db.session.execute(text("UPDATE ledger_audit SET action = 'nothing.happened' WHERE id = :i"),
                           {"i": entries[6]["id"]})
        db.session.flush()
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError):
            db.session.execute(text("DELETE FROM ledger_audit WHERE id = :i"), {"i": entries[6]["id"]})
        db.session.rollback()
    assert h.client.get("/api/v1/operator/ledger/audit/verify", headers=h.op()).json["ok"] is True


def test_opt_out_deletes_the_ledger_but_not_the_audit_chain(h, lg):
    phone = "+8613800001018"
    tok = h.citizen(phone, {"moli": 650})
    prov, rev = lg.provider(), lg.reviewer()
    lg.one(prov, phone, "moli", "OFFENCE-MINOR", -5)
    ev = _newest(lg.score(tok, "moli"))
    lg.dispute(tok, ev["id"], "Statement that must disappear with the account.")
    r = h.client.delete("/api/v1/me", json={"confirm": True}, headers=h.bearer(tok))
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(ScoreEvent, ev["id"]) is None
    assert db.session.scalar(select(func.count()).select_from(LedgerCase)) == 0
    assert lg.queue(rev)["cases"] == []
    entries = h.client.get("/api/v1/operator/ledger/audit?limit=500", headers=h.op()).json["entries"]
    assert h.client.get("/api/v1/operator/ledger/audit/verify", headers=h.op()).json == {
        "ok": True, "entries": len(entries), "broken_at": None, "problem": None, "head": entries[-1]["entry_hash"]}
    assert "Statement that must disappear" not in str(entries)
    # a re-sent event for someone who left is not stored
    out = lg.send(prov, [lg.event(phone, "moli", "OFFENCE-MINOR", -5)])
    assert out["results"][0]["status"] == "not_enrolled"


def test_openapi_documents_the_ledger(client):
    doc = client.get("/api/v1/openapi.json").json
    for path, method in (("/api/v1/me/score", "get"), ("/api/v1/me/score/events/{event_id}/dispute", "post"),
                         ("/api/v1/provider/events", "post"), ("/api/v1/provider/rules", "get"),
                         ("/api/v1/reviewer/queue", "get"), ("/api/v1/reviewer/cases/{case_id}/decision", "post"),
                         ("/api/v1/operator/ledger/audit", "get"), ("/api/v1/operator/ledger/providers", "post")):
        assert method in doc["paths"][path], path
    assert doc["paths"]["/api/v1/provider/events"]["post"]["security"] == [{"provider": []}]
    assert "requestBody" in doc["paths"]["/api/v1/provider/events"]["post"]
    assert doc["paths"]["/api/v1/reviewer/queue"]["get"]["security"] == [{"reviewer": []}]
    assert {"provider", "reviewer"} <= set(doc["components"]["securitySchemes"])


def test_the_hash_chain_finds_an_edit_made_behind_the_triggers(h, lg):
    """Someone with database rights drops the trigger and edits an entry: verify names the entry."""
    from sqlalchemy import text
    from backend.services.ledger import verify_audit
    lg.provider()
    lg.reviewer("Reviewer Gao")
    entries = h.client.get("/api/v1/operator/ledger/audit", headers=h.op()).json["entries"]
    target = entries[-1]["id"]
    try:
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP TRIGGER ledger_audit_no_update ON ledger_audit"))
        else:
            db.session.execute(text("DROP TRIGGER ledger_audit_no_update"))
        db.session.execute(text("UPDATE ledger_audit SET actor_ref = 'someone else' WHERE id = :i"), {"i": target})
        out = verify_audit()
        assert out["ok"] is False and out["broken_at"] == target and "edited" in out["problem"]
    finally:
        db.session.rollback()  # PostgreSQL: DDL is transactional, the trigger is back
        if db.engine.dialect.name == "sqlite":  # pysqlite ran the DROP outside the transaction
            db.session.execute(text("CREATE TRIGGER IF NOT EXISTS ledger_audit_no_update BEFORE UPDATE ON ledger_audit "
                                    "BEGIN SELECT RAISE(ABORT, 'ledger_audit is append-only'); END"))
            db.session.commit()
    assert verify_audit()["ok"] is True
    from sqlalchemy.exc import DBAPIError
    with pytest.raises(DBAPIError):
        db.session.execute(text("UPDATE ledger_audit SET actor_ref = 'x' WHERE id = :i"), {"i": target})
    db.session.rollback()


def test_a_provider_withdraws_its_own_record(h, lg):
    phone = "+8613800001019"
    tok = h.citizen(phone, {"moli": 690})
    prov, rev = lg.provider(), lg.reviewer()
    lg.send(prov, [lg.event(phone, "moli", "OFFENCE-SERIOUS", -30, ref="DOC-000001"),
                   lg.event(phone, "moli", "VOLUNTEER-SERVICE", 5, ref="DOC-000002")])
    assert lg.score(tok, "moli")["score"] == 695 and lg.queue(rev)["counts"]["pending_review"] == 1

    def withdraw(ref, reason="wrong-person", expect=200):
        r = h.client.post("/api/v1/provider/withdrawals", json={"reference": ref, "reason": reason},
                          headers=h.bearer(prov))
        assert r.status_code == expect, r.json
        return r.json

    out = withdraw("DOC-000001")                       # pending: its review case closes, nothing to decide
    assert out["status"] == "withdrawn" and out["decided_at"] is not None
    assert lg.queue(rev)["counts"] == {"disputes": 0, "pending_review": 0}
    withdraw("DOC-000002", "duplicate-record")   # confirmed: stops counting at once
    s = lg.score(tok, "moli")
    assert s["score"] == 690
    by_ref = {e["id"]: e for e in s["events"] if e["kind"] == "point"}
    for e in by_ref.values():
        assert e["status"] == "withdrawn" and not e["counts"] and not e["can_dispute"]
        assert e["case"]["decision"] == "withdraw" and e["case"]["reason_code"] in ("wrong-person", "duplicate-record")
    assert withdraw("DOC-000001", expect=409)["error"]["code"] == "not_withdrawable"
    assert withdraw("DOC-999999", expect=404)["error"]["code"] == "not_found"
    assert withdraw("NOPE", expect=404)["error"]["code"] == "not_found"
    assert withdraw("DOC-000001", reason="short", expect=400)["error"]["fields"]["reason"]
    # a re-sent batch does not bring it back
    again = lg.send(prov, [lg.event(phone, "moli", "VOLUNTEER-SERVICE", 5, ref="DOC-000002")])
    assert again["results"][0]["status"] in ("duplicate", "conflict") and lg.score(tok, "moli")["score"] == 690
    # another provider cannot withdraw it
    other = lg.provider("other-bureau")
    r = h.client.post("/api/v1/provider/withdrawals", json={"reference": "DOC-000002", "reason": "wrong-person"},
                      headers=h.bearer(other))
    assert r.status_code == 404
    actions = [e["action"] for e in h.client.get("/api/v1/operator/ledger/audit", headers=h.op()).json["entries"]]
    assert actions.count("event.withdrawn") == 2


def test_hostile_input_on_the_ledger_endpoints_is_answered_cleanly(h, lg):
    phone = "+8613800001020"
    tok = h.citizen(phone, {"moli": 650})
    prov = lg.provider()
    sqlish = "x'); DROP TABLE score_events; --"
    # no free text gets in at all: there is no field for it
    out = lg.send(prov, [lg.event(phone, "moli", "VOLUNTEER-SERVICE", 2, ref="DOC-000042")])
    assert out["accepted"] == 1
    ev = _newest(lg.score(tok, "moli"))
    assert ev["description"] is None and "reference" not in ev
    # references are restricted, control characters refused, sizes bounded
    for bad, status in ((lg.event(phone, "moli", "VOLUNTEER-SERVICE", 2, ref=sqlish[:40]), 400),
                        (lg.event(phone, "moli", "VOLUNTEER-SERVICE", 2, description=sqlish), 400),
                        (lg.event(phone, "moli", "VOLUNTEER-SERVICE", 2, ref="DOC-0000\x0042"), 400),
                        (lg.event(phone, "moli", "VOLUNTEER-SERVICE", 2, ref="DOC-" + "1" * 60), 400),
                        (dict(lg.event(phone, "moli", "VOLUNTEER-SERVICE", 2), points=True), 400),
                        (lg.event(phone, "moli", "VOLUNTEER-SERVICE", 2, occurred_at=-1), 400),
                        (dict(lg.event(phone, "moli", "VOLUNTEER-SERVICE", 2), phone=["+8613800001020"]), 400)):
        r = h.client.post("/api/v1/provider/events", json={"events": [bad]}, headers=h.bearer(prov))
        assert r.status_code == status, (bad, r.json)
        assert set(r.json["error"]) == {"code", "message", "fields"}
    for body, status in (({"statement": "\x00" * 20}, 400), ({"statement": "y" * 2001}, 400),
                         ({"statement": "long enough", "extra": 1}, 400), ({}, 400)):
        r = h.client.post(f"/api/v1/me/score/events/{ev['id']}/dispute", json=body, headers=h.bearer(tok))
        assert r.status_code == status and r.json["error"]["code"] == "validation_error"
    for path in ("/api/v1/me/score/events/99999999999999999999", "/api/v1/me/score/events/-1",
                 "/api/v1/me/score/%27%20OR%201=1", "/api/v1/reviewer/cases/abc"):
        r = h.client.get(path, headers=h.bearer(tok))
        assert r.status_code in (401, 404) and r.is_json, path
    r = h.client.post("/api/v1/provider/events", data=b"\xff\xfe", headers={**h.bearer(prov), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_json"
    r = h.client.post("/api/v1/provider/events", data="x" * (600 * 1024), headers={**h.bearer(prov), "Content-Type": "application/json"})
    assert r.status_code == 413 and r.is_json
    assert lg.score(tok, "moli")["score"] == 652


def test_out_of_range_ids_are_404_for_every_role(h, lg):
    tok = h.citizen("+8613800001021", {"moli": 650})
    rev = lg.reviewer()
    huge = 2 ** 63 + 5
    assert h.client.get(f"/api/v1/me/score/events/{huge}", headers=h.bearer(tok)).status_code == 404
    r = h.client.post(f"/api/v1/me/score/events/{2 ** 31}/dispute", json={"statement": "Not mine at all, sorry."},
                      headers=h.bearer(tok))
    assert r.status_code == 404
    assert h.client.get(f"/api/v1/reviewer/cases/{huge}", headers=h.bearer(rev)).status_code == 404
    r = h.client.post(f"/api/v1/reviewer/cases/{2 ** 31}/decision", json={"decision": "confirm", "reason": "x" * 12},
                      headers=h.bearer(rev))
    assert r.status_code == 404
    assert h.client.post(f"/api/v1/operator/ledger/reviewers/{huge}/revoke", headers=h.op()).status_code == 404
    assert h.client.get(f"/api/v1/operator/ledger/audit?after={huge}", headers=h.op()).status_code == 400


def test_the_reference_key_rotates_without_losing_an_event(h, lg, app):
    """PERKPASS_REFERENCE_KEY lists keys newest first: after a rotation, an event stored under the old key is
    still a duplicate when re-sent and can still be withdrawn; new events are stored under the new key only.
    Dropping the old key from the list loses them (the readable reference is not stored to re-key it)."""
    phone = "+8613800001077"
    tok = h.citizen(phone, {"moli": 690})
    prov = lg.provider()
    at = NOW() - 3600  # one time for the re-sent event: its content must be the same to be a duplicate
    old_key, new_key = "Oa7-Kd2Lp9Vd4Ws1Kc8Ry3Tb6Nf0Gz5Ja_Eu", "Nb3-Hx2Lq8Ve5Wt1Kd9Rz3Tc6Ng0Gy5Jb_Ev"

    def rotate(value: str) -> None:  # what a restart with PERKPASS_REFERENCE_KEY=value does
        from dataclasses import replace

        from backend.settings import parse_reference_keys, settings_of
        app.extensions["perkpass_settings"] = replace(settings_of(app), reference_keys=parse_reference_keys(value))
    rotate(old_key)
    lg.send(prov, [lg.event(phone, "moli", "VOLUNTEER-SERVICE", 5, ref="DOC-000101", occurred_at=at)])
    from backend.services import ledger

    def stored_under(key: str, ref: str) -> list[int]:
        digest = ledger.reference_digest(key.encode(), "fuzhou-traffic", ref)
        return list(db.session.scalars(select(ScoreEvent.delta).where(ScoreEvent.provider_event_id == digest)))

    assert stored_under(old_key, "DOC-000101") == [5] and stored_under(new_key, "DOC-000101") == []

    rotate(f"{new_key}, {old_key}")   # rotated: the new key first
    again = lg.send(prov, [lg.event(phone, "moli", "VOLUNTEER-SERVICE", 5, ref="DOC-000101", occurred_at=at),
                           lg.event(phone, "moli", "VOLUNTEER-SERVICE", 3, ref="DOC-000102", occurred_at=at)])
    assert [r["status"] for r in again["results"]] == ["duplicate", "accepted"]
    assert lg.score(tok, "moli")["score"] == 698                   # 690 + 5 + 3: the old event counted once
    assert stored_under(new_key, "DOC-000102") == [3] and stored_under(old_key, "DOC-000102") == []
    r = h.client.post("/api/v1/provider/withdrawals", json={"reference": "DOC-000101", "reason": "wrong-person"},
                      headers=h.bearer(prov))
    assert r.status_code == 200 and r.json["status"] == "withdrawn", r.json
    assert lg.score(tok, "moli")["score"] == 693

    rotate(new_key)                  # the old key dropped: its events are not found
    r = h.client.get("/api/v1/provider/events/DOC-000101", headers=h.bearer(prov))
    assert r.status_code == 404
    r = h.client.get("/api/v1/provider/events/DOC-000102", headers=h.bearer(prov))
    assert r.status_code == 200 and r.json["status"] == "confirmed"


@pytest.mark.parametrize("value,problem", [
    (None, "needs PERKPASS_REFERENCE_KEY"), ("", "needs PERKPASS_REFERENCE_KEY"),
    ("short-key", r"\(key 1\): it is shorter than 32"),
    ("Nb3-Hx2Lq8Ve5Wt1Kd9Rz3Tc6Ng0Gy5Jb_Ev changeme", r"\(key 2\): it looks like a placeholder"),
    ("Nb3-Hx2Lq8Ve5Wt1Kd9Rz3Tc6Ng0Gy5Jb_Ev,Nb3-Hx2Lq8Ve5Wt1Kd9Rz3Tc6Ng0Gy5Jb_Ev", "the same key twice"),
])
def test_production_refuses_to_start_without_a_strong_reference_key(tmp_path, value, problem):
    from backend import create_app
    from backend.config import ConfigError
    config = {"ENV_NAME": "production", "SECRET_KEY": "kX9vQ2mT7rL4pW8zN3bH6cJ1dF5gS0aY-uE_iOq",
              "PERKPASS_KEY_PASSPHRASE": "Zt4-wq8Rb2Lm6Nc0Yh3Jd7Ks1Fv5Gx9Pe_Ua", "PERKPASS_SMS_SENDER": "outbox",
              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
              "PERKPASS_REFERENCE_KEY": value}
    with pytest.raises(ConfigError, match=problem):
        create_app(config)
