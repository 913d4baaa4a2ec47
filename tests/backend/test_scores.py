"""Score imports (CLI and operator API), joining schemes, and opt-out deleting personal data."""
import time
import uuid

from backend.extensions import db
from backend.models import AccessToken, Citizen, CitizenScheme, Consent, Redemption, ScoreEvent

A = "+8613900001001"
B = "+8613900001002"


def test_csv_import_cli(h, client, runner, tmp_path):
    ta = h.login(A)
    h.login(B)
    csv = tmp_path / "scores.csv"
    csv.write_text("phone,scheme,score,reason\n"
                   f"{A},moli,713,monthly refresh\n"
                   f"{B},bailu,647,\n"
                   "+8613999999999,moli,700,not enrolled: must be skipped\n")
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert res.exit_code == 0, res.output
    assert "imported 2" in res.output and "skipped (not enrolled) 1" in res.output
    assert db.session.query(Citizen).count() == 2  # nobody was created for the unknown phone
    me = client.get("/api/v1/me", headers=h.bearer(ta)).json
    assert me["schemes"][0]["score"] == 713 and me["schemes"][0]["band"]["code"] == "EXCELLENT"
    # re-importing the same file changes nothing
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert "imported 0, unchanged 2" in res.output
    # every change is a ledger entry with its source
    events = db.session.scalars(db.select(ScoreEvent).order_by(ScoreEvent.id)).all()
    assert [e.score_after for e in events] == [713, 647] and events[0].source == "csv:scores.csv"


def test_csv_import_invalid_rows_abort_unless_partial(h, runner, tmp_path):
    h.login(A)
    csv = tmp_path / "bad.csv"
    csv.write_text("phone,scheme,score\n"
                   f"{A},moli,713\n"
                   f"{A},moli,1001\n"
                   f"{A},nosuch,5\n"
                   f"{A},osmanthus,abc\n"
                   "not-a-phone,moli,700\n")
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert res.exit_code == 1
    assert "row 2" in res.output and "row 3" in res.output and "nothing applied" in res.output
    assert db.session.query(CitizenScheme).count() == 0
    res = runner.invoke(args=["scores", "import", "--partial", str(csv)])
    assert res.exit_code == 0 and "imported 1" in res.output
    bad_header = tmp_path / "hdr.csv"
    bad_header.write_text("who,what\n1,2\n")
    res = runner.invoke(args=["scores", "import", str(bad_header)])
    assert res.exit_code != 0 and "header" in res.output


def test_forbidden_data_categories_refused(h, client):
    """The operator import goes through the same screen as provider events: the reasons and the source that a
    shorter word list let through (issue 11) are refused, and nothing is applied."""
    h.login(A)
    for reason in ("religious belief", "blood type O", "medical history: asthma", "基因检测",
                   "medical record: diabetes", "worships at the mosque", "Bl\u043eod.group AB+",
                   "\uff44\uff4e\uff41 on file", "finger\u200bprints taken"):
        r = client.post("/api/v1/operator/scores", json={"scores": [
            {"phone": A, "scheme": "moli", "score": 650, "reason": reason}]}, headers=h.op())
        assert r.status_code == 422 and r.json["applied"] is False, (reason, r.json)
        assert "forbidden" in r.json["errors"][0]["errors"][0]
    r = client.post("/api/v1/operator/scores", headers=h.op(), json={
        "source": "St Mary's Church tithe list", "partial": True,
        "scores": [{"phone": A, "scheme": "moli", "score": 650, "reason": "monthly refresh"}]})
    assert r.status_code == 422 and r.json["applied"] is False and r.json["errors"][0]["row"] == 0
    assert "source names forbidden data (religious-belief)" in r.json["errors"][0]["errors"][0]
    assert db.session.query(ScoreEvent).count() == 0


def test_csv_and_cli_imports_use_the_same_screen(h, runner, tmp_path):
    h.login(A)
    csv = tmp_path / "with-extra-column.csv"
    csv.write_text(f"phone,scheme,score,blood_type\n{A},moli,650,AB\n")
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert res.exit_code == 1 and "blood_type field names forbidden data (blood-type)" in res.output, res.output
    csv = tmp_path / "ok.csv"
    csv.write_text(f"phone,scheme,score,reason\n{A},moli,650,monthly refresh\n")
    res = runner.invoke(args=["scores", "import", "--source", "mosque-attendance.csv", str(csv)])
    assert res.exit_code == 1 and "row 0: source names forbidden data (religious-belief)" in res.output, res.output
    assert db.session.query(ScoreEvent).count() == 0
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert res.exit_code == 0 and "imported 1" in res.output


def test_operator_api_import_and_ranges(h, client):
    ta = h.login(A)
    r = client.post("/api/v1/operator/scores", json={"scores": [
        {"phone": A, "scheme": "osmanthus", "score": 126},
        {"phone": A, "scheme": "rongcheng", "score": 1076},
        {"citizen_id": "c_doesnotexist", "scheme": "moli", "score": 700}]}, headers=h.op())
    assert r.status_code == 200 and r.json["imported"] == 2 and r.json["skipped_not_enrolled"] == 1
    me = client.get("/api/v1/me", headers=h.bearer(ta)).json
    bands = {s["scheme"]: s["band"]["code"] for s in me["schemes"]}
    assert bands == {"osmanthus": "HONOURED", "rongcheng": "AAA"}
    perks = client.get("/api/v1/me/perks", headers=h.bearer(ta)).json
    assert "RC-HEATING" in [p["code"] for p in perks["perks"]] and "utility" in perks["audiences"]
    r = client.post("/api/v1/operator/scores", json={"scores": [{"phone": A, "scheme": "osmanthus", "score": 99}]},
                    headers=h.op())
    assert r.status_code == 422 and "100..200" in r.json["errors"][0]["errors"][0]
    by_id = client.post("/api/v1/operator/scores", json={"scores": [
        {"citizen_id": me["id"], "scheme": "osmanthus", "score": 131}]}, headers=h.op())
    assert by_id.json["imported"] == 1


