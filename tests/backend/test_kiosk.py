"""Kiosk enrolment and redemption sync: the contract in docs/contracts.md."""
import json
import time
import uuid

from partner_sdk import Status, TrustStore, Verifier, load_public_key

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
                                  {"id": items[1]["id"], "status": "duplicate"}], "accepted": 0, "duplicates": 2}
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
    dev = h.enrol(h.venue("Gate", "metro"))
    auth = h.bearer(dev["device_token"])
    good = {"id": str(uuid.uuid4()), "jti": "abcdefgh12345678", "pseudonym": "ABCDEFGHIJKLMNOPQRSTUV",
            "perk": "MOLI-METRO20", "scanned_at": int(time.time())}
    cases = [
        {"redemptions": []},
        {"redemptions": [dict(good, id="not-a-uuid")]},
        {"redemptions": [dict(good, scanned_at="yesterday")]},
        {"redemptions": [dict(good, scanned_at=1.5)]},
        {"redemptions": [dict(good, scanned_at=int(time.time()) + 10 * 86400)]},
        {"redemptions": [dict(good, perk="metro 20% off")]},
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
        except Exception as exc:  # noqa: BLE001
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
