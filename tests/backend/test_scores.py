"""Score imports (CLI and operator API: codes and numbers only, a bad row refuses the whole file), joining
schemes, and opt-out deleting personal data."""
import time
import uuid

import pytest

from backend.extensions import db
from backend.models import AccessToken, AuditEntry, Citizen, CitizenScheme, Consent, Redemption, ScoreEvent

A = "+8613900001001"
B = "+8613900001002"


HEADER = "phone,citizen_id,scheme,score,reason,source_system\n"
CODES = {"reason": "annual-recalculation", "source_system": "perkpass-operator"}


def _row(phone: str, scheme: str, score, **extra) -> dict:
    return {"phone": phone, "scheme": scheme, "score": score, **CODES, **extra}


def _imports_audited() -> list[AuditEntry]:
    return db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "scores.imported")
                              .order_by(AuditEntry.id)).all()


def _nothing_stored() -> None:
    assert db.session.query(CitizenScheme).count() == 0
    assert db.session.query(ScoreEvent).count() == 0
    assert _imports_audited() == []


def test_csv_import_cli(h, client, runner, tmp_path):
    ta = h.login(A)
    h.login(B)
    csv = tmp_path / "scores.csv"
    csv.write_text(HEADER
                   + f"{A},,moli,713,annual-recalculation,fuzhou-credit-platform\n"
                   + f"{B},,bailu,647,legacy-migration,legacy-score-archive\n"
                   + "+8613999999999,,moli,700,annual-recalculation,fuzhou-credit-platform\n")
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert res.exit_code == 0, res.output
    assert "imported 2" in res.output and "skipped (not enrolled) 1" in res.output
    assert db.session.query(Citizen).count() == 2  # nobody was created for the unknown phone
    me = client.get("/api/v1/me", headers=h.bearer(ta)).json
    assert me["schemes"][0]["score"] == 713 and me["schemes"][0]["band"]["code"] == "EXCELLENT"
    # re-importing the same file changes nothing
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert "imported 0, unchanged 2" in res.output
    # every change is a ledger entry carrying the two codes, and nothing else of the file
    events = db.session.scalars(db.select(ScoreEvent).order_by(ScoreEvent.id)).all()
    assert [(e.score_after, e.source, e.reason) for e in events] == [
        (713, "fuzhou-credit-platform", "annual-recalculation"), (647, "legacy-score-archive", "legacy-migration")]
    assert [(a.action, a.details) for a in _imports_audited()] == [("scores.imported", {
        "events": 2, "reasons": ["annual-recalculation", "legacy-migration"],
        "source_systems": ["fuzhou-credit-platform", "legacy-score-archive"]})]


def test_the_citizen_reads_an_import_by_the_labels_of_its_codes(h, client, runner, tmp_path):
    token = h.login(A)
    csv = tmp_path / "scores.csv"
    csv.write_text(HEADER + f"{A},,moli,713,annual-recalculation,fuzhou-credit-platform\n")
    assert runner.invoke(args=["scores", "import", str(csv)]).exit_code == 0
    ev = client.get("/api/v1/me/score/moli", headers=h.bearer(token)).json["events"][0]
    assert ev["title"] == {"en": "Annual recalculation by the city platform", "zh-CN": "城市平台年度重新计算"}
    assert ev["source"] == {"type": "operator", "code": "fuzhou-credit-platform",
                            "name": "Fuzhou public credit information platform", "name_zh": "福州市公共信用信息平台"}
    assert ev["description"] is None and ev["points"] == 213


def test_csv_import_by_citizen_id_from_standard_input(h, client, runner):
    token = h.login(A)
    cid = client.get("/api/v1/me", headers=h.bearer(token)).json["id"]
    res = runner.invoke(args=["scores", "import", "-"],
                        input=HEADER + f",{cid},osmanthus,131,dispute-correction,suzhou-credit-platform\n")
    assert res.exit_code == 0 and "imported 1" in res.output, res.output
    assert client.get("/api/v1/me", headers=h.bearer(token)).json["schemes"][0]["score"] == 131


