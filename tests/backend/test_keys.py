"""Key management: encrypted at rest, publish-before-sign rotation, graceful retirement, all checked
with the real SDK verifier."""
import time

import pytest

from partner_sdk import Status, TrustStore, Verifier

from backend.extensions import db
from backend.models import IssuerSecret, SigningKey
from backend.services import keys as key_service

CITIZEN = "+8613900000901"


def _store(client):
    root = client.get("/api/v1/trust-root").json["root_public_key"]
    s = TrustStore(root)
    s.load_bytes(client.get("/api/v1/trust-list").data)
    return s


def _kid(s: TrustStore, qr: str, audience="metro") -> str:
    return Verifier(s, audience=audience).verify(qr).to_dict()["kid"]


def test_rotation_old_codes_still_verify_new_codes_verify_with_new_list(h, client, runner):
    token = h.citizen(CITIZEN, {"moli": 713})
    before_store = _store(client)
    old_qr = h.issue(token, "metro")["qr_text"]
    old_kid = _kid(before_store, old_qr)
    res = runner.invoke(args=["keys", "rotate", "--now"])
    assert res.exit_code == 0, res.output
    new_qr = h.issue(token, "metro")["qr_text"]
    after_store = _store(client)
    assert after_store.sequence > before_store.sequence
    # a code issued before the rotation still verifies with the trust list fetched after it
    d_old = Verifier(after_store, audience="metro").verify(old_qr)
    assert d_old.status is Status.GRANTED
    # a code issued after verifies with the trust list fetched after, and is signed by the new key
    d_new = Verifier(after_store, audience="metro").verify(new_qr)
    assert d_new.status is Status.GRANTED and d_new.to_dict()["kid"] != old_kid
    # a verifier still holding the old list does not know the new key (why we publish before signing)
    assert Verifier(before_store, audience="metro").verify(new_qr).status is Status.UNKNOWN_KEY
    states = {k["kid"]: k["state"] for k in key_service.listing(int(time.time()))}
    assert states[old_kid] == "retiring" and states[d_new.to_dict()["kid"]] == "active"
    res = runner.invoke(args=["keys", "list"])
    assert old_kid in res.output and "retiring" in res.output and "root" in res.output


def test_new_key_published_before_it_signs(h, client, runner):
    token = h.citizen(CITIZEN, {"moli": 713})
    old_kid = _kid(_store(client), h.issue(token, "metro")["qr_text"])
    res = runner.invoke(args=["keys", "rotate", "--activate-in", "3600"])
    assert res.exit_code == 0, res.output
    pending = [k for k in key_service.listing(int(time.time())) if k["state"] == "pending"]
    assert len(pending) == 1
    store = _store(client)
    assert store.key(pending[0]["kid"]) is not None  # published already
    assert pending[0]["kid"] in [k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]]
    # ... but the old key keeps signing until the activation time
    assert _kid(store, h.issue(token, "metro")["qr_text"]) == old_kid
    # at activation time the new key signs: simulate the clock by moving the activation into the past
    row = db.session.scalars(db.select(SigningKey).where(SigningKey.kid == pending[0]["kid"])).one()
    old = db.session.scalars(db.select(SigningKey).where(SigningKey.kid == old_kid)).one()
    shift = row.activates_at - int(time.time()) + 1
    row.activates_at -= shift
    old.signs_until -= shift
    old.not_after -= shift
    db.session.commit()
    key_service.invalidate_cache()
    assert _kid(_store(client), h.issue(token, "metro")["qr_text"]) == pending[0]["kid"]


def test_retire_keeps_key_published_until_credentials_expired(h, client, runner):
    token = h.citizen(CITIZEN, {"moli": 713})
    old_qr = h.issue(token, "metro")["qr_text"]
    old_kid = _kid(_store(client), old_qr)
    res = runner.invoke(args=["keys", "retire", old_kid])
    assert res.exit_code != 0 and "only key" in res.output
    assert runner.invoke(args=["keys", "rotate", "--now"]).exit_code == 0
    res = runner.invoke(args=["keys", "retire", old_kid])
    assert res.exit_code == 0, res.output
    store = _store(client)
    assert store.key(old_kid) is not None
    assert Verifier(store, audience="metro").verify(old_qr).status is Status.GRANTED
    row = db.session.scalars(db.select(SigningKey).where(SigningKey.kid == old_kid)).one()
    assert row.not_after >= row.signs_until + 90  # credential lifetime
    # once its credentials have expired it drops out of the trust list
    row.not_after = int(time.time()) - 1
    db.session.commit()
    key_service.invalidate_cache()
    assert _store(client).key(old_kid) is None
    assert old_kid not in [k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]]


def test_compromised_key_dropped_at_once(h, client, runner):
    token = h.citizen(CITIZEN, {"moli": 713})
    old_qr = h.issue(token, "metro")["qr_text"]
    old_kid = _kid(_store(client), old_qr)
    assert runner.invoke(args=["keys", "rotate", "--now"]).exit_code == 0
    assert runner.invoke(args=["keys", "retire", old_kid, "--compromised"]).exit_code == 0
    assert Verifier(_store(client), audience="metro").verify(old_qr).status is Status.UNKNOWN_KEY


def test_operator_api_rotation(h, client):
    r = client.post("/api/v1/operator/keys/rotate", json={"activate_in": 0}, headers=h.op())
    assert r.status_code == 201 and r.json["state"] == "active"
    keys = client.get("/api/v1/operator/keys", headers=h.op()).json["keys"]
    assert sum(k["role"] == "root" for k in keys) == 1
    assert sum(k["state"] == "active" for k in keys) == 1


