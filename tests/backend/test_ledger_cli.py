"""`flask --app backend ledger ...` for operators, providers and reviewers; concurrency of batches; the
demo ledger; rate limits on disputes."""
from __future__ import annotations

import json
import threading
import time

from sqlalchemy import func, select

from backend.extensions import db
from backend.models import ScoreEvent


def _ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _approve(kind: str, code: str) -> None:
    """A second operator approves the pending catalogue change of this entry."""
    from backend.services import ledger
    change = next(c for c in ledger.catalogue_changes() if c.kind == kind and c.code == code)
    ledger.decide_change(change.id, True, "operator:second", int(time.time()))


def _provider(code: str, schemes: list[str], reference_format: str = "FZ-TP-####-####") -> tuple:
    from backend.services import ledger
    provider, token = ledger.create_provider(code, code.title(), schemes, int(time.time()),
                                             reference_format=reference_format)
    _approve("provider", code)
    return provider, token


def test_cli_provider_ingest_review_decide_audit(h, runner, tmp_path):
    phone = "+8613800002001"
    tok = h.citizen(phone, {"moli": 684})
    out = _ok(runner.invoke(args=["ledger", "rules", "--scheme", "moli"]))
    assert "OFFENCE-MINOR" in out and "-10..-5" in out and "forbidden: religious-belief" in out

    create = ["ledger", "providers", "create", "fuzhou-traffic-police", "--name", "Fuzhou Traffic Police",
              "--name-zh", "福州市交警支队", "--reference-format", "FZ-TP-####-####", "--scheme", "moli"]
    out = _ok(runner.invoke(args=create))
    token = out.strip().splitlines()[-1]
    assert token.startswith("pp_dp_") and "waits for approval" in out
    assert "not approved" in _ok(runner.invoke(args=["ledger", "providers", "list"]))
    assert "fuzhou-traffic-police" in _ok(runner.invoke(args=["ledger", "catalogue", "pending"]))
    bad = runner.invoke(args=create)
    assert bad.exit_code != 0 and "[conflict]" in bad.output
    bad = runner.invoke(args=["ledger", "providers", "create", "sesame-co", "--name", "x", "--reference-format",
                              "SC-####", "--scheme", "sesame"])
    assert bad.exit_code != 0 and "point rules" in bad.output
    for name, fmt, code in (("Clinic records office", "CR-####", "[forbidden_data]"),   # a name naming forbidden data
                            ("Records office", "DNA-####", "[forbidden_data]"),           # so does the format's prefix
                            ("Records office", "REF-[0-9]+", "[validation_error]")):      # not a template
        bad = runner.invoke(args=["ledger", "providers", "create", "records", "--name", name, "--reference-format",
                                  fmt, "--scheme", "moli"])
        assert bad.exit_code == 1 and code in bad.output and "Traceback" not in bad.output, bad.output
    assert "records" not in _ok(runner.invoke(args=["ledger", "providers", "list"])), "nothing of a refusal stored"
    _approve("provider", "fuzhou-traffic-police")

    out = _ok(runner.invoke(args=["ledger", "reviewers", "create", "Chen Jing"]))
    assert out.strip().splitlines()[-1].startswith("pp_rv_")
    assert "Chen Jing" in _ok(runner.invoke(args=["ledger", "reviewers", "list"]))

    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps({"events": [
        {"reference": "FZ-TP-2026-0001", "phone": phone, "scheme": "moli", "rule": "OFFENCE-MINOR", "points": -5,
         "occurred_at": int(time.time()) - 60},
        {"reference": "FZ-TP-2026-0002", "phone": "+8613899990000", "scheme": "moli", "rule": "OFFENCE-MINOR",
         "points": -5, "occurred_at": int(time.time()) - 60}]}))
    out = _ok(runner.invoke(args=["ledger", "ingest", str(batch), "--provider", "fuzhou-traffic-police"]))
    assert "FZ-TP-2026-0001: accepted (pending_review)" in out and "FZ-TP-2026-0002: not_enrolled" in out
    out = _ok(runner.invoke(args=["ledger", "ingest", str(batch), "--provider", "fuzhou-traffic-police"]))
    assert "FZ-TP-2026-0001: duplicate" in out and "accepted 0" in out

    refused = tmp_path / "refused.json"
    good = {"reference": "FZ-TP-2026-0003", "phone": phone, "scheme": "moli", "rule": "OFFENCE-MINOR", "points": -5,
            "occurred_at": int(time.time())}
    for bad, says in ((dict(good, rule="medical_history"), "event 2 field rule"),
                      (dict(good, medical_history="asthma"), "event 2 field (not allowed): unknown field"),
                      (dict(good, reference="FZ-TP-2026-00003"), "events.1.reference")):
        refused.write_text(json.dumps([good, bad]))
        res = runner.invoke(args=["ledger", "ingest", str(refused), "--provider", "fuzhou-traffic-police"])
        assert res.exit_code == 1 and says in res.output and "nothing" in res.output, res.output
        assert "asthma" not in res.output and "medical_history" not in res.output.split("rule")[0]
    assert db.session.scalar(select(func.count()).select_from(ScoreEvent).where(ScoreEvent.kind == "point")) == 1

    out = _ok(runner.invoke(args=["ledger", "queue"]))
    assert "PENDING" in out and "OFFENCE-MINOR" in out and "Fuzhou Traffic Police" in out
    case_id = int(out.split()[1])
    queued = json.loads(_ok(runner.invoke(args=["ledger", "queue", "--json"])))
    assert queued["counts"] == {"disputes": 0, "pending_review": 1}
    assert "score" not in json.dumps(queued), "reviewers never see the score"
    assert 684 not in [v for c in queued["cases"] for v in list(c.values()) + list(c["event"].values())]

    res = runner.invoke(args=["ledger", "decide", str(case_id), "--confirm", "--reason", "short", "--reviewer", "Chen Jing"])
    assert res.exit_code != 0 and "10 characters" in res.output
    res = runner.invoke(args=["ledger", "decide", str(case_id), "--reason", "Checked the ticket.", "--reviewer", "Chen Jing"])
    assert res.exit_code != 0 and "--confirm or --reverse" in res.output
    res = runner.invoke(args=["ledger", "decide", str(case_id), "--confirm", "--reason", "Checked the ticket.",
                              "--reviewer", "Nobody"])
    assert res.exit_code != 0 and "unknown reviewer" in res.output
    out = _ok(runner.invoke(args=["ledger", "decide", str(case_id), "--confirm", "--reason",
                                  "Ticket FZ-TP-1 checked against the register.", "--reviewer", "Chen Jing"]))
    assert "is now confirmed" in out
    s = h.client.get("/api/v1/me/score/moli", headers=h.bearer(tok)).json
    assert s["score"] == 679 and s["band"]["code"] == "GOOD"
    assert "Chen Jing" in _ok(runner.invoke(args=["ledger", "queue", "--decided"]))

    out = _ok(runner.invoke(args=["ledger", "audit"]))
    assert "reviewer:Chen Jing" in out and "case.decided" in out and "catalogue.approved" in out
    assert "intact" in _ok(runner.invoke(args=["ledger", "audit", "--verify"]))
    show = json.loads(_ok(runner.invoke(args=["ledger", "show", str(case_id)])))
    assert show["decision"] == "confirm" and show["reviewer"] == "Chen Jing"

    res = runner.invoke(args=["ledger", "withdraw", "FZ-TP-2026-0001", "--provider", "fuzhou-traffic-police",
                              "--reason", "Ticket cancelled by the issuing officer."])
    assert res.exit_code == 1 and "[validation_error]" in res.output and "sent-in-error" in res.output
    out = _ok(runner.invoke(args=["ledger", "withdraw", "FZ-TP-2026-0001", "--provider", "fuzhou-traffic-police",
                                  "--reason", "decision-cancelled"]))
    assert "FZ-TP-2026-0001: withdrawn" in out
    assert h.client.get("/api/v1/me/score/moli", headers=h.bearer(tok)).json["score"] == 684
    res = runner.invoke(args=["ledger", "withdraw", "FZ-TP-2026-0001", "--provider", "fuzhou-traffic-police",
                              "--reason", "sent-in-error"])
    assert res.exit_code != 0 and "[not_withdrawable]" in res.output
    out = _ok(runner.invoke(args=["ledger", "providers", "rotate-token", "fuzhou-traffic-police"]))
    new_token = out.strip().splitlines()[-1]
    assert h.client.get("/api/v1/provider/rules", headers=h.bearer(token)).status_code == 401
    assert h.client.get("/api/v1/provider/rules", headers=h.bearer(new_token)).status_code == 200
    _ok(runner.invoke(args=["ledger", "providers", "revoke", "fuzhou-traffic-police"]))
    assert "REVOKED" in _ok(runner.invoke(args=["ledger", "providers", "list"]))
    assert h.client.get("/api/v1/provider/rules", headers=h.bearer(new_token)).status_code == 403
    _ok(runner.invoke(args=["ledger", "reviewers", "revoke", "Chen Jing"]))
    res = runner.invoke(args=["ledger", "decide", str(case_id), "--reverse", "--reason", "Changed my mind today.",
                              "--reviewer", "Chen Jing"])
    assert res.exit_code != 0 and "revoked" in res.output