def test_any_bad_row_refuses_the_whole_file_with_line_and_field(h, runner, tmp_path):
    h.login(A)
    csv = tmp_path / "bad.csv"
    csv.write_text(HEADER
                   + f"{A},,moli,713,annual-recalculation,fuzhou-credit-platform\n"   # line 2: fine
                   + f"{A},,moli,1001,annual-recalculation,fuzhou-credit-platform\n"  # 3: out of range
                   + f"{A},,nosuch,5,annual-recalculation,perkpass-operator\n"        # 4: no such scheme
                   + f"{A},,osmanthus,abc,annual-recalculation,suzhou-credit-platform\n"  # 5
                   + "not-a-phone,,moli,700,annual-recalculation,fuzhou-credit-platform\n"  # 6
                   + f"{A},,moli,700,monthly refresh,fuzhou-credit-platform\n"        # 7: prose as a reason
                   + f"{A},,moli,700,annual-recalculation,St Mary's parish list\n"    # 8: prose as a source
                   + f"{A},,moli,700,annual-recalculation,xiamen-credit-platform\n"   # 9: not Fuzhou's system
                   + f"{A},c_doesnotexist,moli,700,annual-recalculation,fuzhou-credit-platform\n")  # 10: both
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert res.exit_code == 1
    lines = res.output.splitlines()
    for expected in ("line 3: score: must be within 0..1000 for moli", "line 4: scheme: not a configured scheme",
                     "line 5: score: not a whole number", "line 6: phone: not a valid phone number",
                     "line 7: reason: not a registered reason code",
                     "line 8: source_system: not a registered source system",
                     "line 9: source_system: does not serve scheme moli",
                     "line 10: citizen_id: give a phone or a citizen_id, not both"):
        assert any(x.startswith(expected) for x in lines), (expected, res.output)
    assert not any(x.startswith("line 2") for x in lines)
    assert "Nothing was imported: 8 of 9 rows have problems" in res.output
    assert "monthly refresh" not in res.output and "Mary" not in res.output  # a refusal never repeats the value
    _nothing_stored()


@pytest.mark.parametrize("header, problem", [
    ("phone,citizen_id,scheme,score,reason,source_system,blood_type", "column 7: not one of the documented columns"),
    ("phone,citizen_id,scheme,score,reason", "source_system: missing column"),
    ("phone,citizen_id,scheme,score,source,source_system", "column 5: not one of the documented columns"),
    ("citizen_id,phone,scheme,score,reason,source_system", "header: columns in another order"),
    ("phone,scheme,score,reason", "citizen_id: missing column"),
])
def test_a_header_that_is_not_exactly_the_documented_columns_refuses_the_file(h, runner, tmp_path, header, problem):
    h.login(A)
    csv = tmp_path / "hdr.csv"
    csv.write_text(header + "\n" + f"{A},,moli,650,annual-recalculation,fuzhou-credit-platform\n")
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert res.exit_code == 1 and f"line 1: {problem}" in res.output, res.output
    assert "blood" not in res.output
    _nothing_stored()


def test_a_line_with_another_number_of_fields_refuses_the_file(h, runner, tmp_path):
    h.login(A)
    csv = tmp_path / "width.csv"
    csv.write_text(HEADER + f"{A},,moli,650,annual-recalculation,fuzhou-credit-platform\n"
                   + f"{A},,moli,650,annual-recalculation,fuzhou-credit-platform,asthma\n")
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert res.exit_code == 1 and "line 3: fields: 7, the header has 6" in res.output, res.output
    _nothing_stored()
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER)
    res = runner.invoke(args=["scores", "import", str(empty)])
    assert res.exit_code == 1 and "there are no rows" in res.output
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(HEADER.encode() + "+8613900001001,,moli,650,r\xe9ligion,x\n".encode("latin-1"))
    res = runner.invoke(args=["scores", "import", str(latin1)])
    assert res.exit_code == 1 and "encoding: not UTF-8" in res.output and "Traceback" not in res.output
    _nothing_stored()


def test_a_citizen_and_scheme_given_twice_apply_in_file_order(h, client, runner, tmp_path, monkeypatch):
    from backend.services import scores
    monkeypatch.setattr(scores, "IMPORT_BATCH_ROWS", 2)  # the pairs fall in one batch and across batches
    token = h.login(A)
    h.login(B)
    csv = tmp_path / "twice.csv"
    csv.write_text(HEADER + "".join(f"{p},,moli,{s},annual-recalculation,fuzhou-credit-platform\n"
                                    for p, s in ((A, 700), (A, 720), (B, 650), (A, 730), (B, 660))))
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert res.exit_code == 0 and "imported 5" in res.output, res.output
    assert client.get("/api/v1/me", headers=h.bearer(token)).json["schemes"][0]["score"] == 730
    ledger = [(e.delta, e.score_after) for e in db.session.scalars(
        db.select(ScoreEvent).join(CitizenScheme).join(Citizen).where(Citizen.public_id == client.get(
            "/api/v1/me", headers=h.bearer(token)).json["id"]).order_by(ScoreEvent.id))]
    assert ledger == [(700, 700), (20, 720), (10, 730)]
    assert [a.details["events"] for a in _imports_audited()] == [2, 2, 1]


