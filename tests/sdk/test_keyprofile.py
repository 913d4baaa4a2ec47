"""Issue 18.1: the PP2 device-key profile. A small-order Ed25519 device key voids holder binding (its
"signatures" need no private key), so no verifier may grant a certificate over one, and each refusal class of the
profile is MALFORMED (key) or BAD_SIGNATURE (signature components), for both key types."""

import itertools

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from partner_sdk import Status, Verifier, keyprofile, pp2
from partner_sdk.errors import IssuanceError
from partner_sdk.keyprofile import ED25519_L, ED25519_P, P256_N, P256_P

from .conftest import T0

IDENTITY = bytes([1]) + bytes(31)


def _ed_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _p256_raw(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def _torsion_encodings() -> set[bytes]:
    """Derive every encoding of the 8 small-order points from first principles: [L]P of a point P whose torsion
    part has order 8 generates them; add sign-bit variants and y + p where it fits in 255 bits."""
    for y in itertools.count(2):
        try:
            x, yy = keyprofile.ed25519_decode(y.to_bytes(32, "little"))
        except ValueError:
            continue
        q = keyprofile._multiply(ED25519_L, (x, yy, 1, x * yy % ED25519_P))
        if not _is_identity(keyprofile._multiply(4, q)):
            break
    encodings = set()
    for k in range(8):
        pt = keyprofile._multiply(k, q)
        zi = pow(pt[2], ED25519_P - 2, ED25519_P)
        y = pt[1] * zi % ED25519_P
        for yv in (y, y + ED25519_P):
            if yv < 2**255:
                encodings |= {(yv | (s << 255)).to_bytes(32, "little") for s in (0, 1)}
    return encodings


def _is_identity(pt) -> bool:
    return pt[0] % ED25519_P == 0 and (pt[1] - pt[2]) % ED25519_P == 0


def test_the_small_order_list_is_exactly_the_torsion_points():
    assert _torsion_encodings() == keyprofile.SMALL_ORDER_ED25519
    assert len(keyprofile.SMALL_ORDER_ED25519) == 14


def _non_canonical_on_curve() -> list[bytes]:
    """y + p encodings (y < 19) that decode, once reduced, to a point: the same point under a second name."""
    found = []
    for y in range(19):
        try:
            keyprofile.ed25519_decode(y.to_bytes(32, "little"))
        except ValueError:
            continue
        found.append((y + ED25519_P).to_bytes(32, "little"))
    return found


def _off_curve() -> bytes:
    for y in itertools.count(2):
        raw = y.to_bytes(32, "little")
        try:
            keyprofile.ed25519_decode(raw)
        except ValueError:
            return raw
    raise AssertionError


def _mixed_order(key: Ed25519PrivateKey) -> bytes:
    """A genuine public key plus a point of order 8: a point on the curve, not in the prime-order subgroup."""
    x, y = keyprofile.ed25519_decode(_ed_raw(key))
    t = next(keyprofile.ed25519_decode(e) for e in sorted(keyprofile.SMALL_ORDER_ED25519)
             if e.hex().startswith("26e8958f") and e[31] < 0x80)
    pt = keyprofile._add((x, y, 1, x * y % ED25519_P), (t[0], t[1], 1, t[0] * t[1] % ED25519_P))
    zi = pow(pt[2], ED25519_P - 2, ED25519_P)
    ax, ay = pt[0] * zi % ED25519_P, pt[1] * zi % ED25519_P
    return (ay | ((ax & 1) << 255)).to_bytes(32, "little")


ED_BAD_KEYS = ([("small_order", e) for e in sorted(keyprofile.SMALL_ORDER_ED25519)]
               + [("non_canonical", e) for e in _non_canonical_on_curve()]
               + [("off_curve", _off_curve())])


@pytest.mark.parametrize("name,raw", ED_BAD_KEYS, ids=[f"{n}-{r.hex()[:8]}{r.hex()[-2:]}" for n, r in ED_BAD_KEYS])
def test_verifier_refuses_degenerate_ed25519_keys_as_malformed(issuer, store, name, raw):
    cert = issuer.hostile_certificate("metro", ["MOLI-METRO20"], pp2.KEY_ED25519, raw, T0 - 60, T0 + 3600)
    # the forged "signature" that a small-order key accepts: R = identity, S = 0 ([0]B = R + [k]A for A = O)
    for sig in (IDENTITY + bytes(32), bytes(64), Ed25519PrivateKey.generate().sign(b"x")):
        d = Verifier(store, "metro").verify(pp2.pack_presentation(cert.raw, T0, sig), now=T0)
        assert d.status is Status.MALFORMED, (name, d)
        assert "device key" in d.detail


def test_identity_key_forgery_would_grant_without_the_profile(issuer, store):
    """The breach itself: over the identity key, (R = identity, S = 0) passes the plain signature check."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    key = Ed25519PublicKey.from_public_bytes(IDENTITY)
    key.verify(IDENTITY + bytes(32), b"anything at all")  # no exception: anyone can "sign" for this key


def test_mixed_order_keys_are_refused_at_registration_only():
    genuine = Ed25519PrivateKey.generate()
    assert keyprofile.registration_problem("Ed25519", _ed_raw(genuine)) is None
    mixed = _mixed_order(genuine)
    assert keyprofile.ed25519_key_bytes_problem(mixed) is None  # a point: a verifier's byte checks pass it
    assert "prime-order subgroup" in keyprofile.registration_problem("Ed25519", mixed)


def _p256_variants() -> list[tuple[str, bytes]]:
    raw = _p256_raw(ec.generate_private_key(ec.SECP256R1()))
    x, y = raw[1:33], raw[33:]
    compressed = bytes([2 + (y[-1] & 1)]) + x
    return [
        ("off_curve", b"\x04" + x + bytes(31) + b"\x05"),
        ("compressed_in_65_bytes", compressed + bytes(32)),
        ("hybrid", bytes([6 + (y[-1] & 1)]) + x + y),
        ("infinity", b"\x00" * 65),
        ("x_not_reduced", b"\x04" + (int.from_bytes(x, "big") + P256_P).to_bytes(33, "big")[1:] + y
         if int.from_bytes(x, "big") + P256_P < 2**256 else b"\x04" + b"\xff" * 64),
        ("y_not_reduced", b"\x04" + x + b"\xff" * 32),
    ]


@pytest.mark.parametrize("name,raw", _p256_variants(), ids=[n for n, _ in _p256_variants()])
def test_verifier_refuses_degenerate_p256_keys_as_malformed(issuer, store, name, raw):
    cert = issuer.hostile_certificate("metro", ["MOLI-METRO20"], pp2.KEY_P256, raw, T0 - 60, T0 + 3600)
    d = Verifier(store, "metro").verify(pp2.pack_presentation(cert.raw, T0, b"\x01" * 64), now=T0)
    assert d.status is Status.MALFORMED and "device key" in d.detail, (name, d)
    assert keyprofile.registration_problem("P-256", raw)


def test_signature_components_out_of_range_are_bad_signatures(issuer, store):
    ed = Ed25519PrivateKey.generate()
    cert = issuer.certificate("metro", ["MOLI-METRO20"], ed.public_key(), now=T0 - 60)
    good = pp2.sign_presentation(cert.raw, ed, T0)
    sig = pp2.parse_qr_text(good).signature
    s_plus_l = sig[:32] + (int.from_bytes(sig[32:], "little") + ED25519_L).to_bytes(32, "little")
    r_non_canonical = (int.from_bytes(sig[:32], "little") | (2**255 - 1)).to_bytes(32, "little") + sig[32:]
    for bad in (s_plus_l, r_non_canonical):
        assert keyprofile.ed25519_signature_problem(bad)
        d = Verifier(store, "metro").verify(pp2.pack_presentation(cert.raw, T0, bad), now=T0)
        assert d.status is Status.BAD_SIGNATURE
    assert Verifier(store, "metro").verify(good, now=T0).granted

    p = ec.generate_private_key(ec.SECP256R1())
    cert = issuer.certificate("metro", ["MOLI-METRO20"], p.public_key(), now=T0 - 60)
    good = pp2.sign_presentation(cert.raw, p, T0)
    r, s = pp2.parse_qr_text(good).signature[:32], pp2.parse_qr_text(good).signature[32:]
    n = P256_N.to_bytes(32, "big")
    for bad in (bytes(32) + s, r + bytes(32), n + s, r + n):
        d = Verifier(store, "metro").verify(pp2.pack_presentation(cert.raw, T0, bad), now=T0)
        assert d.status is Status.BAD_SIGNATURE, d
    assert Verifier(store, "metro").verify(good, now=T0).granted


def test_the_issuer_never_certifies_a_degenerate_key(issuer):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    for raw in sorted(keyprofile.SMALL_ORDER_ED25519)[:4] + [_off_curve()]:
        with pytest.raises(IssuanceError, match="device key refused"):
            issuer.certificate("metro", ["MOLI-METRO20"], Ed25519PublicKey.from_public_bytes(raw), now=T0)