def test_recompute_rebuilds_cached_scores_from_the_ledger(h, runner):
    from backend.models import CitizenScheme
    phone = "+8613800002002"
    tok = h.citizen(phone, {"osmanthus": 110})
    _p, token = _provider("blood", ["osmanthus"], "SZ-B-#####")
    r = h.client.post("/api/v1/provider/events", headers=h.bearer(token), json={"events": [
        {"reference": "SZ-B-00001", "phone": phone, "scheme": "osmanthus", "rule": "BLOOD-DONATION",
         "occurred_at": int(time.time())}]})
    assert r.status_code == 200
    m = db.session.scalars(select(CitizenScheme)).one()
    assert m.score == 115
    db.session.execute(CitizenScheme.__table__.update().values(score=199))  # a damaged cache
    db.session.commit()
    assert "changed 1" in _ok(runner.invoke(args=["ledger", "recompute"]))
    db.session.expire_all()
    assert db.session.scalars(select(CitizenScheme)).one().score == 115
    assert h.client.get("/api/v1/me/score/osmanthus", headers=h.bearer(tok)).json["score"] == 115


def test_concurrent_identical_batches_record_each_event_once(h, app):
    from backend.services import ledger
    phones = [f"+86138000030{i:02d}" for i in range(4)]
    for p in phones:
        h.citizen(p, {"moli": 600})
    _p, token = _provider("city", ["moli"], "C-####")
    events = [{"reference": f"C-{i}{j:03d}", "phone": p, "scheme": "moli", "rule": "VOLUNTEER-SERVICE", "points": 2,
               "occurred_at": int(time.time()) - 10} for i, p in enumerate(phones) for j in range(3)]
    statuses, errors = [], []
    barrier = threading.Barrier(4)

    def send():
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            r = client.post("/api/v1/provider/events", json={"events": events}, headers=h.bearer(token))
            assert r.status_code == 200, r.json
            statuses.append([x["status"] for x in r.json["results"]])
        except Exception as exc:  # noqa: BLE001 - the test's main thread reports it
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    flat = [s for run in statuses for s in run]
    assert flat.count("accepted") == len(events) and flat.count("duplicate") == 3 * len(events)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ScoreEvent).where(ScoreEvent.kind == "point")) == len(events)
    for p in phones:
        tok = h.login(p)
        assert h.client.get("/api/v1/me/score/moli", headers=h.bearer(tok)).json["score"] == 606
    assert ledger.verify_audit()["ok"]


