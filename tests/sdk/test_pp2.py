"""PP2 holder-bound codes: certificate + offline presentation, every refusal typed, nothing raises."""

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings, strategies as st

from partner_sdk import Status, TrustStore, Verifier
from partner_sdk.format import qr_version_m
from partner_sdk import format as fmt
from partner_sdk import pp2
from partner_sdk.errors import IssuanceError, TrustListError
from partner_sdk.testing import TestIssuer, derived_key

from .conftest import T0

DEVICE_KEYS = {
    "ed25519": lambda: Ed25519PrivateKey.generate(),
    "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
}


@pytest.fixture(params=sorted(DEVICE_KEYS))
def device(request):
    return DEVICE_KEYS[request.param]()


def _cert(issuer, device, audience="metro", perks=("MOLI-METRO20",), now=T0, **kw):
    return issuer.certificate(audience, list(perks), device.public_key(), now=now, **kw)


def test_granted_with_no_stable_identifier(issuer, store, device):
    cert = _cert(issuer, device)
    code = pp2.sign_presentation(cert.raw, device, T0 + 100)
    assert code.startswith("PP2") and code[3:].isdigit()
    d = Verifier(store, "metro").verify(code, now=T0 + 101)
    assert d.status is Status.GRANTED and d.perks == ("MOLI-METRO20",) and d.scheme == "moli"
    assert d.pseudonym == cert.cert_id and d.jti == f"{cert.cert_id}-{(T0 + 100) // 30}"
    assert d.expires_at == cert.not_after and d.issued_at == T0 + 100
    # a second certificate for the same device and venue type shares nothing with the first
    other = _cert(issuer, device)
    assert other.cert_id != cert.cert_id


def test_hid_scanner_case_and_whitespace(issuer, store, device):
    code = pp2.sign_presentation(_cert(issuer, device).raw, device, T0)
    assert Verifier(store, "metro").verify("  pp2" + code[3:] + "\r\n", now=T0).granted


def test_one_grant_per_certificate_for_the_reuse_interval(issuer, store, device):
    cert = _cert(issuer, device)
    v = Verifier(store, "metro")
    assert v.reuse_interval == 130  # 2 x (window 60 s + leeway 5 s)
    first = pp2.sign_presentation(cert.raw, device, T0 + 5)
    assert v.verify(first, now=T0 + 6).granted
    assert v.verify(first, now=T0 + 20).status is Status.REPLAYED
    # a fresh presentation in a later slot is the same certificate: refused until the interval has passed
    later = pp2.sign_presentation(cert.raw, device, T0 + 75)
    again = v.verify(later, now=T0 + 76)
    assert again.status is Status.REPLAYED and "already" in again.message.lower() and "130 s" in again.detail
    assert v.verify(pp2.sign_presentation(cert.raw, device, T0 + 136), now=T0 + 136).granted
    assert v.verify(first, now=T0 + 300).status is Status.CLOCK_SKEW


@pytest.mark.parametrize("window", [60, 300])
def test_presentations_signed_for_every_slot_yield_one_grant(issuer, store, device, window):
    """Issue 18.2: a holder signs a presentation dated into every slot a gate accepts, and hands them to
    friends at one gate at one moment: exactly one is granted (it used to be 5, or 21 at a 300 s window)."""
    cert = _cert(issuer, device, now=T0 - 3600)
    v = Verifier(store, "metro", presentation_window=window)
    codes = [pp2.sign_presentation(cert.raw, device, T0 + dt) for dt in range(-window, window + 1, 15)]
    statuses = [v.verify(c, now=T0).status for c in codes]
    assert statuses.count(Status.GRANTED) == 1 and set(statuses) == {Status.GRANTED, Status.REPLAYED}
    # each of them, tried again at any later moment while it is still inside the window, is refused too
    for t in range(T0 + 1, T0 + window + 6, 7):
        assert not any(v.verify(c, now=t).granted for c in codes)