def test_keys_encrypted_at_rest_and_root_separate(app, client):
    from cryptography.hazmat.primitives import serialization
    rows = db.session.scalars(db.select(SigningKey)).all()
    assert {r.role for r in rows} == {"root", "signing"}
    for r in rows:
        priv = key_service.private_key(r)
        raw = priv.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        import base64
        for form in (raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="), raw.hex().encode()):
            assert form.decode("latin-1") not in r.encrypted_private
        assert r.encrypted_private.startswith("scrypt-aesgcm-v1$")
    for s in db.session.scalars(db.select(IssuerSecret)):
        assert s.encrypted_value.startswith("scrypt-aesgcm-v1$")
    # the trust list is signed by the root key, which signs no credential
    root = next(r for r in rows if r.role == "root")
    jwk = client.get("/api/v1/trust-root").json["root_public_key"]
    assert jwk["x"] == root.public_x
    assert root.kid not in [k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]]


def test_wrong_passphrase_cannot_load_keys(app):
    from backend.services.crypto import DecryptionError, decrypt
    row = db.session.scalars(db.select(SigningKey).where(SigningKey.role == "signing")).first()
    with pytest.raises(DecryptionError):
        decrypt("not the passphrase", row.encrypted_private, aad=row.kid.encode())
    with pytest.raises(DecryptionError):
        decrypt(app.config["PERKPASS_KEY_PASSPHRASE"], row.encrypted_private, aad=b"another-kid")


def test_two_workers_trust_list_never_lags_a_rotation(make_app):
    """Two app instances on one database stand for two gunicorn workers with warm key caches."""
    from tests.backend.conftest import Helper
    w1 = make_app(PERKPASS_KEY_CACHE_SECONDS=60.0)
    w2 = make_app(PERKPASS_KEY_CACHE_SECONDS=60.0)
    with w1.app_context():
        h1 = Helper(w1, w1.test_client())
        token = h1.citizen(CITIZEN, {"moli": 713})
        h1.issue(token, "metro")  # warms w1's key cache
    with w2.app_context():
        h2 = Helper(w2, w2.test_client())
        before = _store(h2.client)
        h2.issue(token, "metro")  # warms w2's key cache
    with w1.app_context():
        new_kid = key_service.rotate(int(time.time()), 0).kid
    with w2.app_context():
        after = _store(h2.client)  # served by the other worker right after the rotation
        assert after.key(new_kid) is not None and after.sequence > before.sequence
        qr = h2.issue(token, "metro")["qr_text"]  # may still be signed by the old key: it is published
        assert Verifier(after, audience="metro").verify(qr).status is Status.GRANTED
    with w1.app_context():
        qr = h1.issue(token, "metro")["qr_text"]
        d = Verifier(after, audience="metro").verify(qr)
        assert d.status is Status.GRANTED and d.to_dict()["kid"] == new_kid


def test_pending_key_overtaken_by_an_immediate_rotation(h, client, runner):
    assert runner.invoke(args=["keys", "rotate", "--activate-in", "3600"]).exit_code == 0
    pending = [k["kid"] for k in key_service.listing(int(time.time())) if k["state"] == "pending"][0]
    assert _store(client).key(pending) is not None
    assert runner.invoke(args=["keys", "rotate", "--now"]).exit_code == 0
    states = {k["kid"]: k for k in key_service.listing(int(time.time()))}
    assert states[pending]["published"] is False  # never signed anything: dropped at once
    assert _store(client).key(pending) is None
    assert sum(k["state"] == "active" for k in states.values()) == 1


def _key_whose_kid_starts_with_dash():
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from partner_sdk.keys import jwk_thumbprint

    for i in range(10_000):
        key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"dash%d" % i).digest())
        if jwk_thumbprint(key).startswith("-"):
            return key
    raise AssertionError("no dash-led thumbprint in 10k seeds")


def test_new_key_ids_can_be_typed_on_a_command_line(h, client, runner, monkeypatch):
    # One thumbprint in 64 starts with "-", which click reads as an option: `keys retire -Uab…`
    # failed in CI. Rotation must draw another key instead of minting such a kid.
    from partner_sdk.keys import generate_key

    dash_key = _key_whose_kid_starts_with_dash()
    drawn = iter([dash_key])
    monkeypatch.setattr(key_service, "generate_key", lambda: next(drawn, None) or generate_key())
    assert runner.invoke(args=["keys", "rotate", "--now"]).exit_code == 0
    kids = [row.kid for row in db.session.scalars(db.select(SigningKey)).all()]
    assert kids and not any(k.startswith("-") for k in kids)
    assert next(drawn, None) is None  # the dash-led key was drawn and refused
    newest = db.session.scalars(db.select(SigningKey).where(SigningKey.role == "signing")
                                .order_by(SigningKey.id.desc())).first()
    res = runner.invoke(args=["keys", "retire", newest.kid])
    assert "No such option" not in res.output


def test_remembered_signing_key_changes_exactly_at_activation(h, client, runner):
    # current_signing_key remembers its choice between key-table reads; the remembered choice must
    # still switch at the new key's activation second, with no cache invalidation.
    now = int(time.time())
    old = key_service.current_signing_key(now)
    assert runner.invoke(args=["keys", "rotate", "--activate-in", "3600"]).exit_code == 0  # published now, signs later
    key_service.invalidate_cache()
    pending = [r for r in key_service._rows() if r.activates_at > now]
    assert len(pending) == 1
    at = pending[0].activates_at
    assert key_service.current_signing_key(now).kid == old.kid
    assert key_service.current_signing_key(at - 1).kid == old.kid
    assert key_service.current_signing_key(at).kid == pending[0].kid
    assert key_service.current_signing_key(at - 1).kid == old.kid  # a clock set back is answered too
