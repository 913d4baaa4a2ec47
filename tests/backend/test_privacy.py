"""Privacy: run the whole demo flow and search everything a partner sees -- enrolment and kiosk
responses, decoded QR payloads, verifier decisions, sync answers, the trust list, the JWKS -- and the
captured logs for any citizen's raw score. There must be none."""
import base64
import json
import re
import time
import uuid

from partner_sdk import TrustStore, Verifier
from partner_sdk.format import parse_qr_text


def _jws_payload(jws: str) -> str:
    payload = jws.split(".")[1]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


def _expand(obj):
    """JSON text of a response with every embedded JWS / QR replaced by its decoded contents (raw
    base64 or digit strings would match any number by chance; their decoded form is what leaks)."""
    if isinstance(obj, dict):
        return {k: _expand(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_expand(v) for v in obj]
    if isinstance(obj, str) and obj.startswith("PP1"):
        raw = parse_qr_text(obj)
        return {"qr.header": raw.header_json.decode(), "qr.payload": raw.payload_json.decode()}
    if isinstance(obj, str) and obj.startswith("eyJ") and obj.count(".") == 2:
        return {"jws.payload": _jws_payload(obj)}
    return obj


def test_no_raw_score_reaches_partners_or_logs(app, client, runner, json_logs, capfd):
    res = runner.invoke(args=["seed-demo", "--json"])
    assert res.exit_code == 0, res.output
    demo = json.loads(res.output[res.output.index("{"):])
    citizens, venues = demo["citizens"], demo["venues"]
    scores = {s for c in citizens for s in c["scores"].values()}
    assert len(scores) >= 25

    partner_seen: list[str] = []

    def seen(obj):
        partner_seen.append(json.dumps(_expand(obj), ensure_ascii=False))

    # kiosks enrol at every venue
    kiosks = {}
    for v in venues:
        r = client.post("/api/v1/kiosk/enroll", json={"enrolment_code": v["enrolment_code"],
                                                      "device_name": "kiosk " + v["venue"][:20]})
        assert r.status_code == 201, r.json
        seen(r.json)
        kiosks[v["venue_id"]] = r.json
        r = client.get("/api/v1/kiosk/config", headers={"Authorization": "Bearer " + r.json["device_token"]})
        seen(r.json)

    tl = client.get("/api/v1/trust-list")
    partner_seen.append(_jws_payload(tl.data.decode()))
    seen(client.get("/.well-known/jwks.json").json)
    seen(client.get("/api/v1/trust-root").json)

    # every citizen logs in and shows a code at every venue; kiosks verify offline and sync
    granted = 0
    batches: dict[int, list] = {}
    for c in citizens:
        r = client.post("/api/v1/auth/request-code", json={"phone": c["phone"]})
        r = client.post("/api/v1/auth/login", json={"phone": c["phone"], "code": r.json["dev_code"]})
        token = r.json["access_token"]
        for v in venues:
            k = kiosks[v["venue_id"]]
            out = client.post("/api/v1/credentials", json={"audience": v["audience"]},
                              headers={"Authorization": "Bearer " + token}).json
            if not out["eligible"]:
                assert out["qr_text"] is None
                continue
            seen({"qr": out["qr_text"]})  # the QR is what the venue scans
            store = TrustStore(k["root_public_key"])
            store.load_bytes(k["trust_list"])
            for perk in v["perks"]:
                d = Verifier(store, audience=v["audience"]).verify(out["qr_text"], perk=perk)
                seen(d.to_dict())
                if d.granted:
                    granted += 1
                    batches.setdefault(v["venue_id"], []).append(
                        {"id": str(uuid.uuid4()), "jti": d.jti, "pseudonym": d.pseudonym, "perk": perk,
                         "scanned_at": int(time.time())})
    assert granted >= 30
    for vid, items in batches.items():
        r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": items},
                        headers={"Authorization": "Bearer " + kiosks[vid]["device_token"]})
        assert r.status_code == 200
        seen(r.json)

    logs = json_logs()
    captured = capfd.readouterr()
    log_text = "\n".join(logs) + "\n" + captured.err + "\n" + captured.out
    assert "credential.issued" in log_text and "kiosk.redemptions_synced" in log_text

    # positive control: the same search does find a score where it legitimately is (the citizen's own view)
    c0 = next(c for c in citizens if c["perks"])
    r = client.post("/api/v1/auth/request-code", json={"phone": c0["phone"]})
    token = client.post("/api/v1/auth/login", json={"phone": c0["phone"], "code": r.json["dev_code"]}).json["access_token"]
    own = json.dumps(client.get("/api/v1/me", headers={"Authorization": "Bearer " + token}).json)
    some_score = next(iter(c0["scores"].values()))
    assert re.search(rf"(?<![\w.]){some_score}(?![\w.])", own)

    haystacks = {"partner-facing": "\n".join(partner_seen), "logs": log_text}
    for where, text in haystacks.items():
        assert text
        for score in sorted(scores):
            hits = [m.start() for m in re.finditer(rf"(?<![\w.]){score}(?![\w.])", text)]
            context = [text[max(0, i - 60): i + 60] for i in hits[:3]]
            assert not hits, f"score {score} found in {where}: {context}"
        assert '"score"' not in text and "score=" not in text
    # no phone numbers or access tokens in logs either
    for c in citizens:
        assert c["phone"] not in log_text and c["phone"][3:] not in log_text
    assert "pp_at_" not in log_text and "pp_dev_" not in log_text
