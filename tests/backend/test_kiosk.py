"""Kiosk enrolment and redemption sync: the contract in docs/contracts.md."""
import json
import time
import uuid

from partner_sdk import Status, TrustStore, Verifier, load_public_key

from backend.settings import override

CITIZEN = "+8613900000104"


def _scan(h, token, audience, device, perk):
    """Issue a code, verify it the way a kiosk does (offline, from its enrolment data), build the record."""
    qr = h.issue(token, audience)["qr_text"]
    store = TrustStore(device["root_public_key"])
    store.load_bytes(device["trust_list"])
    d = Verifier(store, audience=device["venue"]["audience"]).verify(qr, perk=perk)
    assert d.status is Status.GRANTED, d.to_dict()
    return {"id": str(uuid.uuid4()), "jti": d.jti, "pseudonym": d.pseudonym, "perk": perk,
            "scanned_at": int(time.time())}


def test_enroll_contract(h, client):
    vid = h.venue("Metro gate", "metro", ["MOLI-METRO20"])
    r = client.post(f"/api/v1/operator/venues/{vid}/enrolment-codes", json={"ttl_seconds": 3600}, headers=h.op())
    code = r.json["enrolment_code"]
    r = client.post("/api/v1/kiosk/enroll", json={"enrolment_code": code.lower(), "device_name": "Gate 3"})
    assert r.status_code == 201, r.json
    body = r.json
    assert set(body) >= {"device_id", "device_token", "venue", "issuer", "root_public_key", "trust_list",
                         "trust_list_url"}
    assert body["venue"] == {"id": vid, "name": "Metro gate", "audience": "metro",
                             "perks": [{"code": "MOLI-METRO20", "title": body["venue"]["perks"][0]["title"]}]}
    assert set(body["venue"]["perks"][0]["title"]) == {"en", "zh-CN"}
    assert body["trust_list_url"] == "/api/v1/trust-list" and body["issuer"] == "perkpass"
    load_public_key(body["root_public_key"])
    store = TrustStore(body["root_public_key"])
    store.load_bytes(body["trust_list"])
    assert store.issuer == "perkpass" and "MOLI-METRO20" in store.perk_catalogue
    # the token is stored hashed only
    from backend.models import Device
    from backend.extensions import db
    dev = db.session.scalars(db.select(Device)).one()
    assert dev.token_hash != body["device_token"] and body["device_token"] not in dev.token_hash
    # the code is one-time
    r = client.post("/api/v1/kiosk/enroll", json={"enrolment_code": code, "device_name": "Gate 4"})
    assert r.status_code == 400 and r.json["error"]["code"] == "enrolment_code_used"
    r = client.post("/api/v1/kiosk/enroll", json={"enrolment_code": "NOPE-NOPE-NOPE", "device_name": "x"})
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_enrolment_code"


def test_expired_enrolment_code(h, client):
    from backend.extensions import db
    from backend.models import EnrolmentCode
    vid = h.venue("Metro gate", "metro")
    code = client.post(f"/api/v1/operator/venues/{vid}/enrolment-codes", json={}, headers=h.op()).json["enrolment_code"]
    db.session.execute(db.update(EnrolmentCode).values(expires_at=1))
    db.session.commit()
    r = client.post("/api/v1/kiosk/enroll", json={"enrolment_code": code, "device_name": "x"})
    assert r.status_code == 404


def test_redemptions_idempotent_and_history(h, client):
    token = h.citizen(CITIZEN, {"moli": 713})
    dev = h.enrol(h.venue("Metro gate", "metro"))
    auth = h.bearer(dev["device_token"])
    items = [_scan(h, token, "metro", dev, "MOLI-METRO20") for _ in range(3)]
    r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": items}, headers=auth)
    assert r.status_code == 200, r.json
    assert r.json["accepted"] == 3 and r.json["duplicates"] == 0
    assert [x["status"] for x in r.json["results"]] == ["accepted"] * 3
    # re-sending (a sync that timed out) changes nothing and keeps the original scan time
    resent = [dict(items[0], scanned_at=items[0]["scanned_at"] + 999), items[1]]
    r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": resent}, headers=auth)
    assert r.json == {"results": [{"id": items[0]["id"], "status": "duplicate"},
                                  {"id": items[1]["id"], "status": "duplicate"}], "accepted": 0, "duplicates": 2,
                      "rejected": 0}
    mine = client.get("/api/v1/me/redemptions", headers=h.bearer(token)).json["redemptions"]
    assert len(mine) == 3
    first = next(m for m in mine if m["id"] == items[0]["id"])
    assert first["scanned_at"] == items[0]["scanned_at"] and first["venue"]["name"] == "Metro gate"
    assert first["perk"] == "MOLI-METRO20" and first["perk_title"]["zh-CN"] and first["flagged_replay"] is False


