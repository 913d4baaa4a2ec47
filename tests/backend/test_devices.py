"""PP2 on the backend: device registration with proof of possession, perk certificates, revocation into the
trust list, the citizen's history, opt-out. Real database (SQLite and PostgreSQL), real SDK verification."""
import base64
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from partner_sdk import Status, Verifier, pp2

PHONE = "+8613900000901"


def b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Phone:
    """What the citizen page does with WebCrypto, in Python: same bytes, same signatures."""

    def __init__(self, kind: str):
        self.kind = kind
        if kind == "Ed25519":
            self.key = Ed25519PrivateKey.generate()
            self.public = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        else:
            self.key = ec.generate_private_key(ec.SECP256R1())
            self.public = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                             serialization.PublicFormat.UncompressedPoint)

    def sign(self, message: bytes) -> bytes:
        if self.kind == "Ed25519":
            return self.key.sign(message)
        r, s = decode_dss_signature(self.key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def register(self, h, token, label="My phone"):
        ch = h.client.post("/api/v1/me/devices/challenge", headers=h.bearer(token))
        assert ch.status_code == 200, ch.json
        challenge = unb64(ch.json["challenge"])
        sig = self.sign(b"perkpass-device-registration\x00" + challenge + self.public)
        return h.client.post("/api/v1/me/devices", headers=h.bearer(token), json={
            "algorithm": self.kind, "public_key": b64(self.public), "challenge": ch.json["challenge"],
            "signature": b64(sig), "label": label})


@pytest.fixture(params=["Ed25519", "P-256"])
def phone(request):
    return Phone(request.param)


def _certs(h, token, device_id):
    r = h.client.post(f"/api/v1/me/devices/{device_id}/certificates", headers=h.bearer(token))
    assert r.status_code == 200, r.json
    return r.json


def test_register_certify_present_offline_and_grant(h, phone):
    token = h.citizen(PHONE, {"moli": 713})
    r = phone.register(h, token)
    assert r.status_code == 201, r.json
    dev = r.json
    assert dev["algorithm"] == phone.kind and dev["id"].startswith("hd_")
    out = _certs(h, token, dev["id"])
    assert abs(out["server_time"] - time.time()) < 5 and out["presentation_window"] == 60
    by_aud = {c["audience"]: c for c in out["certificates"]}
    assert set(by_aud) == {"gov-office", "metro"}
    metro = by_aud["metro"]
    assert [p["code"] for p in metro["perks"]] == ["MOLI-METRO20"] and metro["perks"][0]["title"]["zh-CN"]
    assert metro["not_after"] - metro["not_before"] == 86_400
    # what the phone receives, and so the QR, says perks, place and time: no score, no band, no citizen id
    assert set(metro) == {"cert_id", "audience", "scheme", "perks", "not_before", "not_after", "renew_after",
                          "certificate"}
    parsed, rest = pp2.parse_certificate(unb64(metro["certificate"]))
    assert rest == b"" and parsed.band is None and parsed.perks == ("MOLI-METRO20",)
    assert len(parsed.body) - len(parsed.device_key) < 64  # header, times, id, and the short claims block only
    code = pp2.sign_presentation(unb64(metro["certificate"]), phone.key, time.time())
    d = Verifier(h.trust_store(), "metro").verify(code)
    assert d.status is Status.GRANTED and d.pseudonym == metro["cert_id"]
    # asking again while the certificate is young hands out the same one; the id is not the PP1 pseudonym
    again = {c["audience"]: c for c in _certs(h, token, dev["id"])["certificates"]}
    assert again["metro"]["cert_id"] == metro["cert_id"]
    assert metro["cert_id"] != Verifier(h.trust_store(), "metro").verify(h.issue(token, "metro")["qr_text"]).pseudonym


def test_certificates_are_fresh_per_device_and_unlinkable(h):
    token = h.citizen(PHONE, {"moli": 713})
    a, b = Phone("Ed25519"), Phone("P-256")
    ida, idb = a.register(h, token).json["id"], b.register(h, token, "Tablet").json["id"]
    ca = {c["audience"]: c["cert_id"] for c in _certs(h, token, ida)["certificates"]}
    cb = {c["audience"]: c["cert_id"] for c in _certs(h, token, idb)["certificates"]}
    assert not set(ca.values()) & set(cb.values())
    listed = h.client.get("/api/v1/me/devices", headers=h.bearer(token)).json
    assert [d["label"] for d in listed["devices"]] == ["My phone", "Tablet"] and listed["max_devices"] == 5


def test_proof_of_possession_is_required(h):
    token = h.citizen(PHONE, {"moli": 713})
    phone, thief = Phone("Ed25519"), Phone("Ed25519")
    ch = h.client.post("/api/v1/me/devices/challenge", headers=h.bearer(token)).json["challenge"]
    bad = thief.sign(b"perkpass-device-registration\x00" + unb64(ch) + phone.public)
    r = h.client.post("/api/v1/me/devices", headers=h.bearer(token), json={
        "algorithm": "Ed25519", "public_key": b64(phone.public), "challenge": ch, "signature": b64(bad), "label": "x"})
    assert r.status_code == 400 and r.json["error"]["code"] == "proof_invalid"
    # the challenge was spent by that attempt
    good = phone.sign(b"perkpass-device-registration\x00" + unb64(ch) + phone.public)
    r = h.client.post("/api/v1/me/devices", headers=h.bearer(token), json={
        "algorithm": "Ed25519", "public_key": b64(phone.public), "challenge": ch, "signature": b64(good), "label": "x"})
    assert r.status_code == 400 and r.json["error"]["code"] == "challenge_invalid"


@pytest.mark.parametrize("body", [
    {"algorithm": "RSA", "public_key": "AAAA", "challenge": "AAAA", "signature": "AAAA", "label": "x"},
    {"algorithm": "Ed25519", "public_key": "AAAA", "challenge": "AAAA", "signature": "AAAA", "label": "x"},
    {"algorithm": "P-256", "public_key": b64(b"\x04" + b"\x01" * 64), "challenge": "AAAA", "signature": "AA",
     "label": "x"},
    {"algorithm": "Ed25519", "public_key": "!!", "challenge": "AAAA", "signature": "AAAA", "label": "x"},
    {"algorithm": "Ed25519", "public_key": b64(b"\x01" * 32), "challenge": "AAAA", "signature": "AAAA", "label": "x",
     "extra": 1},
    {"algorithm": "Ed25519", "public_key": b64(b"\x01" * 32), "challenge": "A", "signature": "AAAAA", "label": "x"},
])
def test_malformed_registrations_get_a_typed_400(h, body):
    token = h.citizen(PHONE, {"moli": 713})
    r = h.client.post("/api/v1/me/devices", headers=h.bearer(token), json=body)
    assert r.status_code == 400 and r.json["error"]["code"] in ("validation_error", "challenge_invalid",
                                                         "device_key_invalid"), r.json


def test_another_citizens_device_is_not_found(h, phone):
    mine = h.citizen(PHONE, {"moli": 713})
    other = h.citizen("+8613900000902", {"moli": 713})
    dev = phone.register(h, mine).json["id"]
    assert h.client.post(f"/api/v1/me/devices/{dev}/certificates", headers=h.bearer(other)).status_code == 404
    assert h.client.delete(f"/api/v1/me/devices/{dev}", headers=h.bearer(other)).status_code == 404
    assert h.client.get("/api/v1/me/devices", headers=h.bearer(other)).json["devices"] == []
    assert h.client.post(f"/api/v1/me/devices/{dev}/certificates").status_code == 401


def test_removed_device_is_revoked_in_the_next_trust_list(h, phone):
    token = h.citizen(PHONE, {"moli": 713})
    dev = phone.register(h, token).json["id"]
    cert = {c["audience"]: c for c in _certs(h, token, dev)["certificates"]}["metro"]
    code = pp2.sign_presentation(unb64(cert["certificate"]), phone.key, time.time())
    old_store = h.trust_store()
    r = h.client.delete(f"/api/v1/me/devices/{dev}", headers=h.bearer(token))
    assert r.status_code == 200 and r.json["certificates_revoked"] == 2
    new_store = h.trust_store()
    assert new_store.sequence > old_store.sequence and cert["cert_id"] in new_store.current.revoked
    assert Verifier(old_store, "metro").verify(code).granted  # a kiosk that has not synced yet
    assert Verifier(new_store, "metro").verify(code).status is Status.REVOKED
    assert h.client.post(f"/api/v1/me/devices/{dev}/certificates", headers=h.bearer(token)).status_code == 404


def test_losing_a_perk_revokes_its_certificate_and_gives_no_new_one(h, app, phone):
    token = h.citizen(PHONE, {"moli": 690})
    dev = phone.register(h, token).json["id"]
    certs = {c["audience"]: c for c in _certs(h, token, dev)["certificates"]}
    assert set(certs) == {"gov-office", "metro"}
    with app.app_context():
        from backend.extensions import db
        from backend.models import Citizen, CitizenScheme
        cid = db.session.query(Citizen.id).join(CitizenScheme).first()[0]
        m = db.session.query(CitizenScheme).filter_by(citizen_id=cid).one()
        m.score = 684  # below the metro threshold (686), still above the gov-office one (683)
        db.session.commit()
    revoked = h.trust_store().current.revoked
    assert certs["metro"]["cert_id"] in revoked and certs["gov-office"]["cert_id"] not in revoked
    now_certs = {c["audience"] for c in _certs(h, token, dev)["certificates"]}
    assert now_certs == {"gov-office"}


def test_pp2_redemptions_in_history_and_gone_after_opt_out(h, phone):
    token = h.citizen(PHONE, {"moli": 713})
    dev = phone.register(h, token).json["id"]
    cert = {c["audience"]: c for c in _certs(h, token, dev)["certificates"]}["metro"]
    code = pp2.sign_presentation(unb64(cert["certificate"]), phone.key, time.time())
    kiosk = h.enrol(h.venue("Metro Line 1 Dongjiekou", "metro"))
    d = Verifier(h.trust_store(), "metro").verify(code)
    assert d.granted
    import uuid
    r = h.client.post("/api/v1/kiosk/redemptions", headers=h.bearer(kiosk["device_token"]), json={"redemptions": [
        {"id": str(uuid.uuid4()), "jti": d.jti, "pseudonym": d.pseudonym, "perk": "MOLI-METRO20",
         "scanned_at": int(time.time())}]})
    assert r.status_code == 200 and r.json["accepted"] == 1, r.json
    hist = h.client.get("/api/v1/me/redemptions", headers=h.bearer(token)).json["redemptions"]
    assert [x["venue"]["name"] for x in hist] == ["Metro Line 1 Dongjiekou"]
    r = h.client.delete("/api/v1/me", headers=h.bearer(token), json={"confirm": True})
    assert r.status_code == 200 and r.json["redemptions_deleted"] == 1
    assert cert["cert_id"] in h.trust_store().current.revoked
    from backend.extensions import db
    from backend.models import HolderDevice, PerkCertificate
    with h.app.app_context():
        assert db.session.query(HolderDevice).count() == 0 and db.session.query(PerkCertificate).count() == 0


def test_device_limit(h, app):
    token = h.citizen(PHONE, {"moli": 713})
    for i in range(5):
        assert Phone("Ed25519").register(h, token, f"d{i}").status_code == 201
    r = Phone("Ed25519").register(h, token, "one too many")
    assert r.status_code == 409 and r.json["error"]["code"] == "too_many_devices"


def test_trust_list_carries_only_unexpired_revocations(h, app):
    with app.app_context():
        from backend.extensions import db
        from backend.models import CertificateRevocation
        from backend.services import trust_list
        now = int(time.time())
        db.session.add_all([CertificateRevocation(cert_id="expiredexpired00", expires_at=now - 1, revoked_at=now - 10),
                            CertificateRevocation(cert_id="livelivelive0000", expires_at=now + 99, revoked_at=now)])
        db.session.commit()
        trust_list.current(now)
    store = h.trust_store()
    assert store.current.revoked == frozenset({"livelivelive0000"})


def test_pp2_uploads_are_checked_against_the_certificate(h, phone):
    """A PP2 redemption names its certificate: the backend checks the venue type, the perk and that the code's
    30 s slot lies inside the certificate's validity and near the scan time; anything else is rejected."""
    import uuid
    token = h.citizen(PHONE, {"moli": 713})
    dev = phone.register(h, token).json["id"]
    certs = {c["audience"]: c for c in _certs(h, token, dev)["certificates"]}
    metro = h.enrol(h.venue("Metro Line 1", "metro"))
    office = h.enrol(h.venue("Gulou service office", "gov-office"))
    now = int(time.time())
    d = Verifier(h.trust_store(), "metro").verify(
        pp2.sign_presentation(unb64(certs["metro"]["certificate"]), phone.key, now))
    assert d.granted and d.pseudonym == certs["metro"]["cert_id"] and d.jti == f"{d.pseudonym}-{now // 30}"
    good = {"id": str(uuid.uuid4()), "jti": d.jti, "pseudonym": d.pseudonym, "perk": "MOLI-METRO20",
            "scanned_at": now}
    cid, slot = d.pseudonym, now // 30
    gov_cid = certs["gov-office"]["cert_id"]
    unknown = "A" * 16 if cid != "A" * 16 else "B" * 16

    def item(**changes):
        return dict(good, id=str(uuid.uuid4()), **changes)

    at_metro = [
        (good, ("accepted", None)),
        (item(pseudonym=gov_cid), ("rejected", "malformed_pseudonym")),        # jti and pseudonym disagree
        (item(jti=f"{unknown}-{slot}", pseudonym=unknown), ("rejected", "unknown_certificate")),
        (item(jti=f"{gov_cid}-{slot}", pseudonym=gov_cid, perk="MOLI-GOV-PRIORITY"), ("rejected", "wrong_audience")),
        (item(perk="OSM-TRANSIT"), ("rejected", "perk_not_certified")),
        (item(jti=f"{cid}-{slot - 4000}"), ("rejected", "outside_certificate_validity")),  # before it was issued
        (item(jti=f"{cid}-{slot + 4000}"), ("rejected", "outside_certificate_validity")),
        (item(jti=f"{cid}-{slot + 60}"), ("rejected", "scan_time_mismatch")),  # a code dated 30 min after its scan
    ]
    r = h.client.post("/api/v1/kiosk/redemptions", headers=h.bearer(metro["device_token"]),
                      json={"redemptions": [i for i, _ in at_metro]})
    assert r.status_code == 200, r.json
    assert [(x["status"], x.get("reason")) for x in r.json["results"]] == [want for _, want in at_metro]
    # the metro certificate used at the government office kiosk
    r = h.client.post("/api/v1/kiosk/redemptions", headers=h.bearer(office["device_token"]),
                      json={"redemptions": [item()]})
    assert [(x["status"], x.get("reason")) for x in r.json["results"]] == [("rejected", "wrong_audience")]
    hist = h.client.get("/api/v1/me/redemptions", headers=h.bearer(token)).json["redemptions"]
    assert [x["id"] for x in hist] == [good["id"]]


def _degenerate_keys():
    from partner_sdk import keyprofile
    from tests.sdk.test_keyprofile import _mixed_order, _non_canonical_on_curve, _off_curve, _p256_variants
    keys = [("Ed25519", f"small_order_{r.hex()[:6]}", r) for r in sorted(keyprofile.SMALL_ORDER_ED25519)]
    keys += [("Ed25519", "non_canonical", r) for r in _non_canonical_on_curve()[:2]]
    keys += [("Ed25519", "off_curve", _off_curve()), ("Ed25519", "mixed_order", _mixed_order(Ed25519PrivateKey.generate()))]
    keys += [("P-256", name, raw) for name, raw in _p256_variants()]
    p = Phone("P-256").public
    keys += [("P-256", "compressed", bytes([2 + (p[-1] & 1)]) + p[1:33])]
    return keys


@pytest.mark.parametrize("algorithm,name,raw", _degenerate_keys(), ids=lambda v: v if isinstance(v, str) else "")
def test_registration_refuses_every_degenerate_key_class_and_stores_nothing(h, algorithm, name, raw):
    """Issue 18.1: with a small-order key the proof of possession itself can be forged (R = identity, S = 0),
    so the key must be refused before any signature is looked at, with a reason, and nothing kept."""
    token = h.citizen(PHONE, {"moli": 713})
    ch = h.client.post("/api/v1/me/devices/challenge", headers=h.bearer(token)).json["challenge"]
    forged = bytes([1]) + bytes(63)
    r = h.client.post("/api/v1/me/devices", headers=h.bearer(token), json={
        "algorithm": algorithm, "public_key": b64(raw), "challenge": ch, "signature": b64(forged), "label": "x"})
    assert r.status_code == 400, (name, r.json)
    assert r.json["error"]["code"] == "device_key_invalid" and r.json["error"]["fields"]["public_key"], r.json
    assert h.client.get("/api/v1/me/devices", headers=h.bearer(token)).json["devices"] == []
    # the challenge was not spent on a refused key: a genuine phone registers with it
    good = Phone(algorithm)
    sig = good.sign(b"perkpass-device-registration\x00" + unb64(ch) + good.public)
    r = h.client.post("/api/v1/me/devices", headers=h.bearer(token), json={
        "algorithm": algorithm, "public_key": b64(good.public), "challenge": ch, "signature": b64(sig), "label": "x"})
    assert r.status_code == 201, r.json


def test_a_degenerate_key_registered_before_the_profile_gets_no_certificate(h, app):
    """A device stored before issue 18.1 with a small-order key: its live certificates are withdrawn and
    renewal answers a clear 400 telling the citizen what to do, never a 500."""
    from backend.extensions import db
    from backend.models import HolderDevice
    token = h.citizen(PHONE, {"moli": 713})
    dev = Phone("Ed25519").register(h, token).json["id"]
    assert _certs(h, token, dev)["certificates"]
    with app.app_context():
        row = db.session.query(HolderDevice).filter_by(public_id=dev).one()
        row.public_key = b64(bytes([1]) + bytes(31))
        db.session.commit()
    r = h.client.post(f"/api/v1/me/devices/{dev}/certificates", headers=h.bearer(token))
    assert r.status_code == 400 and r.json["error"]["code"] == "device_key_invalid", r.json
    assert "remove" in r.json["error"]["message"]
    assert h.trust_store().current.revoked  # the withdrawn certificates are on the next trust list
