"""The Perkpass credential format: claims, JWS header and QR transport. Defined here and only here.

The issuer (backend) and every verifier (kiosk, partner systems) import this module; nothing else in the
project builds or parses a credential. ``docs/credential-format.md`` is the prose spec with the reasons.

A credential is a JWS (compact serialisation, RFC 7515) signed with EdDSA/Ed25519::

    header  {"alg":"EdDSA","kid":"<issuer key id>","typ":"perkpass-credential+jwt"}
    payload {"iss","aud","iat","exp","jti","sub","sch","prk"[,"bnd"]}

It never carries a score. ``prk`` lists the perk codes the holder is entitled to at audience ``aud``;
``bnd`` (a band name) appears only for perks explicitly defined as disclosing one.

**QR transport "PP1".** A compact JWS is ~450 mixed-case characters: too big for a fast-scanning QR and
mangled by keyboard-wedge scanners. So the QR text is ``"PP1"`` followed by digits only:

    decimal( 0x01 || raw_deflate(header_json || 0x00 || payload_json, zdict=PRESET_DICTIONARY) || signature[64] )

``decimal`` writes those bytes, read as one big-endian unsigned integer, in base 10 (no leading zero).
``PP1`` goes in a QR alphanumeric segment, the digits in a numeric segment (3.32 bits per digit, almost
the full density of binary). The verifier inverts the transport, re-encodes
the exact header and payload bytes as base64url and checks the JWS signature with pyjwt: since the
signature covers those bytes, any change to the transport makes verification fail.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import hashlib
import json
import re
import secrets
import zlib
from datetime import datetime
from collections.abc import Sequence
from typing import Any, NamedTuple

from .errors import InvalidClockError

TRANSPORT_PREFIX = "PP"
TRANSPORT_VERSION = "1"
QR_PREFIX = TRANSPORT_PREFIX + TRANSPORT_VERSION

ALGORITHM = "EdDSA"
CREDENTIAL_TYP = "perkpass-credential+jwt"
TRUST_LIST_TYP = "perkpass-trust-list+jwt"
ALLOWED_HEADER_KEYS = frozenset({"alg", "kid", "typ"})

MAX_LEEWAY = 120  # seconds of clock tolerance a verifier may be configured with (replay memory covers it)
DEFAULT_LIFETIME = 90  # seconds: long enough to walk to a gate, short enough that a screenshot is useless
MAX_LIFETIME = 300  # hard cap enforced by the issuer *and* the verifier
MAX_PERKS = 8
MAX_QR_TEXT = 1500  # characters; checked before any parsing
MAX_INFLATED = 2048  # bytes of header+payload JSON; guards against deflate bombs
SIGNATURE_LEN = 64
JTI_BYTES = 12  # 96 random bits
PSEUDONYM_BYTES = 14  # 112 bits, 22 base32 characters

AUDIENCE_RE = re.compile(r"^[a-z][a-z0-9-]{1,31}\Z")
PERK_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}\Z")
SCHEME_RE = re.compile(r"^[a-z][a-z0-9-]{1,31}\Z")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}\Z")
BAND_RE = re.compile(r"^[A-Za-z0-9+_-]{1,32}\Z")

# Shared by issuer and verifier; changing it is a new transport version.  It holds the byte strings a
# credential almost always contains so that DEFLATE can refer back to them instead of spelling them out.
# The venue type and scheme names in it are compression hints, not policy: a venue type missing here (added
# as data in assets/venue-types.json) only makes its codes a few bytes longer (issue 20).
PRESET_DICTIONARY = (
    b'"rental","utility","transport","sesame","rongcheng","osmanthus","bailu","moli",'
    b'"library","hospital","gov-office","metro","bnd":"'
    b'{"alg":"EdDSA","kid":"","typ":"perkpass-credential+jwt"}\x00'
    b'{"iss":"perkpass","aud":"","iat":17,"exp":17,"jti":"","sub":"","sch":"","prk":["'
)



class TransportError(ValueError):
    """The QR text is not a well-formed Perkpass transport (internal: verifiers turn it into MALFORMED)."""


class UnsupportedVersionError(TransportError):
    """The QR text is a Perkpass code of a transport version this SDK does not know."""


MAX_EPOCH = 2**40  # the bound on iat/exp claims; a clock past it (year 36812) is broken, not early


def to_epoch(now: int | float | datetime) -> float:
    """Seconds since the epoch, as a finite float in ``[0, MAX_EPOCH)``, from a number or an *aware* datetime.

    Raises :class:`InvalidClockError` (a ConfigurationError and a ValueError) for anything else: NaN and
    infinity (every comparison with NaN is false, so a NaN clock would grant expired codes), bools, naive
    datetimes, negative or absurd times.
    """
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            raise InvalidClockError("naive datetime: pass an aware datetime or epoch seconds")
        t: Any = now.timestamp()
    elif type(now) is bool or not isinstance(now, (int, float)):
        raise InvalidClockError(f"now must be epoch seconds or an aware datetime, not {type(now).__name__}")
    else:
        t = now
    if not (0 <= t < MAX_EPOCH):  # also false for NaN; compared before float() so a huge int cannot overflow
        raise InvalidClockError(f"now is not a usable time: {t!r}"[:80])
    return float(t)


# ---------------------------------------------------------------------------------------------- digits
# The body is read as one big-endian unsigned integer, prefixed with a 0x01 sentinel byte so that leading
# zero bytes survive, and written in decimal. That is the densest digit form (2.41 digits per byte) and a
# single int() call to undo, which keeps verification cheap.

def bytes_to_digits(data: bytes) -> str:
    return str(int.from_bytes(b"\x01" + data, "big"))


def digits_to_bytes(text: str) -> bytes:
    # int() alone would also accept non-ASCII digits, a sign, "_" between digits and white space around
    # them: refuse those first. These checks are O(1) or memchr; str.isdigit() would cost more than int().
    if (not text or not text.isascii() or text[0] not in "123456789" or text[-1] not in "0123456789"
            or "_" in text):
        raise TransportError("transport body must be decimal digits")
    try:
        value = int(text)
    except ValueError:  # any other non-digit inside
        raise TransportError("transport body must be decimal digits") from None
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    if data[0] != 1:
        raise TransportError("transport body lacks its sentinel byte")
    return data[1:]


# ------------------------------------------------------------------------------------------- transport

def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2): the one encoder the SDK uses."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64url_bytes(data: bytes) -> bytes:
    """base64url without padding (RFC 7515), as bytes: the issuer builds a JWS from these pieces."""
    # binascii directly: base64.urlsafe_b64encode is the same with three Python calls around it
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


@functools.lru_cache(maxsize=64)
def _header_b64(header_json: bytes) -> bytes:
    return b64url_bytes(header_json) + b"."  # a verifier sees the same few headers all day


_B64URL_TEXT = re.compile(r"[A-Za-z0-9_-]*").fullmatch
_FROM_URLSAFE = str.maketrans("-_", "+/")


def b64url_decode(text: str) -> bytes:
    """Strict base64url decoding; raises TransportError (a ValueError) for anything but canonical base64url.

    Canonical: no padding, no length of 1 mod 4, and the unused low bits of the last character zero. A
    lenient decoder maps several texts to one byte string, and a verifier that then checks the signature
    over a re-encoding accepts texts that were never signed (independent JOSE libraries refuse them).
    """
    if type(text) is not str or len(text) % 4 == 1 or not _B64URL_TEXT(text):
        raise TransportError("not base64url")
    data = binascii.a2b_base64(text.translate(_FROM_URLSAFE) + "=" * (-len(text) % 4))
    if b64url_bytes(data) != text.encode("ascii"):
        raise TransportError("not canonical base64url")
    return data


# ------------------------------------------------------------------------------------------- JSON depth
MAX_JSON_DEPTH = 16
# One left-to-right pass (docs/credential-format.md, "JSON reading rules"): a string is skipped whole; a quote that
# nothing closes makes the rest plain text. (Removing strings with a substitution retried the pattern at every
# later quote of an unclosed string: quadratic, 16 KB of hostile bytes took 4 s, a 1 MB trust list hours.)
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}"]', re.S)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(data: bytes, max_depth: int) -> bool:
    """Whether brackets outside strings nest deeper than ``max_depth``. Linear in ``len(data)``."""
    depth = 0
    rest_from = None
    for m in _JSON_TOKEN.finditer(data):
        token = m.group()
        if token == b'"':  # a quote nothing closes: from here on, every bracket counts
            rest_from = m.end()
            break
        if len(token) == 1:
            depth += 1 if token in (b"[", b"{") else -1
            if depth > max_depth:
                return True
    if rest_from is not None:
        for m in _JSON_BRACKET.finditer(data, rest_from):
            depth += 1 if m.group() in (b"[", b"{") else -1
            if depth > max_depth:
                return True
    return False


def json_loads_bounded(data: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for untrusted bytes, refusing nesting deeper than ``max_depth`` *before* parsing.

    2,000 ``[`` make the json module raise RecursionError (and a deep call stack makes that happen much
    sooner): bound the depth first. Raises TransportError or another ValueError, nothing else.
    """
    if data.count(b"[") + data.count(b"{") > max_depth and json_depth_exceeds(data, max_depth):
        raise TransportError("JSON nested too deeply")
    return json.loads(data)