def test_cross_venue_replay_report(h, client, runner):
    token = h.citizen(CITIZEN, {"moli": 713})
    gate_a = h.enrol(h.venue("Gate A", "metro"))
    gate_b = h.enrol(h.venue("Gate B", "metro"))
    rec = _scan(h, token, "metro", gate_a, "MOLI-METRO20")
    copy = dict(rec, id=str(uuid.uuid4()), scanned_at=rec["scanned_at"] + 30)  # a screenshot used elsewhere
    honest = _scan(h, token, "metro", gate_b, "MOLI-METRO20")
    assert client.post("/api/v1/kiosk/redemptions", json={"redemptions": [rec]},
                       headers=h.bearer(gate_a["device_token"])).json["accepted"] == 1
    assert client.post("/api/v1/kiosk/redemptions", json={"redemptions": [copy, honest]},
                       headers=h.bearer(gate_b["device_token"])).json["accepted"] == 2
    report = client.get("/api/v1/operator/replays", headers=h.op()).json["replays"]
    assert len(report) == 1
    assert report[0]["jti"] == rec["jti"] and report[0]["redemptions"] == 2 and len(report[0]["venues"]) == 2
    assert {s["venue_name"] for s in report[0]["scans"]} == {"Gate A", "Gate B"}
    mine = client.get("/api/v1/me/redemptions", headers=h.bearer(token)).json["redemptions"]
    assert sorted(m["flagged_replay"] for m in mine) == [False, True, True]
    out = runner.invoke(args=["redemptions", "replays"])
    assert out.exit_code == 0 and rec["jti"] in out.output and "2 venues" in out.output


def test_redemption_validation(h, client):
    """Malformed batches get a typed 400; a well-formed item with implausible content is answered per item."""
    dev = h.enrol(h.venue("Gate", "metro"))
    auth = h.bearer(dev["device_token"])
    good = {"id": str(uuid.uuid4()), "jti": "abcdefgh12345678", "pseudonym": "ABCDEFGHIJKLMNOPQRSTUVY",
            "perk": "MOLI-METRO20", "scanned_at": int(time.time())}
    cases = [
        {"redemptions": []},
        {"redemptions": [dict(good, id="not-a-uuid")]},
        {"redemptions": [dict(good, scanned_at="yesterday")]},
        {"redemptions": [dict(good, scanned_at=1.5)]},
        {"redemptions": [dict(good, jti="x" * 65)]},
        {"redemptions": [dict(good, perk="x\x00")]},
        {"redemptions": [dict(good, extra=1)]},
        {"redemptions": [good] * 501},
        {"redemptions": good},
    ]
    for body in cases:
        r = client.post("/api/v1/kiosk/redemptions", json=body, headers=auth)
        assert r.status_code == 400, (body, r.json)
        assert r.json["error"]["code"] == "validation_error" and r.json["error"]["fields"]
    items = [dict(good, id=str(uuid.uuid4())) for _ in range(500)]
    r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": items}, headers=auth)
    assert r.status_code == 200 and r.json["accepted"] == 500



