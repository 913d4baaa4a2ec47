"""Who may call what: citizens only see themselves, kiosk and operator tokens stay in their lanes."""
import time
import uuid

import pytest

A, B = "+8613900000701", "+8613900000702"


def test_citizen_sees_only_self(h, client):
    ta = h.citizen(A, {"moli": 713})
    tb = h.citizen(B, {"bailu": 762})
    me_a = client.get("/api/v1/me", headers=h.bearer(ta)).json
    me_b = client.get("/api/v1/me", headers=h.bearer(tb)).json
    assert me_a["id"] != me_b["id"]
    assert [s["scheme"] for s in me_a["schemes"]] == ["moli"]
    assert [s["scheme"] for s in me_b["schemes"]] == ["bailu"]
    # B cannot get a code for A's perks: issuance is always for the token's own citizen
    assert h.issue(tb, "metro")["eligible"] is False
    assert h.issue(ta, "library")["eligible"] is False


def test_citizen_redemption_history_is_private(h, client):
    from partner_sdk import Verifier
    ta = h.citizen(A, {"moli": 713})
    tb = h.citizen(B, {"moli": 701})
    dev = h.enrol(h.venue("Gate", "metro"))
    store = h.trust_store()
    items = []
    for tok in (ta, tb):
        d = Verifier(store, audience="metro").verify(h.issue(tok, "metro")["qr_text"])
        items.append({"id": str(uuid.uuid4()), "jti": d.jti, "pseudonym": d.pseudonym, "perk": "MOLI-METRO20",
                      "scanned_at": int(time.time())})
    client.post("/api/v1/kiosk/redemptions", json={"redemptions": items}, headers=h.bearer(dev["device_token"]))
    ra = client.get("/api/v1/me/redemptions", headers=h.bearer(ta)).json["redemptions"]
    rb = client.get("/api/v1/me/redemptions", headers=h.bearer(tb)).json["redemptions"]
    assert [r["id"] for r in ra] == [items[0]["id"]]
    assert [r["id"] for r in rb] == [items[1]["id"]]
    # A opting out does not touch B
    assert client.delete("/api/v1/me", json={"confirm": True}, headers=h.bearer(ta)).status_code == 200
    assert client.get("/api/v1/me", headers=h.bearer(tb)).status_code == 200
    assert len(client.get("/api/v1/me/redemptions", headers=h.bearer(tb)).json["redemptions"]) == 1


CITIZEN_ENDPOINTS = [("get", "/api/v1/me", None), ("get", "/api/v1/me/perks", None),
                     ("get", "/api/v1/me/redemptions", None), ("post", "/api/v1/credentials", {"audience": "metro"}),
                     ("post", "/api/v1/me/schemes", {"scheme": "moli"}), ("delete", "/api/v1/me", {"confirm": True}),
                     ("post", "/api/v1/credentials/qr.png", {"audience": "metro"})]


@pytest.mark.parametrize("method,path,body", CITIZEN_ENDPOINTS)
def test_kiosk_and_operator_tokens_cannot_call_citizen_endpoints(h, client, method, path, body):
    dev = h.enrol(h.venue("Gate", "metro"))
    for headers in (h.bearer(dev["device_token"]), h.op(), {}, {"Authorization": "Bearer pp_at_forged"},
                    {"Authorization": "Basic dXNlcjpwYXNz"}):
        r = getattr(client, method)(path, json=body, headers=headers)
        assert r.status_code == 401, (path, headers, r.status_code)
        assert r.json["error"]["code"] == "unauthorized"


def test_citizen_and_kiosk_tokens_cannot_call_operator_or_kiosk_endpoints(h, client):
    token = h.citizen(A, {"moli": 713})
    dev = h.enrol(h.venue("Gate", "metro"))
    for headers in (h.bearer(token), h.bearer(dev["device_token"]), {}):
        assert client.get("/api/v1/operator/partners", headers=headers).status_code == 401
        assert client.post("/api/v1/operator/keys/rotate", json={}, headers=headers).status_code == 401
        assert client.get("/api/v1/operator/replays", headers=headers).status_code == 401
    body = {"redemptions": [{"id": str(uuid.uuid4()), "jti": "abcdefgh1234", "pseudonym": "ABCDEFGHIJKLMNOP",
                             "perk": "MOLI-METRO20", "scanned_at": int(time.time())}]}
    for headers in (h.bearer(token), h.op(), {}):
        assert client.post("/api/v1/kiosk/redemptions", json=body, headers=headers).status_code == 401
        assert client.get("/api/v1/kiosk/config", headers=headers).status_code == 401


def test_revoked_device_token_refused(h, client, runner):
    dev = h.enrol(h.venue("Gate", "metro"))
    auth = h.bearer(dev["device_token"])
    assert client.get("/api/v1/kiosk/config", headers=auth).status_code == 200
    r = client.post(f"/api/v1/operator/devices/{dev['device_id']}/revoke", headers=h.op())
    assert r.status_code == 200 and r.json["revoked_at"]
    r = client.get("/api/v1/kiosk/config", headers=auth)
    assert r.status_code == 403 and r.json["error"]["code"] == "device_revoked"
    body = {"redemptions": [{"id": str(uuid.uuid4()), "jti": "abcdefgh1234", "pseudonym": "ABCDEFGHIJKLMNOP",
                             "perk": "MOLI-METRO20", "scanned_at": int(time.time())}]}
    assert client.post("/api/v1/kiosk/redemptions", json=body, headers=auth).status_code == 403
    # CLI revocation works as well
    dev2 = h.enrol(h.venue("Gate 2", "metro"))
    res = runner.invoke(args=["kiosk", "revoke", dev2["device_id"]])
    assert res.exit_code == 0
    assert client.get("/api/v1/kiosk/config", headers=h.bearer(dev2["device_token"])).status_code == 403


def test_revoked_operator_token_refused(h, client, runner):
    from backend.services.operators import create_token
    tok = create_token("temp", 1)
    assert client.get("/api/v1/operator/partners", headers=h.bearer(tok)).status_code == 200
    res = runner.invoke(args=["operators", "list"])
    tid = [line.split(":")[0] for line in res.output.splitlines() if "temp" in line][0]
    assert runner.invoke(args=["operators", "revoke", tid]).exit_code == 0
    assert client.get("/api/v1/operator/partners", headers=h.bearer(tok)).status_code == 401


def test_opted_out_citizen_token_dies(h, client):
    token = h.citizen(A, {"moli": 713})
    assert client.delete("/api/v1/me", json={"confirm": True}, headers=h.bearer(token)).status_code == 200
    assert client.get("/api/v1/me", headers=h.bearer(token)).status_code == 401
    assert client.post("/api/v1/credentials", json={"audience": "metro"}, headers=h.bearer(token)).status_code == 401