def test_join_scheme_at_base_score(h, client):
    token = h.login(A)
    r = client.post("/api/v1/me/schemes", json={"scheme": "moli"}, headers=h.bearer(token))
    assert r.status_code == 201 and r.json["score"] == 500 and r.json["band"]["code"] == "BASIC"
    r = client.post("/api/v1/me/schemes", json={"scheme": "rongcheng"}, headers=h.bearer(token))
    assert r.json["score"] == 1000 and r.json["band"]["code"] == "A"  # Rongcheng starts at 1000 = grade A
    r = client.post("/api/v1/me/schemes", json={"scheme": "nope"}, headers=h.bearer(token))
    assert r.status_code == 404


def test_opt_out_deletes_personal_data(h, client):
    from partner_sdk import Verifier
    ta = h.citizen(A, {"moli": 713, "sesame": 788})
    tb = h.citizen(B, {"moli": 690})
    dev = h.enrol(h.venue("Gate", "metro"))
    store = h.trust_store()
    items = []
    for tok in (ta, tb):
        d = Verifier(store, audience="metro").verify(h.issue(tok, "metro")["qr_text"])
        items.append({"id": str(uuid.uuid4()), "jti": d.jti, "pseudonym": d.pseudonym, "perk": "MOLI-METRO20",
                      "scanned_at": int(time.time())})
    client.post("/api/v1/kiosk/redemptions", json={"redemptions": items}, headers=h.bearer(dev["device_token"]))
    r = client.delete("/api/v1/me", json={"confirm": False}, headers=h.bearer(ta))
    assert r.status_code == 400
    r = client.delete("/api/v1/me", json={"confirm": True}, headers=h.bearer(ta))
    assert r.status_code == 200
    assert r.json == {"deleted": True, "memberships_deleted": 2, "redemptions_deleted": 1}
    assert db.session.query(Citizen).count() == 1
    assert db.session.query(Consent).count() == 1
    assert db.session.query(CitizenScheme).count() == 1
    assert db.session.query(ScoreEvent).count() == 1
    remaining_tokens = db.session.scalars(db.select(AccessToken)).all()
    assert len(remaining_tokens) == 1
    assert [r.client_id for r in db.session.scalars(db.select(Redemption))] == [items[1]["id"]]
    # the same phone can join again later, from scratch
    again = h.login(A)
    assert client.get("/api/v1/me", headers=h.bearer(again)).json["schemes"] == []


# ---------------------------------------------------------------- a computer never lowers a score alone (issue 11 item 2)

def test_an_imported_decrease_waits_for_a_reviewer_like_a_negative_event(h):
    from tests.backend.test_ledger import Ledger
    lg = Ledger(h)
    phone = "+8613800006840"
    tok = h.citizen(phone, {"moli": 684})
    rev = lg.reviewer()
    perks_before = sorted(p["code"] for p in h.client.get("/api/v1/me/perks", headers=h.bearer(tok)).json["perks"])
    assert perks_before  # 684: the Gulou office perks
    r = h.client.post("/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 600}]},
                      headers=h.op())
    assert r.status_code == 200 and (r.json["imported"], r.json["pending_review"]) == (0, 1), r.json
    s = lg.score(tok, "moli")
    assert s["score"] == 684 and s["pending_points"] == -84
    ev = s["events"][0]
    assert (ev["kind"], ev["status"], ev["counts"], ev["points"]) == ("import", "pending_review", False, -84)
    assert sorted(p["code"] for p in h.client.get("/api/v1/me/perks", headers=h.bearer(tok)).json["perks"]) == perks_before
    # the same import again changes nothing; the reviewer's queue holds one case
    r = h.client.post("/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 600}]},
                      headers=h.op())
    assert (r.json["imported"], r.json["unchanged"], r.json["pending_review"]) == (0, 1, 0)
    cases = lg.queue(rev, reason="pending_review")["cases"]
    assert len(cases) == 1 and cases[0]["event"]["kind"] == "import" and cases[0]["event"]["points"] == -84
    lg.decide(rev, cases[0]["id"], "confirm", "The platform's recalculation was checked by hand.")
    assert lg.score(tok, "moli")["score"] == 600
    # an increase applies at once
    r = h.client.post("/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 650}]},
                      headers=h.op())
    assert r.json["imported"] == 1 and lg.score(tok, "moli")["score"] == 650


def test_a_later_import_supersedes_a_decrease_still_waiting(h):
    from tests.backend.test_ledger import Ledger
    lg = Ledger(h)
    phone = "+8613800006841"
    tok = h.citizen(phone, {"moli": 684})
    rev = lg.reviewer()
    for score in (600, 650):
        h.client.post("/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": score}]},
                      headers=h.op())
    cases = lg.queue(rev, reason="pending_review")["cases"]
    assert [c["event"]["points"] for c in cases] == [-34]
    lg.decide(rev, cases[0]["id"], "confirm", "The platform's recalculation was checked by hand.")
    assert lg.score(tok, "moli")["score"] == 650  # not 684 - 84 - 34