def test_a_backend_configured_for_smaller_batches_refuses_a_larger_one_whole(h, client, app):
    """PERKPASS_BATCH_MAX below the format's 500: the service refuses the batch (a typed 400 naming the limit),
    stores none of it, and the kiosk's next, smaller batch goes through."""
    from backend.extensions import db
    from backend.models import Redemption
    dev = h.enrol(h.venue("Gate", "metro"))
    auth = h.bearer(dev["device_token"])
    items = [{"id": str(uuid.uuid4()), "jti": "abcdefgh1234567" + str(i), "pseudonym": "ABCDEFGHIJKLMNOPQRSTUVY",
              "perk": "MOLI-METRO20", "scanned_at": int(time.time())} for i in range(3)]
    with override(app, batch_max=2):
        r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": items}, headers=auth)
        assert r.status_code == 400 and r.json["error"]["code"] == "validation_error", r.json
        assert r.json["error"]["fields"] == {"redemptions": ["At most 2."]}
        assert db.session.query(Redemption).count() == 0
        r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": items[:2]}, headers=auth)
        assert r.status_code == 200 and r.json["accepted"] == 2

def test_implausible_uploads_are_rejected_per_item_and_never_shown(h, client):
    """The issue's walk-arounds: a metro perk 'used' at a government office, a perk no venue of the kiosk
    offers, made-up ids, a scan in 2020 or next week. Each is answered 'rejected' with a reason, the good
    item beside them is accepted, and the citizen's history shows only the good one."""
    token = h.citizen(CITIZEN, {"moli": 713, "osmanthus": 130})
    metro = h.enrol(h.venue("Metro gate", "metro", ["MOLI-METRO20"]))  # offers only the Moli metro perk
    office = h.enrol(h.venue("Gulou service office", "gov-office"))
    real = _scan(h, token, "metro", metro, "MOLI-METRO20")
    now = int(time.time())

    def item(**changes):
        return dict(real, id=str(uuid.uuid4()), **changes)

    at_office = {
        "wrong_audience": item(jti="Q1w2E3r4T5y6U7i8"),                      # metro perk at the office kiosk
        "unknown_perk": item(perk="MOLI-FREE-LUNCH"),
    }
    at_metro = {
        "perk_not_offered": item(perk="OSM-TRANSIT"),                         # metro perk, not offered here
        "wrong_audience": item(perk="MOLI-GOV-PRIORITY"),
        "malformed_jti": item(jti="made-up-jti"),
        "malformed_pseudonym": item(pseudonym="citizen-713"),
        "scanned_before_possible": item(scanned_at=1_590_000_000),            # May 2020
        "scanned_in_future": item(scanned_at=now + 7 * 86400),
    }
    at_metro["malformed_jti_pp2"] = item(jti="AAAAAAAAAAAAAAAA-01")          # leading zero: not a slot number
    r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": list(at_office.values())},
                    headers=h.bearer(office["device_token"]))
    assert r.status_code == 200, r.json
    assert [(x["status"], x["reason"]) for x in r.json["results"]] == [("rejected", k) for k in at_office]
    assert r.json["accepted"] == 0 and r.json["rejected"] == 2
    batch = [real] + list(at_metro.values())
    r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": batch}, headers=h.bearer(metro["device_token"]))
    assert r.status_code == 200, r.json
    expected = [("accepted", None)] + [("rejected", k.removesuffix("_pp2")) for k in at_metro]
    assert [(x["status"], x.get("reason")) for x in r.json["results"]] == expected
    assert (r.json["accepted"], r.json["duplicates"], r.json["rejected"]) == (1, 0, len(at_metro))
    # only the plausible item reaches the citizen and the replay report
    mine = client.get("/api/v1/me/redemptions", headers=h.bearer(token)).json["redemptions"]
    assert [m["id"] for m in mine] == [real["id"]]
    assert client.get("/api/v1/operator/replays", headers=h.op()).json["replays"] == []
    # idempotent: the same batch again gets the same answers (accepted -> duplicate, rejected keeps its reason)
    r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": batch}, headers=h.bearer(metro["device_token"]))
    assert [(x["status"], x.get("reason")) for x in r.json["results"]] == [("duplicate", None)] + expected[1:]
    assert (r.json["accepted"], r.json["duplicates"], r.json["rejected"]) == (0, 1, len(at_metro))