def test_operator_api_import_and_ranges(h, client):
    ta = h.login(A)
    r = client.post("/api/v1/operator/scores", json={"scores": [
        _row(A, "osmanthus", 126), _row(A, "rongcheng", 1076),
        {"citizen_id": "c_" + "0" * 24, "scheme": "moli", "score": 700, **CODES}]}, headers=h.op())
    assert r.status_code == 200 and r.json == {"rows": 3, "imported": 2, "unchanged": 0, "pending_review": 0,
                                               "skipped_not_enrolled": 1}
    me = client.get("/api/v1/me", headers=h.bearer(ta)).json
    bands = {s["scheme"]: s["band"]["code"] for s in me["schemes"]}
    assert bands == {"osmanthus": "HONOURED", "rongcheng": "AAA"}
    perks = client.get("/api/v1/me/perks", headers=h.bearer(ta)).json
    assert "RC-HEATING" in [p["code"] for p in perks["perks"]] and "utility" in perks["audiences"]
    events = db.session.query(ScoreEvent).count()
    r = client.post("/api/v1/operator/scores", json={"scores": [_row(A, "osmanthus", 130), _row(A, "osmanthus", 99)]},
                    headers=h.op())
    assert r.status_code == 422 and r.json["error"]["code"] == "import_refused"
    assert r.json["error"]["fields"] == {"row 2": ["score: must be within 100..200 for osmanthus"]}
    assert db.session.query(ScoreEvent).count() == events  # row 1 was fine, and not applied either
    by_id = client.post("/api/v1/operator/scores", json={"scores": [
        {"citizen_id": me["id"], "scheme": "osmanthus", "score": 131, **CODES}]}, headers=h.op())
    assert by_id.json["imported"] == 1


def test_operator_api_refuses_prose_fields_and_missing_codes(h, client):
    h.login(A)
    for row in (_row(A, "moli", 650, description="monthly refresh"),   # no field for prose
                _row(A, "moli", 650, source="city platform"),
                {"phone": A, "scheme": "moli", "score": 650, "reason": "annual-recalculation"},  # no source system
                {"phone": A, "scheme": "moli", "score": 650, "source_system": "perkpass-operator"}):
        r = client.post("/api/v1/operator/scores", json={"scores": [row]}, headers=h.op())
        assert r.status_code == 400 and r.json["error"]["code"] == "validation_error", (row, r.json)
    for body in ({"scores": [_row(A, "moli", 650)], "source": "St Mary's Church tithe list"},
                 {"scores": [_row(A, "moli", 650)], "partial": True}):
        r = client.post("/api/v1/operator/scores", json=body, headers=h.op())
        assert r.status_code == 400, r.json
    r = client.post("/api/v1/operator/scores", json={"scores": [_row(A, "moli", 650, reason="religious belief")]},
                    headers=h.op())
    assert r.status_code == 422 and r.json["error"]["fields"] == {
        "row 1": ["reason: not a registered reason code (flask scores codes lists them)"]}
    assert "religious" not in r.get_data(as_text=True)
    _nothing_stored()


def test_a_source_system_counts_only_once_a_second_operator_approved_it(h, runner, tmp_path):
    """Reason codes and source systems are catalogue entries (four eyes): a proposed one is refused like any
    unknown code until a different operator approves it; then the next import may name it."""
    from backend.services import ledger
    h.login(A)
    csv = tmp_path / "new-source.csv"
    csv.write_text(HEADER + f"{A},,moli,705,annual-recalculation,gulou-district-platform\n")
    change = ledger.propose("source_system", "gulou-district-platform",
                            {"en": "Gulou district platform", "zh-CN": "鼓楼区平台"}, {"schemes": ["moli"]},
                            "operator:alice", int(time.time()))
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert res.exit_code == 1 and "line 2: source_system: not a registered source system" in res.output
    _nothing_stored()
    ledger.decide_change(change.id, True, "operator:bob", int(time.time()))
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert res.exit_code == 0 and "imported 1" in res.output, res.output
    assert "鼓楼区平台" in runner.invoke(args=["scores", "codes"]).output


