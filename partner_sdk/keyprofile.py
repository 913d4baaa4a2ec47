"""The strict profile of PP2 device keys and device signatures, checked on the encoded bytes.

Why this exists: an Ed25519 public key of *small order* (the identity point, a point of order 2, 4 or 8, in any
encoding) makes signature verification meaningless - ``[S]B = R + [k]A`` holds for signatures anyone can compute
without a private key. A certificate over such a key would let anyone who saw one QR code mint valid codes for
the certificate's whole life. So the issuer never certifies one (registration runs :func:`registration_problem`,
the full check, including membership of the prime-order subgroup) and every verifier refuses one
(:func:`certificate_key_problem`, the cheap byte checks) as ``MALFORMED``.

What each check costs, and so where it runs:

* byte checks (length, prefix, canonical coordinates, the 14 small-order Ed25519 encodings, P-256 on-curve
  equation): well under a microsecond to a few - every verifier, every scan;
* whether 32 bytes decode to an Ed25519 point at all needs a modular square root (~100 µs in Python), and
  OpenSSL's verify already refuses such a key: a verifier runs :func:`ed25519_decode` only after a device
  signature failed, to answer ``MALFORMED`` rather than ``BAD_SIGNATURE``;
* the prime-order subgroup test (``[L]A`` is the identity) is a scalar multiplication (milliseconds in
  Python): registration only, once per phone.

References: RFC 8032 §5.1.3 (decoding) and §5.1.7 (``S < L``); SEC 1 v2 §2.3.4 and §3.2.2 (point validation),
§4.1.4 (``0 < r, s < n``); the small-order encodings are libsodium's blocklist, re-derived in the tests.
"""

from __future__ import annotations

