"""PP2: holder-bound codes that a phone makes **offline**. Defined here and only here.

PP1 codes are minted by the backend every 90 s, so a phone without signal has nothing to show. PP2 splits
the code in two, like transit ride codes ("dual offline"):

* a **perk certificate**, signed by the issuer's Ed25519 signing key while the phone is online: "the
  device key D may present perks P at venue type A between not_before and not_after" (default 24 h, never
  more than :data:`MAX_CERT_LIFETIME`). It carries a fresh random certificate id and no stable identifier.
* a **presentation** the phone makes with no network: the certificate, the current time and a signature
  of both by the device key, which never leaves the phone (WebCrypto, non-extractable).

Byte layout (all integers unsigned big-endian)::

    certificate body
      [0]      1   0x2T: high nibble = 2 (certificate format), T = device key type (1 Ed25519, 2 ECDSA P-256)
      [1:9]    8   issuer key reference: SHA-256(kid as UTF-8)[:8]
      [9:13]   4   not_before (epoch seconds)
      [13:17]  4   not_after  (epoch seconds)
      [17:29]  12  certificate id (96 random bits; base64url is the holder's pseudonym for this certificate)
      [29:..]  32|65  device public key (Ed25519 raw | P-256 SEC1 uncompressed: 32 bytes more than compressed,
                      but a verifier skips the square root that decompression costs, ~20 µs per scan)
      [..]     1   n: length of the claims block
      [..]     n   raw DEFLATE(aud 0x00 scheme 0x00 band-or-empty 0x00 perk ("," perk)*, zdict=PRESET_DICTIONARY)
    issuer signature   64  Ed25519 over  "perkpass-pp2-certificate" 0x00 issuer 0x00 || certificate body
    presented_at        4  epoch seconds on the phone (server-corrected)
    device signature   64  over  "perkpass-pp2-presentation" 0x00 || body || issuer signature || presented_at
                           (Ed25519, or ECDSA P-256/SHA-256 as r||s, the form WebCrypto produces)

QR transport: ``"PP2"`` + decimal(0x01 || all of the above), exactly like PP1 (:mod:`partner_sdk.format`):
an alphanumeric segment and a numeric one, digits only, so HID scanners type it faithfully.

The issuer name is inside the signed input but not in the code: a verifier uses its trust list's issuer, so
a certificate from another issuer fails its signature check. A verifier refuses a presentation whose time is
more than the presentation window (default ±60 s) from its own clock, and after a grant refuses the same
certificate for the same perk for a reuse interval (at least 2 x (window + leeway), 130 s by default; longer
where the venue type's policy says so), so one certificate is one grant at a gate, not one per 30-second slot.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Sequence
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives import serialization

from . import format as fmt
from . import keyprofile
from .errors import IssuanceError

TRANSPORT_VERSION = "2"
QR_PREFIX = fmt.TRANSPORT_PREFIX + TRANSPORT_VERSION

CERT_FORMAT = 2
KEY_ED25519 = 1
KEY_P256 = 2
DEVICE_KEY_LEN = {KEY_ED25519: 32, KEY_P256: 65}
DEVICE_KEY_NAMES = {KEY_ED25519: "Ed25519", KEY_P256: "P-256"}

DEFAULT_CERT_LIFETIME = 86_400  # a day: renewed whenever the phone is online, well before it ends
MAX_CERT_LIFETIME = 7 * 86_400  # hard cap, enforced by the issuer *and* the verifier
DEFAULT_PRESENTATION_WINDOW = 60  # seconds either side of the verifier's clock (CoronaCheck used ±60 s)
MAX_PRESENTATION_WINDOW = 300
MAX_REUSE_INTERVAL = 31 * 86_400  # a venue type's "once a month" is the longest a verifier remembers a grant
SLOT_SECONDS = 30  # one presentation per certificate per slot passes a verifier; phones refresh per slot
CERT_ID_BYTES = 12
KID_REF_LEN = 8
MAX_CLAIMS_BLOCK = 255
MAX_CLAIMS_INFLATED = 512

CERT_CONTEXT = b"perkpass-pp2-certificate\x00"
PRESENTATION_CONTEXT = b"perkpass-pp2-presentation\x00"

# Byte strings a certificate's claims block almost always contains (audiences, schemes, perk-code words).
# Shared by issuer and verifier; changing it is a new certificate format. Compression hints, not policy: a venue
# type missing here (added as data in assets/venue-types.json) only costs a few bytes (issue 20).
PRESET_DICTIONARY = (
    b"rental\x00sesame\x00utility\x00bank\x00rongcheng\x00RC-HEATING,RC-LOAN,RC-CHECKUP,RC-NODEPOSIT,"
    b"culture\x00library\x00bailu\x00\x00BAILU-LIB-NODEPOSIT,BAILU-LIB-PRIORITY,BAILU-VENUE-DISCOUNT,"
    b"osmanthus\x00\x00OSM-LIB-LONGLOAN,OSM-HOSP-PRIORITY,OSM-TRANSIT,SES-BIKE-NODEPOSIT,SES-CAR-NODEPOSIT,"
    b"SES-FLAT-NODEPOSIT,hospital\x00gov-office\x00moli\x00\x00MOLI-GOV-ASSIST,MOLI-GOV-EXPRESS,MOLI-GOV-PRIORITY,"
    b"metro\x00moli\x00\x00MOLI-METRO20"
)

_HEAD = struct.Struct(">B8sII12s")  # format/key type, kid reference, not_before, not_after, certificate id
_TIME = struct.Struct(">I")
_MIN_BODY = _HEAD.size + 32 + 1 + 2


class Certificate(NamedTuple):
    """A parsed perk certificate. Parsed is not trusted: :func:`verify_certificate` checks the signature."""

    key_type: int
    kid_ref: bytes
    not_before: int
    not_after: int
    cert_id: str  # base64url of the 12 random bytes: the holder's pseudonym for this certificate
    device_key: bytes
    audience: str
    scheme: str
    band: str | None
    perks: tuple[str, ...]
    body: bytes  # the signed certificate body
    signature: bytes  # the issuer's signature

    @property
    def raw(self) -> bytes:
        """Body and issuer signature: what the backend hands to the phone."""
        return self.body + self.signature


class Presentation(NamedTuple):
    certificate: Certificate
    presented_at: int
    signature: bytes  # the device's signature

    @property
    def signed_input(self) -> bytes:
        return PRESENTATION_CONTEXT + self.certificate.body + self.certificate.signature + _TIME.pack(self.presented_at)

    @property
    def slot(self) -> int:
        return self.presented_at // SLOT_SECONDS

    @property
    def presentation_id(self) -> str:
        """Certificate id and slot: what a verifier remembers, and the id a kiosk syncs as ``jti``."""
        return f"{self.certificate.cert_id}-{self.slot}"


def min_reuse_interval(presentation_window: int, leeway: int) -> int:
    """The shortest time a verifier must refuse a granted certificate: a presentation dated at the edge of the
    window around the grant stays acceptable until 2 x (window + leeway) after it (130 s by default)."""
    return 2 * (presentation_window + leeway)


@functools.lru_cache(maxsize=64)
def kid_reference(kid: str) -> bytes:
    return hashlib.sha256(kid.encode("utf-8")).digest()[:KID_REF_LEN]


def cert_signed_input(issuer: str, body: bytes) -> bytes:
    return CERT_CONTEXT + issuer.encode("utf-8") + b"\x00" + body


# ------------------------------------------------------------------------------------------- parsing

def parse_certificate(data: bytes) -> tuple[Certificate, bytes]:
    """Split certificate (body + issuer signature) from what follows; raises TransportError."""
    if len(data) < _MIN_BODY + fmt.SIGNATURE_LEN:
        raise fmt.TransportError("certificate too short")
    head, kid_ref, not_before, not_after, cid = _HEAD.unpack_from(data)
    if head >> 4 != CERT_FORMAT:
        raise fmt.TransportError("unknown certificate format")
    key_type = head & 0x0F
    key_len = DEVICE_KEY_LEN.get(key_type)
    if key_len is None:
        raise fmt.TransportError("unknown device key type")
    pos = _HEAD.size
    device_key = data[pos:pos + key_len]
    pos += key_len
    if len(data) < pos + 1:
        raise fmt.TransportError("certificate truncated")
    n = data[pos]
    pos += 1
    block = data[pos:pos + n]
    pos += n
    if n == 0 or len(block) != n or len(data) < pos + fmt.SIGNATURE_LEN:
        raise fmt.TransportError("certificate truncated")
    body, signature, rest = data[:pos], data[pos:pos + fmt.SIGNATURE_LEN], data[pos + fmt.SIGNATURE_LEN:]
    audience, scheme, band, perks = _claims_from_block(block)
    cert = Certificate(key_type, kid_ref, not_before, not_after, fmt.b64url_encode(cid), device_key, audience, scheme,
                       band, perks, body, signature)
    return cert, rest


@functools.lru_cache(maxsize=256)  # a gate sees the same few claim blocks all day ("metro", "moli", one perk)
def _claims_from_block(block: bytes) -> tuple[str, str, str | None, tuple[str, ...]]:
    inflater = zlib.decompressobj(-15, zdict=PRESET_DICTIONARY)
    try:
        plain = inflater.decompress(block, MAX_CLAIMS_INFLATED + 1)
    except zlib.error as exc:
        raise fmt.TransportError("corrupt claims block") from exc
    if len(plain) > MAX_CLAIMS_INFLATED or not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        raise fmt.TransportError("claims block is not one complete stream of allowed size")
    try:
        text = plain.decode("ascii")
    except UnicodeDecodeError:
        raise fmt.TransportError("claims block is not ASCII") from None
    parts = text.split("\x00")
    if len(parts) != 4:
        raise fmt.TransportError("claims block has the wrong number of fields")
    audience, scheme, band, perk_list = parts
    if not fmt.AUDIENCE_RE.fullmatch(audience):
        raise fmt.TransportError("bad audience")
    if not fmt.SCHEME_RE.fullmatch(scheme):
        raise fmt.TransportError("bad scheme")
    if band and not fmt.BAND_RE.fullmatch(band):
        raise fmt.TransportError("bad band")
    perks = tuple(perk_list.split(",")) if perk_list else ()
    if not perks or len(perks) > fmt.MAX_PERKS or not all(fmt.PERK_CODE_RE.fullmatch(p) for p in perks):
        raise fmt.TransportError("bad perks")
    if list(perks) != sorted(set(perks)):
        raise fmt.TransportError("perks not in canonical order")
    return audience, scheme, band or None, perks


def parse_presentation_bytes(data: bytes) -> Presentation:
    cert, rest = parse_certificate(data)
    if len(rest) != _TIME.size + fmt.SIGNATURE_LEN:
        raise fmt.TransportError("presentation has the wrong length")
    (presented_at,) = _TIME.unpack_from(rest)
    return Presentation(cert, presented_at, rest[_TIME.size:])


def parse_qr_text(text: str) -> Presentation:
    """``PP2<digits>`` (any case, surrounding white space) to a parsed, unverified :class:`Presentation`."""
    if len(text) > fmt.MAX_QR_TEXT:
        raise fmt.TransportError("code too long")
    text = text.strip()
    if text[:3].upper() != QR_PREFIX:
        raise fmt.TransportError("not a PP2 code")
    return parse_presentation_bytes(fmt.digits_to_bytes(text[3:]))


# ------------------------------------------------------------------------------------- signatures

def device_key_problem(key_type: int, raw: bytes) -> str | None:
    """Why a certificate's device key breaks the key profile (:mod:`partner_sdk.keyprofile`), or None.

    The checks on the encoded bytes that every verifier runs on every scan; whether Ed25519 bytes are a
    point at all is left to the signature check (see :func:`partner_sdk.keyprofile.ed25519_decode`).
    """
    if key_type == KEY_ED25519:
        return keyprofile.ed25519_key_bytes_problem(raw)
    if key_type == KEY_P256:
        return keyprofile.p256_key_bytes_problem(raw, on_curve=False)  # load_device_key's loader checks the curve
    return "unknown device key type"


def load_device_key(key_type: int, raw: bytes) -> Ed25519PublicKey | ec.EllipticCurvePublicKey:
    """A device public key from its certificate bytes; raises ValueError (with the reason) for a bad key."""
    problem = device_key_problem(key_type, raw)
    if problem:
        raise ValueError(problem)
    if key_type == KEY_ED25519:
        return Ed25519PublicKey.from_public_bytes(raw)
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise ValueError("the P-256 key is not a point on the curve") from None


def device_key_bytes(key: Ed25519PublicKey | ec.EllipticCurvePublicKey) -> tuple[int, bytes]:
    """(key type, certificate bytes) of a device public key."""
    if isinstance(key, Ed25519PublicKey):
        return KEY_ED25519, key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return KEY_P256, key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    raise ValueError("device keys are Ed25519 or ECDSA P-256")


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_ECDSA_SHA256_RFC6979 = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)  # reproducible test vectors


def device_signature_ok(key: Ed25519PublicKey | ec.EllipticCurvePublicKey, signature: bytes, message: bytes) -> bool:
    """Check a device signature in the form WebCrypto produces (Ed25519, or P-256 r||s). Never raises.

    The components are checked as RFC 8032 (``S < L``, ``R`` canonical) and SEC 1 (``0 < r, s < n``) require
    before the curve arithmetic: one encoding per signature, whatever the library underneath tolerates.
    """
    try:
        if isinstance(key, Ed25519PublicKey):
            if keyprofile.ed25519_signature_problem(signature):
                return False
            key.verify(signature, message)
        else:
            # keyprofile.p256_signature_problem's test, inline: r and s are needed for the DER form anyway
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            if len(signature) != 64 or not (0 < r < keyprofile.P256_N and 0 < s < keyprofile.P256_N):
                return False
            key.verify(encode_dss_signature(r, s), message, _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True


# -------------------------------------------------------------------------------------- issuing

@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    raw: bytes  # body + issuer signature: the phone keeps this and appends presentations to it
    cert_id: str
    not_before: int
    not_after: int
    audience: str
    scheme: str
    perks: tuple[str, ...]


def issue_certificate(
    *,
    signing_key: Ed25519PrivateKey,
    kid: str,
    issuer: str,
    audience: str,
    scheme: str,
    perks: Sequence[str],
    device_public_key: Ed25519PublicKey | ec.EllipticCurvePublicKey,
    now: int | float | datetime,
    lifetime: int = DEFAULT_CERT_LIFETIME,
    band: str | None = None,
    cert_id: bytes | None = None,
) -> IssuedCertificate:
    """Certify ``device_public_key`` for ``perks`` at ``audience`` from ``now`` for ``lifetime`` seconds."""
    if not isinstance(signing_key, Ed25519PrivateKey):
        raise IssuanceError("signing_key must be an Ed25519 private key")
    if not (isinstance(kid, str) and 0 < len(kid) <= 64):
        raise IssuanceError("kid must be a short string")
    if not (isinstance(issuer, str) and 0 < len(issuer) <= 64):
        raise IssuanceError("issuer must be 1-64 characters")
    if not fmt.AUDIENCE_RE.fullmatch(audience or ""):
        raise IssuanceError(f"bad audience {audience!r}")
    if not fmt.SCHEME_RE.fullmatch(scheme or ""):
        raise IssuanceError(f"bad scheme {scheme!r}")
    codes = sorted(set(perks))
    if not codes:
        raise IssuanceError("no perks: a citizen without a perk gets no certificate")
    if len(codes) > fmt.MAX_PERKS or not all(fmt.PERK_CODE_RE.fullmatch(c) for c in codes):
        raise IssuanceError(f"perk codes must be 1-{fmt.MAX_PERKS} upper-case codes")
    if band is not None and not fmt.BAND_RE.fullmatch(band):
        raise IssuanceError("bad band")
    if not (isinstance(lifetime, int) and not isinstance(lifetime, bool) and 60 <= lifetime <= MAX_CERT_LIFETIME):
        raise IssuanceError(f"certificate lifetime must be 60..{MAX_CERT_LIFETIME} seconds")
    try:
        key_type, key_raw = device_key_bytes(device_public_key)
    except ValueError as exc:
        raise IssuanceError(str(exc)) from None
    # Never certify a key that breaks the profile: a small-order key voids holder binding for every verifier.
    problem = device_key_problem(key_type, key_raw)
    if problem is None and key_type == KEY_ED25519:
        try:
            keyprofile.ed25519_decode(key_raw)
        except ValueError as exc:
            problem = str(exc)
    if problem:
        raise IssuanceError(f"device key refused: {problem}")
    cid = cert_id if cert_id is not None else secrets.token_bytes(CERT_ID_BYTES)
    if len(cid) != CERT_ID_BYTES:
        raise IssuanceError("certificate id must be 12 bytes")
    not_before = int(fmt.to_epoch(now))
    return _sign_certificate(signing_key, kid, issuer, key_type, key_raw, audience, scheme, band, codes, not_before,
                             not_before + lifetime, cid)


def _sign_certificate(signing_key: Ed25519PrivateKey, kid: str, issuer: str, key_type: int, key_raw: bytes,
                      audience: str, scheme: str, band: str | None, codes: Sequence[str], not_before: int,
                      not_after: int, cid: bytes) -> IssuedCertificate:
    """Lay out and sign a certificate body, checking nothing: :func:`issue_certificate` checks first (and
    :mod:`partner_sdk.testing` signs hostile certificates for the test vectors with it)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, PRESET_DICTIONARY)
    plain = "\x00".join((audience, scheme, band or "", ",".join(codes))).encode("ascii")
    block = comp.compress(plain) + comp.flush()
    if len(block) > MAX_CLAIMS_BLOCK:
        raise IssuanceError("claims too long for a certificate")
    body = (_HEAD.pack((CERT_FORMAT << 4) | key_type, kid_reference(kid), not_before, not_after, cid)
            + key_raw + bytes((len(block),)) + block)
    signature = signing_key.sign(cert_signed_input(issuer, body))
    return IssuedCertificate(body + signature, fmt.b64url_encode(cid), not_before, not_after, audience, scheme,
                             tuple(codes))


def pack_presentation(certificate: bytes, presented_at: int, signature: bytes) -> str:
    """Certificate, time and a device signature as QR text (what :func:`sign_presentation` returns)."""
    return pack_qr_text(certificate + _TIME.pack(presented_at) + signature)


def sign_presentation(certificate: bytes, device_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
                      now: int | float | datetime) -> str:
    """What the phone does (in JavaScript) for each fresh code; here for Python holders, tests and vectors."""
    presented_at = int(fmt.to_epoch(now))
    message = PRESENTATION_CONTEXT + certificate + _TIME.pack(presented_at)
    if isinstance(device_key, Ed25519PrivateKey):
        signature = device_key.sign(message)
    elif isinstance(device_key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(device_key.sign(message, _ECDSA_SHA256_RFC6979))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        raise TypeError("device_key must be an Ed25519 or ECDSA P-256 private key")
    return pack_presentation(certificate, presented_at, signature)


def pack_qr_text(presentation: bytes) -> str:
    return QR_PREFIX + fmt.bytes_to_digits(presentation)