def test_reuse_interval_is_per_perk_and_never_below_the_window(issuer, store, device):
    cert = _cert(issuer, device, perks=("MOLI-GOV-ASSIST", "MOLI-GOV-EXPRESS"), audience="gov-office")
    v = Verifier(store, "gov-office")
    assert v.verify(pp2.sign_presentation(cert.raw, device, T0), perk="MOLI-GOV-ASSIST", now=T0).granted
    assert v.verify(pp2.sign_presentation(cert.raw, device, T0), perk="MOLI-GOV-EXPRESS", now=T0).granted
    assert v.verify(pp2.sign_presentation(cert.raw, device, T0 + 30), perk="MOLI-GOV-ASSIST",
                    now=T0 + 30).status is Status.REPLAYED
    day = Verifier(store, "gov-office", reuse_interval=86_400)
    assert day.verify(pp2.sign_presentation(cert.raw, device, T0), perk="MOLI-GOV-ASSIST", now=T0).granted
    assert not day.verify(pp2.sign_presentation(cert.raw, device, T0 + 7200), perk="MOLI-GOV-ASSIST",
                          now=T0 + 7200).granted
    for bad in (129, 0, -1, 32 * 86_400, 130.5):
        with pytest.raises(ValueError):
            Verifier(store, "metro", reuse_interval=bad)
    assert Verifier(store, "metro", presentation_window=300).reuse_interval == 610


def test_presentation_window_and_clock_message(issuer, store, device):
    cert = _cert(issuer, device, now=T0 - 3600)
    v = Verifier(store, "metro", leeway=0)
    assert v.verify(pp2.sign_presentation(cert.raw, device, T0 - 60), now=T0).granted
    fast = Verifier(store, "metro", leeway=0).verify(pp2.sign_presentation(cert.raw, device, T0 + 61), now=T0)
    slow = Verifier(store, "metro", leeway=0).verify(pp2.sign_presentation(cert.raw, device, T0 - 61), now=T0)
    assert fast.status is slow.status is Status.CLOCK_SKEW
    assert "clock" in fast.message.lower() and "时间" in fast.message_zh
    wide = Verifier(store, "metro", leeway=0, presentation_window=120)
    assert wide.verify(pp2.sign_presentation(cert.raw, device, T0 - 110), now=T0).granted
    with pytest.raises(ValueError):
        Verifier(store, "metro", presentation_window=10_000)


def test_certificate_validity(issuer, store, device):
    cert = _cert(issuer, device, lifetime=3600)
    v = Verifier(store, "metro", leeway=5)
    early = v.verify(pp2.sign_presentation(cert.raw, device, T0 - 30), now=T0 - 30)
    assert early.status is Status.NOT_YET_VALID
    late = v.verify(pp2.sign_presentation(cert.raw, device, T0 + 3605), now=T0 + 3605)
    assert late.status is Status.EXPIRED and "renew" in late.detail


def test_lifetime_over_the_maximum_is_refused_by_issuer_and_verifier(issuer, store, device):
    with pytest.raises(IssuanceError):
        _cert(issuer, device, lifetime=pp2.MAX_CERT_LIFETIME + 1)
    # a forged long certificate, correctly signed with the issuer key, is still refused by the verifier
    cert = _cert(issuer, device, lifetime=3600)
    body = bytearray(cert.raw[:-64])
    body[13:17] = (T0 + pp2.MAX_CERT_LIFETIME + 1).to_bytes(4, "big")
    sig = issuer.signing_key.sign(pp2.cert_signed_input(issuer.issuer, bytes(body)))
    code = pp2.sign_presentation(bytes(body) + sig, device, T0)
    d = Verifier(store, "metro").verify(code, now=T0)
    assert d.status is Status.MALFORMED and "lifetime" in d.detail