# ------------------------------------------------------------------------------------ Ed25519 constants
ED25519_P = 2**255 - 19
ED25519_L = 2**252 + 27742317777372353535851937790883648493  # order of the prime-order subgroup
_D = -121665 * pow(121666, ED25519_P - 2, ED25519_P) % ED25519_P
_SQRT_M1 = pow(2, (ED25519_P - 1) // 4, ED25519_P)
_Y_MASK = (1 << 255) - 1

# Every 32-byte encoding of the eight points of order 1, 2, 4 and 8: both sign bits, and the non-canonical
# y + p where it fits in 255 bits (y = 0 and y = 1). tests/sdk/test_keyprofile.py re-derives this set.
SMALL_ORDER_ED25519: frozenset[bytes] = frozenset(bytes.fromhex(h) for h in (
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
))

# -------------------------------------------------------------------------------------- P-256 constants
P256_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
P256_KEY_LEN = 65  # SEC 1 uncompressed: 0x04 || x || y. Compressed (0x02/0x03) and hybrid (0x06/0x07) are refused.


# ------------------------------------------------------------------------------------------- Ed25519

def ed25519_key_bytes_problem(raw: bytes) -> str | None:
    """The cheap checks (every scan): 32 bytes, canonical y, not a small-order point. None when they pass."""
    if len(raw) != 32:
        return "an Ed25519 key is 32 bytes"
    if int.from_bytes(raw, "little") & _Y_MASK >= ED25519_P:
        return "the Ed25519 key's encoding is not canonical (y >= p)"
    if raw in SMALL_ORDER_ED25519:
        return "the Ed25519 key is a small-order point"
    return None


def ed25519_decode(raw: bytes) -> tuple[int, int]:
    """RFC 8032 §5.1.3 decoding, strict: (x, y), or ValueError saying why the bytes are not a point."""
    if len(raw) != 32:
        raise ValueError("an Ed25519 point is 32 bytes")
    n = int.from_bytes(raw, "little")
    sign, y = n >> 255, n & _Y_MASK
    p = ED25519_P
    if y >= p:
        raise ValueError("the encoding is not canonical (y >= p)")
    u, v = (y * y - 1) % p, (_D * y * y + 1) % p
    x = u * pow(v, 3, p) * pow(u * pow(v, 7, p), (p - 5) // 8, p) % p
    vx2 = v * x * x % p
    if vx2 == (-u) % p:
        x = x * _SQRT_M1 % p
    elif vx2 != u:
        raise ValueError("the bytes are not a point on the curve")
    if x == 0 and sign:
        raise ValueError("the encoding is not canonical (x = 0 with the sign bit set)")
    if x & 1 != sign:
        x = p - x
    return x, y


_Extended = tuple[int, int, int, int]


def _add(a: _Extended, b: _Extended) -> _Extended:
    """Point addition in extended coordinates (RFC 8032 §5.1.4): complete, so it also doubles."""
    p = ED25519_P
    aa, bb = (a[1] - a[0]) * (b[1] - b[0]) % p, (a[1] + a[0]) * (b[1] + b[0]) % p
    cc, dd = 2 * a[3] * b[3] * _D % p, 2 * a[2] * b[2] % p
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return e * f % p, g * h % p, f * g % p, e * h % p


def _multiply(scalar: int, point: _Extended) -> _Extended:
    result: _Extended = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def ed25519_in_prime_order_subgroup(raw: bytes) -> bool:
    """True when the bytes decode to a point P with [L]P = identity and P is not the identity itself."""
    try:
        x, y = ed25519_decode(raw)
    except ValueError:
        return False
    q = _multiply(ED25519_L, (x, y, 1, x * y % ED25519_P))
    is_identity = q[0] % ED25519_P == 0 and (q[1] - q[2]) % ED25519_P == 0
    return is_identity and raw not in SMALL_ORDER_ED25519


def ed25519_signature_problem(signature: bytes) -> str | None:
    """RFC 8032 §5.1.7: ``S < L`` and ``R`` a canonical encoding. None when they hold."""
    if len(signature) != 64:
        return "an Ed25519 signature is 64 bytes"
    if int.from_bytes(signature[32:], "little") >= ED25519_L:
        return "signature S is not below the group order"
    if int.from_bytes(signature[:32], "little") & _Y_MASK >= ED25519_P:
        return "signature R is not a canonical encoding"
    return None


# --------------------------------------------------------------------------------------------- P-256

def p256_key_bytes_problem(raw: bytes, *, on_curve: bool = True) -> str | None:
    """SEC 1 §3.2.2 partial public-key validation on the uncompressed encoding; cofactor 1, so a point on
    the curve is in the prime-order group. None when the key passes.

    ``on_curve=False`` leaves the curve equation to the caller: a verifier loads the key with
    ``EllipticCurvePublicKey.from_encoded_point`` next, which refuses a point off the curve (ValueError), and
    the equation in Python would cost it ~4 µs a scan for nothing."""
    if len(raw) != P256_KEY_LEN or raw[0] != 0x04:
        return "a P-256 key is the 65-byte SEC 1 uncompressed point (0x04 || x || y)"
    x, y = int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:], "big")
    p = P256_P
    if x >= p or y >= p:
        return "a P-256 key's coordinates must be below p"
    if on_curve and (y * y - (x * x * x - 3 * x + _P256_B)) % p:
        return "the P-256 key is not a point on the curve"
    return None


def p256_signature_problem(signature: bytes) -> str | None:
    """SEC 1 §4.1.4 step 1 on WebCrypto's ``r || s``: ``0 < r, s < n``. None when it holds."""
    if len(signature) != 64:
        return "a P-256 signature is r || s, 64 bytes"
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (0 < r < P256_N and 0 < s < P256_N):
        return "signature r or s outside 1..n-1"
    return None


# ------------------------------------------------------------------------------------------ by use

def registration_problem(key_type_name: str, raw: bytes) -> str | None:
    """Everything, however slow: what the issuer checks once before it certifies a device key."""
    if key_type_name == "Ed25519":
        problem = ed25519_key_bytes_problem(raw)
        if problem:
            return problem
        try:
            ed25519_decode(raw)
        except ValueError as exc:
            return f"the Ed25519 key is not valid: {exc}"
        if not ed25519_in_prime_order_subgroup(raw):
            return "the Ed25519 key is not in the prime-order subgroup"
        return None
    if key_type_name == "P-256":
        return p256_key_bytes_problem(raw)
    return "device keys are Ed25519 or ECDSA P-256"
