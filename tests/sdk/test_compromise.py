"""Issue 13.8 in the SDK: a compromised signing key is listed with ``revoked_at``; from that instant every
code or PP2 certificate it signed is refused as REVOKED, even one whose iat a thief has backdated."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from partner_sdk import Status, TrustedKey, TrustListError, TrustStore, Verifier, pp2
from partner_sdk.keys import generate_key

from .conftest import T0

X = T0 + 3600  # the instant from which the key is no longer to be believed


@pytest.fixture
def emergency(issuer):
    """Before: the old key alone. After: the emergency list, the old key marked, a new key signing."""
    old = issuer.trusted_keys()[0]
    new_key = generate_key()
    store = issuer.trust_store(now=T0)
    marked = TrustedKey(old.kid, old.public_key, old.not_before, old.not_after, revoked_at=X)
    fresh = TrustedKey("key-2", new_key.public_key(), X, X + 90 * 86_400)
    store.load_bytes(issuer.trust_list(X, sequence=2, keys=[marked, fresh]), now=X)
    return store, new_key


def test_codes_of_the_compromised_key_are_refused_from_the_instant_on_whatever_their_iat(issuer, emergency):
    store, _ = emergency
    v = Verifier(store, "metro")
    honest = issuer.credential("metro", ["MOLI-METRO20"], now=X - 30)
    assert Verifier(store, "metro").verify(honest.qr_text, now=X - 20).granted  # before the instant: believed
    d = v.verify(honest.qr_text, now=X)
    assert d.status is Status.REVOKED and not d.granted and "withdrawn" in d.message.lower() + d.detail
    backdated = issuer.credential("metro", ["MOLI-METRO20"], now=X - 60)  # minted by a thief after X
    assert v.verify(backdated.qr_text, now=X + 1).status is Status.REVOKED
    assert v.verify(issuer.credential("metro", ["MOLI-METRO20"], now=X + 5).qr_text, now=X + 6).status is Status.REVOKED


def test_codes_of_the_new_key_are_granted(issuer, emergency):
    store, new_key = emergency
    code = issuer.credential("metro", ["MOLI-METRO20"], now=X + 5, signing_key=new_key, kid="key-2")
    assert Verifier(store, "metro").verify(code.qr_text, now=X + 6).granted


def test_pp2_certificates_of_the_compromised_key_are_refused(issuer, emergency):
    store, new_key = emergency
    device = Ed25519PrivateKey.generate()
    cert = issuer.certificate("metro", ["MOLI-METRO20"], device.public_key(), now=X - 86_400)
    code = pp2.sign_presentation(cert.raw, device, X + 10)
    assert Verifier(store, "metro").verify(code, now=X + 11).status is Status.REVOKED
    renewed = issuer.certificate("metro", ["MOLI-METRO20"], device.public_key(), now=X + 20,
                                 signing_key=new_key, kid="key-2")
    assert Verifier(store, "metro").verify(pp2.sign_presentation(renewed.raw, device, X + 40), now=X + 41).granted


def test_revoked_at_survives_the_trust_list_round_trip_and_must_be_an_integer(issuer):
    old = issuer.trusted_keys()[0]
    marked = TrustedKey(old.kid, old.public_key, old.not_before, old.not_after, revoked_at=X)
    store = TrustStore(issuer.root_public_jwk)
    store.load_bytes(issuer.trust_list(T0, keys=[marked]), now=T0)
    assert store.key(old.kid).revoked_at == X
    bad = marked.to_jwk() | {"revoked_at": "soon"}
    from tests.sdk.test_hardening import _payload, _signed_list
    with pytest.raises(TrustListError):
        TrustStore(issuer.root_public_jwk).load_bytes(_signed_list(issuer, _payload(issuer, keys=[bad])), now=T0)