def test_other_issuer_key_and_other_issuer(issuer, store, device):
    rogue = issuer.certificate("metro", ["MOLI-METRO20"], device.public_key(), now=T0,
                               signing_key=derived_key(b"rogue", "k"))
    d = Verifier(store, "metro").verify(pp2.sign_presentation(rogue.raw, device, T0), now=T0)
    assert d.status is Status.BAD_SIGNATURE
    unknown = issuer.certificate("metro", ["MOLI-METRO20"], device.public_key(), now=T0,
                                 signing_key=derived_key(b"rogue", "k"), kid="rogue-key")
    assert Verifier(store, "metro").verify(pp2.sign_presentation(unknown.raw, device, T0), now=T0).status \
        is Status.UNKNOWN_KEY
    other_city = issuer.certificate("metro", ["MOLI-METRO20"], device.public_key(), now=T0, issuer="perkpass.xiamen")
    assert Verifier(store, "metro").verify(pp2.sign_presentation(other_city.raw, device, T0), now=T0).status \
        is Status.BAD_SIGNATURE


def test_presentation_signed_by_another_device(issuer, store, device):
    cert = _cert(issuer, device)
    thief = Ed25519PrivateKey.generate() if isinstance(device, Ed25519PrivateKey) else \
        ec.generate_private_key(ec.SECP256R1())
    d = Verifier(store, "metro").verify(pp2.sign_presentation(cert.raw, thief, T0), now=T0)
    assert d.status is Status.BAD_SIGNATURE and "device" in d.detail


def test_spliced_certificate_and_presentation(issuer, store, device):
    a, b = _cert(issuer, device), _cert(issuer, device)
    pa = fmt.digits_to_bytes(pp2.sign_presentation(a.raw, device, T0)[3:])
    pb = fmt.digits_to_bytes(pp2.sign_presentation(b.raw, device, T0)[3:])
    spliced = pp2.pack_qr_text(a.raw + pb[len(b.raw):])  # a's certificate, b's presentation signature
    assert Verifier(store, "metro").verify(spliced, now=T0).status is Status.BAD_SIGNATURE
    # the presentation time is signed too
    moved = pp2.pack_qr_text(pa[:len(a.raw)] + (T0 + 1).to_bytes(4, "big") + pa[len(a.raw) + 4:])
    assert Verifier(store, "metro").verify(moved, now=T0).status is Status.BAD_SIGNATURE


def test_other_audience_and_not_entitled(issuer, store, device):
    cert = _cert(issuer, device, audience="gov-office", perks=("MOLI-GOV-PRIORITY", "MOLI-GOV-ASSIST"))
    code = pp2.sign_presentation(cert.raw, device, T0)
    assert Verifier(store, "metro").verify(code, now=T0).status is Status.WRONG_AUDIENCE
    v = Verifier(store, "gov-office")
    assert v.verify(code, perk="MOLI-GOV-EXPRESS", now=T0).status is Status.NOT_ENTITLED
    assert v.verify(code, perk="MOLI-GOV-ASSIST", now=T0).granted


def test_revoked_certificate_refused_by_a_verifier_with_the_newer_list(issuer, device):
    cert = _cert(issuer, device)
    code = pp2.sign_presentation(cert.raw, device, T0 + 10)
    store = TrustStore(issuer.root_public_jwk)
    store.load_bytes(issuer.trust_list(now=T0, sequence=1), now=T0)
    assert Verifier(store, "metro").verify(code, now=T0 + 10).granted
    store.load_bytes(issuer.trust_list(now=T0 + 5, sequence=2, revoked=[cert.cert_id]), now=T0 + 5)
    assert store.current.revoked == frozenset({cert.cert_id})
    d = Verifier(store, "metro").verify(code, now=T0 + 10)
    assert d.status is Status.REVOKED and d.message


def test_trust_list_with_malformed_revocations_is_refused(issuer):
    with pytest.raises(TrustListError):
        issuer.trust_list(now=T0, revoked=["not an id!"])