def jws_to_qr_text(jws: str) -> str:
    """Pack a compact JWS into the PP1 QR text."""
    header_b64, payload_b64, sig_b64 = jws.split(".")
    return pack_qr_text(b64url_decode(header_b64), b64url_decode(payload_b64), b64url_decode(sig_b64))


def pack_qr_text(header_json: bytes, payload_json: bytes, signature: bytes) -> str:
    """The PP1 QR text of a JWS given as its three decoded parts (the issuer's path: no base64 round trip)."""
    if b"\x00" in header_json or b"\x00" in payload_json or len(signature) != SIGNATURE_LEN:
        raise TransportError("not a Perkpass EdDSA JWS")
    # memLevel 8, not 9: the same output here, and 9 makes zlib allocate (and free) ~130 µs of memory per call
    comp = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, PRESET_DICTIONARY)
    body = comp.compress(header_json + b"\x00" + payload_json) + comp.flush()
    return QR_PREFIX + bytes_to_digits(body + signature)


class RawCredential(NamedTuple):
    """A credential taken apart but not yet trusted: nothing here has been verified.

    (A NamedTuple rather than a dataclass: verifiers build one per scan and it is the cheapest to create.)
    """

    header_json: bytes
    payload_json: bytes
    signature: bytes

    @property
    def jws(self) -> str:
        return ".".join((b64url_encode(self.header_json), b64url_encode(self.payload_json),
                         b64url_encode(self.signature)))

    @property
    def signing_input(self) -> bytes:
        return _header_b64(self.header_json) + b64url_bytes(self.payload_json)