def test_scores_codes_lists_what_an_import_may_name(runner):
    res = runner.invoke(args=["scores", "codes"])
    assert res.exit_code == 0
    assert "annual-recalculation" in res.output and "年度重新计算" in res.output
    assert "fuzhou-credit-platform" in res.output and "[moli]" in res.output


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
    r = h.client.post("/api/v1/operator/scores", json={"scores": [_row(phone, "moli", 600)]},
                      headers=h.op())
    assert r.status_code == 200 and (r.json["imported"], r.json["pending_review"]) == (0, 1), r.json
    s = lg.score(tok, "moli")
    assert s["score"] == 684 and s["pending_points"] == -84
    ev = s["events"][0]
    assert (ev["kind"], ev["status"], ev["counts"], ev["points"]) == ("import", "pending_review", False, -84)
    assert sorted(p["code"] for p in h.client.get("/api/v1/me/perks", headers=h.bearer(tok)).json["perks"]) == perks_before
    # the same import again changes nothing; the reviewer's queue holds one case
    r = h.client.post("/api/v1/operator/scores", json={"scores": [_row(phone, "moli", 600)]},
                      headers=h.op())
    assert (r.json["imported"], r.json["unchanged"], r.json["pending_review"]) == (0, 1, 0)
    cases = lg.queue(rev, reason="pending_review")["cases"]
    assert len(cases) == 1 and cases[0]["event"]["kind"] == "import" and cases[0]["event"]["points"] == -84
    # the reviewer reads the import by the labels of its two codes
    assert cases[0]["event"]["title"]["en"] == "Annual recalculation by the city platform"
    assert cases[0]["event"]["source"] == {"code": "perkpass-operator", "name": "Entered by a Perkpass operator"}
    assert cases[0]["event"]["description"] is None
    lg.decide(rev, cases[0]["id"], "confirm", "The platform's recalculation was checked by hand.")
    assert lg.score(tok, "moli")["score"] == 600
    # an increase applies at once
    r = h.client.post("/api/v1/operator/scores", json={"scores": [_row(phone, "moli", 650)]},
                      headers=h.op())
    assert r.json["imported"] == 1 and lg.score(tok, "moli")["score"] == 650


def test_a_later_import_supersedes_a_decrease_still_waiting(h):
    from tests.backend.test_ledger import Ledger
    lg = Ledger(h)
    phone = "+8613800006841"
    tok = h.citizen(phone, {"moli": 684})
    rev = lg.reviewer()
    for score in (600, 650):
        h.client.post("/api/v1/operator/scores", json={"scores": [_row(phone, "moli", score)]},
                      headers=h.op())
    cases = lg.queue(rev, reason="pending_review")["cases"]
    assert [c["event"]["points"] for c in cases] == [-34]
    lg.decide(rev, cases[0]["id"], "confirm", "The platform's recalculation was checked by hand.")
    assert lg.score(tok, "moli")["score"] == 650  # not 684 - 84 - 34


def test_an_import_waits_for_a_membership_another_transaction_holds(h, app):
    """A batch locks the memberships it sets (as a provider's events do): a change committed meanwhile by
    another transaction is what the import's recorded change is measured from, not a stale score."""
    import threading

    from sqlalchemy import text

    from backend.services import scores
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite allows one writer at a time)")
    token = h.citizen(A, {"moli": 650})
    cid = h.client.get("/api/v1/me", headers=h.bearer(token)).json["id"]
    other = db.engine.connect()
    tx = other.begin()
    other.execute(text("SELECT score FROM citizen_schemes WHERE citizen_id = (SELECT id FROM citizens "
                       "WHERE public_id = :p) FOR UPDATE"), {"p": cid})
    done: list = []

    def run_import() -> None:
        with app.app_context():
            done.append(scores.import_rows([{"citizen_id": cid, "scheme": "moli", "score": 700, **CODES}],
                                           now=int(time.time()), actor="test"))

    worker = threading.Thread(target=run_import)
    worker.start()
    worker.join(timeout=1.0)
    assert worker.is_alive() and not done  # waiting for the row
    other.execute(text("UPDATE citizen_schemes SET score = 680 WHERE citizen_id = (SELECT id FROM citizens "
                       "WHERE public_id = :p)"), {"p": cid})
    tx.commit()
    other.close()
    worker.join(timeout=30)
    assert done and done[0].imported == 1
    db.session.expire_all()
    last = db.session.scalars(db.select(ScoreEvent).order_by(ScoreEvent.id.desc())).first()
    assert (last.delta, last.score_after) == (20, 700)  # from 680, the score committed while it waited


def test_a_configured_scheme_without_its_database_row_refuses_the_line_not_the_server(h, runner, tmp_path):
    from backend.models import Scheme
    h.login(A)
    db.session.execute(db.delete(Scheme).where(Scheme.code == "sesame"))  # configured, init-db not run since
    db.session.commit()
    csv = tmp_path / "sesame.csv"
    csv.write_text(HEADER + f"{A},,sesame,700,annual-recalculation,sesame-partner-feed\n")
    res = runner.invoke(args=["scores", "import", str(csv)])
    assert res.exit_code == 1 and "line 2: scheme: configured but not set up in the database yet" in res.output
    assert "Traceback" not in res.output
    _nothing_stored()