def test_a_rejected_item_keeps_its_answer_when_resent_later(h, client, app):
    """A scan from 'the future' is rejected; re-sent once the server clock has caught up, it is still rejected
    (the same id, the same answer), so a batch's outcome never depends on when it is retried."""
    token = h.citizen(CITIZEN, {"moli": 713})
    dev = h.enrol(h.venue("Metro gate", "metro"))
    early = dict(_scan(h, token, "metro", dev, "MOLI-METRO20"), scanned_at=int(time.time()) + 3600)
    auth = h.bearer(dev["device_token"])
    r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": [early]}, headers=auth)
    assert r.json["results"] == [{"id": early["id"], "status": "rejected", "reason": "scanned_in_future"}]
    with override(app, kiosk_clock_skew=2 * 3600):  # as if the server clock had moved on
        r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": [early]}, headers=auth)
        assert r.json["results"] == [{"id": early["id"], "status": "rejected", "reason": "scanned_in_future"}]
        fresh = dict(early, id=str(uuid.uuid4()))
        r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": [fresh]}, headers=auth)
        assert r.json["results"] == [{"id": fresh["id"], "status": "accepted"}]


def test_kiosk_config_and_trust_list_etag(h, client):
    dev = h.enrol(h.venue("Library desk", "library", ["BAILU-LIB-NODEPOSIT"]))
    r = client.get("/api/v1/kiosk/config", headers=h.bearer(dev["device_token"]))
    assert r.status_code == 200 and r.json["device_id"] == dev["device_id"]
    assert r.json["venue"]["perks"][0]["code"] == "BAILU-LIB-NODEPOSIT"
    r = client.get("/api/v1/trust-list")
    assert r.status_code == 200 and r.mimetype == "application/jwt"
    assert r.headers["ETag"] and "max-age" in r.headers["Cache-Control"]
    assert client.get("/api/v1/trust-list", headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    assert client.get("/api/v1/trust-list", headers={"If-None-Match": '"other"'}).status_code == 200
    jwks = client.get("/.well-known/jwks.json").json
    assert jwks["keys"] and all(k["kty"] == "OKP" and "d" not in k for k in jwks["keys"])


def test_export_enrolment_cli(h, runner, tmp_path):
    vid = h.venue("Offline library", "library")
    out = tmp_path / "enrol.json"
    res = runner.invoke(args=["kiosk", "export-enrolment", "--venue", str(vid), "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert "device_token" not in data and data["venue"]["id"] == vid
    store = TrustStore(data["root_public_key"])
    store.load_bytes(data["trust_list"])
    assert store.sequence >= 1
    res = runner.invoke(args=["kiosk", "export-enrolment", "--venue", "9999", "--out", str(out)])
    assert res.exit_code != 0 and "unknown venue" in res.output


def test_concurrent_resync_of_one_batch(h, app, client):
    """A kiosk that times out and re-sends while the first sync still runs: no error, no double count."""
    import threading
    token = h.citizen(CITIZEN, {"moli": 713})
    dev = h.enrol(h.venue("Metro gate", "metro"))
    items = [_scan(h, token, "metro", dev, "MOLI-METRO20") for _ in range(20)]
    results, errors = [], []

    def sync():
        try:
            with app.test_client() as c:
                r = c.post("/api/v1/kiosk/redemptions", json={"redemptions": items},
                           headers=h.bearer(dev["device_token"]))
                results.append((r.status_code, r.get_json()))
        except Exception as exc:  # noqa: BLE001 - the test's main thread reports it
            errors.append(exc)

    threads = [threading.Thread(target=sync) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and [s for s, _ in results] == [200] * 4, results
    assert sum(b["accepted"] for _, b in results) == 20
    assert all(b["accepted"] + b["duplicates"] == 20 for _, b in results)
    from backend.extensions import db
    from backend.models import Redemption
    assert db.session.query(Redemption).count() == 20


def test_one_enrolment_code_racing_kiosks(h, app, client):
    import threading
    vid = h.venue("Gate", "metro")
    code = client.post(f"/api/v1/operator/venues/{vid}/enrolment-codes", json={}, headers=h.op()).json["enrolment_code"]
    statuses = []

    def enrol(i):
        with app.test_client() as c:
            statuses.append(c.post("/api/v1/kiosk/enroll", json={"enrolment_code": code,
                                                                 "device_name": f"kiosk {i}"}).status_code)

    threads = [threading.Thread(target=enrol, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 400, 400, 400]
    from backend.extensions import db
    from backend.models import Device
    assert db.session.query(Device).count() == 1