_new_raw = functools.partial(tuple.__new__, RawCredential)  # skips NamedTuple's Python-level __new__


def parse_qr_text(text: str) -> RawCredential:
    """Undo the transport. Accepts ``PP1<digits>`` (any case, surrounding white space) or a bare compact JWS.

    Raises :class:`UnsupportedVersionError` for ``PP<other version>`` and :class:`TransportError` for
    anything else that is not well formed. Never inflates more than ``MAX_INFLATED`` bytes.
    """
    if len(text) > MAX_QR_TEXT:
        raise TransportError("code too long")
    if text[-1:].isspace() or text[:1].isspace():
        text = text.strip()
    head = text[:2].upper()
    if head == TRANSPORT_PREFIX and len(text) > 2 and text[2].isalnum():
        if text[2] != TRANSPORT_VERSION:
            raise UnsupportedVersionError(f"transport version {text[2]!r}")
        data = digits_to_bytes(text[3:])
        if len(data) <= SIGNATURE_LEN:
            raise TransportError("code too short")
        body, sig = data[:-SIGNATURE_LEN], data[-SIGNATURE_LEN:]
        inflater = zlib.decompressobj(-15, zdict=PRESET_DICTIONARY)
        try:
            plain = inflater.decompress(body, MAX_INFLATED + 1)
        except zlib.error as exc:
            raise TransportError("corrupt compressed body") from exc
        if len(plain) > MAX_INFLATED or not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
            raise TransportError("compressed body is not one complete stream of allowed size")
        header, sep, payload = plain.partition(b"\x00")
        if not sep or b"\x00" in payload:
            raise TransportError("body is not header and payload")
        return _new_raw((header, payload, sig))
    if text.startswith("eyJ") and text.count(".") == 2:
        h, p, s = text.split(".")
        # The signature length is not checked here: the verifier first refuses any alg but EdDSA, so an
        # HMAC or "none" token gets the precise answer BAD_SIGNATURE rather than MALFORMED.
        return RawCredential(b64url_decode(h), b64url_decode(p), b64url_decode(s))
    raise TransportError("not a Perkpass code")