def test_sizes_fit_the_qr_budget(issuer, device):
    sizes = {}
    for n, (aud, perks) in {1: ("metro", ["MOLI-METRO20"]),
                            3: ("gov-office", ["MOLI-GOV-PRIORITY", "MOLI-GOV-ASSIST", "MOLI-GOV-EXPRESS"]),
                            6: ("library", ["BAILU-LIB-NODEPOSIT", "BAILU-LIB-PRIORITY", "OSM-LIB-LONGLOAN",
                                            "LIB-NEW-PERK-A", "LIB-NEW-PERK-B", "LIB-NEW-PERK-C"])}.items():
        cert = issuer.certificate(aud, perks, device.public_key(), now=T0, scheme="moli")
        sizes[n] = qr_version_m(pp2.sign_presentation(cert.raw, device, T0))
    assert sizes[3] <= 11 and sizes[6] <= 12, sizes


@pytest.mark.parametrize("text", ["PP2", "PP2 ", "PP20", "PP2" + "9" * 700, "PP2" + "1" * 20, "pp2abc",
                                  "PP2" + "1" * 1600, "PP2١٢٣"])
def test_garbage_digits_are_malformed(store, text):
    d = Verifier(store, "metro").verify(text, now=T0)
    assert d.status is Status.MALFORMED and not d.detail.startswith("internal")


def test_truncated_and_oversized(issuer, store, device):
    code = pp2.sign_presentation(_cert(issuer, device).raw, device, T0)
    data = fmt.digits_to_bytes(code[3:])
    v = Verifier(store, "metro")
    for bad in (data[:-1], data[:40], data + b"\x00", data[:-64], data + data):
        d = v.verify(pp2.pack_qr_text(bad), now=T0)
        assert d.status is Status.MALFORMED and not d.detail.startswith("internal"), d


def test_invalid_device_point_is_malformed(issuer, store):
    device = ec.generate_private_key(ec.SECP256R1())
    cert = _cert(issuer, device)
    body = bytearray(cert.raw[:-64])
    body[29:94] = b"\x04" + b"\xff" * 64  # not on the curve
    sig = issuer.signing_key.sign(pp2.cert_signed_input(issuer.issuer, bytes(body)))
    code = pp2.pack_qr_text(bytes(body) + sig + T0.to_bytes(4, "big") + b"\x01" * 64)
    assert Verifier(store, "metro").verify(code, now=T0).status is Status.MALFORMED


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_fuzz_pp2_bytes_never_raise_never_grant(store, data):
    d = Verifier(store, "metro").verify(pp2.pack_qr_text(data), now=T0)
    assert not d.granted and not d.detail.startswith("internal")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_mutated_genuine_codes(issuer, store, data):
    device = derived_key(b"fuzz", "device")
    cert = issuer.certificate("gov-office", ["MOLI-GOV-ASSIST", "MOLI-GOV-EXPRESS"], device.public_key(), now=T0)
    raw = bytearray(fmt.digits_to_bytes(pp2.sign_presentation(cert.raw, device, T0)[3:]))
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= data.draw(st.integers(1, 255))
    d = Verifier(store, "gov-office").verify(pp2.pack_qr_text(bytes(raw)), now=T0)
    assert not d.granted and not d.detail.startswith("internal")


def test_issuer_refuses_what_the_format_does_not_allow(issuer, device):
    with pytest.raises(IssuanceError):
        _cert(issuer, device, perks=())
    with pytest.raises(IssuanceError):
        issuer.certificate("metro", ["MOLI-METRO20"], ec.generate_private_key(ec.SECP384R1()).public_key(), now=T0)
    with pytest.raises(IssuanceError):
        _cert(issuer, device, audience="Metro!")


def test_vectors_of_other_issuer_reuse_the_same_parser():
    # the certificate id of a parsed certificate round-trips through the transport
    iss = TestIssuer()
    dk = derived_key(b"vec", "device")
    cert = iss.certificate("metro", ["MOLI-METRO20"], dk.public_key(), now=T0, cert_id=b"\x00" * 12)
    p = pp2.parse_qr_text(pp2.sign_presentation(cert.raw, dk, T0))
    assert p.certificate.cert_id == "AAAAAAAAAAAAAAAA" and p.certificate.raw == cert.raw and p.presented_at == T0