def test_disputes_are_rate_limited(h, make_app):
    from backend.services import ledger
    app2 = make_app(PERKPASS_RATE_LIMIT_DISPUTE="2 per hour")
    h2 = type(h)(app2, app2.test_client())
    with app2.app_context():
        phone = "+8613800002003"
        tok = h2.citizen(phone, {"moli": 650})
        provider, _token = _provider("civil", ["moli"], "V-####")
        ledger.ingest(provider, [{"reference": f"V-000{i}", "phone": phone, "scheme": "moli", "rule": "VOLUNTEER-SERVICE",
                                  "points": 1, "occurred_at": int(time.time())} for i in range(3)], int(time.time()))
        ids = [e["id"] for e in h2.client.get("/api/v1/me/score/moli", headers=h2.bearer(tok)).json["events"]
               if e["kind"] == "point"]
        codes = [h2.client.post(f"/api/v1/me/score/events/{i}/dispute", json={"statement": "Not mine, please check."},
                                headers=h2.bearer(tok)).status_code for i in ids]
        assert codes == [201, 201, 429]


def test_demo_ledger(app, runner):
    _ok(runner.invoke(args=["seed-demo"]))
    out = _ok(runner.invoke(args=["ledger", "seed-demo"]))
    assert "FZ-TP-2026-118204: accepted" in out and "review queue: 2 pending" in out
    out = _ok(runner.invoke(args=["ledger", "seed-demo"]))
    assert "accepted" not in out and out.count("duplicate") == 6
    assert "intact" in _ok(runner.invoke(args=["ledger", "audit", "--verify"]))