# --------------------------------------------------------------------------------------------- claims

class Claims(NamedTuple):
    """The validated payload of a credential."""

    iss: str
    aud: str
    iat: int
    exp: int
    jti: str
    sub: str
    sch: str
    prk: tuple[str, ...]
    bnd: str | None = None


def build_claims(
    *,
    issuer: str,
    audience: str,
    subject: str,
    perks: Sequence[str],
    scheme: str,
    issued_at: int,
    lifetime: int,
    jti: str,
    band: str | None = None,
) -> dict[str, Any]:
    """The payload in its one canonical key order (which the preset dictionary relies on)."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + lifetime,
        "jti": jti,
        "sub": subject,
        "sch": scheme,
        "prk": list(perks),
    }
    if band is not None:
        claims["bnd"] = band
    return claims


_REQUIRED_CLAIMS = frozenset({"iss", "aud", "iat", "exp", "jti", "sub", "sch", "prk"})
_ALLOWED_CLAIMS = _REQUIRED_CLAIMS | {"bnd"}
_AUDIENCE_OK = AUDIENCE_RE.fullmatch
_SCHEME_OK = SCHEME_RE.fullmatch
_ID_OK = ID_RE.fullmatch
_PERK_OK = PERK_CODE_RE.fullmatch


def _is_time(v: Any) -> bool:
    return type(v) is int and 0 <= v < 2**40


# Fast path for the canonical payload every Perkpass issuer writes (build_claims' key order, compact JSON,
# no escapes): one compiled pattern parses *and* validates it. Anything else - other key order, white
# space, escapes - falls back to json + claims_from_payload, which accepts the same claims.
_CANONICAL_PAYLOAD = re.compile(
    r'\{"iss":"([^"\\\x00-\x1f]{1,64})","aud":"([a-z][a-z0-9-]{1,31})","iat":(0|[1-9][0-9]{0,11}),'
    r'"exp":(0|[1-9][0-9]{0,11}),"jti":"([A-Za-z0-9_-]{8,64})","sub":"([A-Za-z0-9_-]{8,64})",'
    r'"sch":"([a-z][a-z0-9-]{1,31})","prk":\[((?:"[A-Z0-9][A-Z0-9-]{0,31}")(?:,"[A-Z0-9][A-Z0-9-]{0,31}"){0,7})?\]'
    r'(?:,"bnd":"([A-Za-z0-9+_-]{1,32})")?\}'
)


def claims_from_payload_json(payload_json: bytes) -> Claims:
    """Parse and validate a payload's JSON bytes; raises TransportError (or ValueError) when anything is off."""
    text = payload_json.decode("ascii")  # a UnicodeDecodeError is a ValueError: JSON payloads are ASCII
    m = _CANONICAL_PAYLOAD.fullmatch(text)
    if m is None:
        return claims_from_payload(json_loads_bounded(payload_json))
    iss, aud, iat, exp, jti, sub, sch, prk, bnd = m.groups()
    iat_i, exp_i = int(iat), int(exp)
    if not (iat_i < 2**40 and exp_i < 2**40):
        raise TransportError("bad iat or exp")
    # the pattern admits only "CODE" items joined by commas, so one split undoes the list
    return _new_claims((iss, aud, iat_i, exp_i, jti, sub, sch, tuple(prk[1:-1].split('","')) if prk else (), bnd))


_new_claims = functools.partial(tuple.__new__, Claims)  # skips NamedTuple's Python-level __new__


def claims_from_payload(payload: Any) -> Claims:
    """Check types and shapes of a decoded payload; raises TransportError when anything is off."""
    if type(payload) is not dict:
        raise TransportError("payload is not an object")
    keys = payload.keys()
    if not (_REQUIRED_CLAIMS <= keys <= _ALLOWED_CLAIMS):
        raise TransportError("payload has missing or unknown claims")
    iss, aud, sch, jti, sub, prk = (payload["iss"], payload["aud"], payload["sch"], payload["jti"], payload["sub"],
                                    payload["prk"])
    if type(iss) is not str or not 0 < len(iss) <= 64:
        raise TransportError("bad iss")
    if type(aud) is not str or not _AUDIENCE_OK(aud):
        raise TransportError("bad aud")
    if type(sch) is not str or not _SCHEME_OK(sch):
        raise TransportError("bad sch")
    if type(jti) is not str or not _ID_OK(jti) or type(sub) is not str or not _ID_OK(sub):
        raise TransportError("bad jti or sub")
    iat, exp = payload["iat"], payload["exp"]
    if not (_is_time(iat) and _is_time(exp)):
        raise TransportError("bad iat or exp")
    if type(prk) is not list or len(prk) > MAX_PERKS:
        raise TransportError("bad prk")
    for p in prk:
        if type(p) is not str or not _PERK_OK(p):
            raise TransportError("bad prk")
    bnd = payload.get("bnd")
    if bnd is not None and (type(bnd) is not str or not BAND_RE.fullmatch(bnd)):
        raise TransportError("bad bnd")
    return Claims(iss, aud, iat, exp, jti, sub, sch, tuple(prk), bnd)


def new_jti() -> str:
    """96 random bits, base64url (16 characters)."""
    return b64url_encode(secrets.token_bytes(JTI_BYTES))


def pairwise_pseudonym(secret: bytes, citizen_id: str, audience: str, period: str | None = None) -> str:
    """The citizen's pseudonym *for one audience* (and, given ``period``, for that period only).

    A keyed HMAC, so venues of two audiences cannot link the same citizen, and nobody without the
    issuer's secret can compute it from a citizen id. With ``period`` (the backend passes the UTC day) the
    pseudonym also changes from one period to the next, so a venue type cannot follow one citizen across
    days. 112 bits, base32 upper case without padding.
    """
    if len(secret) < 16:
        raise ValueError("pseudonym secret must be at least 16 bytes")
    message = f"perkpass-pseudonym\x00{audience}\x00{citizen_id}"
    if period is not None:
        message += f"\x00{period}"
    mac = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:PSEUDONYM_BYTES]).decode("ascii").rstrip("=")


# --------------------------------------------------------------------------------------- QR sizing

# Data codewords at error-correction level M for QR versions 1..40 (ISO/IEC 18004 table 7).
_DATA_CODEWORDS_M = (
    16, 28, 44, 64, 86, 108, 124, 154, 182, 216, 254, 290, 334, 365, 415, 453, 507, 563, 627, 669,
    714, 782, 860, 914, 1000, 1062, 1128, 1193, 1267, 1373, 1455, 1541, 1631, 1725, 1812, 1914, 1992,
    2102, 2216, 2334,
)


def qr_version_m(qr_text: str) -> int:
    """Smallest QR version holding ``qr_text`` at level M as an alphanumeric prefix + numeric segment."""
    prefix, digits = qr_text[: len(QR_PREFIX)], qr_text[len(QR_PREFIX) :]
    for version, codewords in enumerate(_DATA_CODEWORDS_M, start=1):
        num_cc, an_cc = (10, 9) if version <= 9 else (12, 11) if version <= 26 else (14, 13)
        bits = 4 + an_cc + 11 * (len(prefix) // 2) + 6 * (len(prefix) % 2)
        bits += 4 + num_cc + 10 * (len(digits) // 3) + (0, 4, 7)[len(digits) % 3]
        if bits <= codewords * 8:
            return version
    raise ValueError("does not fit in any QR version")


def qr_segments(qr_text: str) -> list[tuple[str, str]]:
    """The two segments a QR encoder should use: [("alphanumeric", "PP1"), ("numeric", digits)]."""
    return [("alphanumeric", qr_text[: len(QR_PREFIX)].upper()), ("numeric", qr_text[len(QR_PREFIX) :])]


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode("ascii")
