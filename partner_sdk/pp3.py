"""PP3: unlinkable codes (issue 23). Defined here and only here; the BBS operations are in :mod:`partner_sdk.bbs`.

A PP2 code carries its certificate id, so a venue type can link one citizen's visits for a day. A PP3 code
carries a fresh zero-knowledge proof instead: two codes of one citizen share no value.

* The **certificate** is a blind BBS signature (CFRG drafts "The BBS Signature Scheme", BLS12-381-SHA-256,
  "Blind BBS Signatures" and "BBS per Verifier Linkability": BlindSignWithNym, api_id
  ``BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_H2G_HM2S_PSEUDONYM_``) by the issuer's BBS key over five messages: the
  issuer's three, venue type (audience), perks (sorted, comma-joined) and validity day (UTC day number,
  decimal), then the holder's two, committed blindly: the commitment's blind and the pseudonym secret
  (the phone's random part plus the issuer's ``signer_nym_entropy``). Every message the issuer signs is shown
  in every code: the scheme is not signed (no gate decision reads it, each perk code belongs to one scheme,
  and a hidden message would cost each proof 32 bytes); ``Certificate.scheme`` is the issuer's label for the
  phone's screen. The issuer sees only a hiding commitment with a proof that the phone knows its opening, so
  it never learns the secret and cannot compute the holder's pseudonyms. The signature's header is
  ``"perkpass-pp3-certificate" 0x00 issuer 0x00 kid || I2OSP(1, 8)`` (the pseudonym draft's combined header,
  one pseudonym secret).
* A **presentation** is a BBS proof, made by the phone for each code, disclosing only messages 0, 1, 2
  (venue type, perks, day), bound to the presentation header ``"perkpass-pp3-presentation" 0x00 ||
  I2OSP(slot, 8)`` (slot = presented time // 30 s); the holder's blind and secret stay hidden. The day is
  not in the code's bytes: it is the slot's UTC day (slot * 30 // 86400), so a certificate makes codes only
  for the slots of its own day, by construction (a slot of another day discloses another day: the proof fails).
* **Quotas without linking**: with the proof comes a pseudonym (CFRG "BBS per Verifier Linkability") for
  the context ``"perkpass-pp3-nym" 0x00 issuer 0x00 venue type 0x00 || I2OSP(window, 4) || I2OSP(index, 8)``,
  where ``window`` is the venue type's quota window in seconds (:func:`quota_window`) and ``index`` =
  slot start // window. It is the same for one certificate's holder in one window at one venue type and
  unlinkable across windows and venue types; the gate remembers it for the window ("once per visit", "once a
  day"). A code for a window other than the one the gate's policy says is refused: a holder choosing among
  windows would get one pseudonym per choice.

Byte layout (integers unsigned big-endian)::

    [0]      1   0x31: high nibble 3 (format), low bit 1 = a pseudonym follows (every code made today has one)
    [1:5]    4   BBS key reference: SHA-256(kid as UTF-8)[:4] (shared by every holder of one key)
    [5:9]    4   slot (presented time // 30); the validity day is slot * 30 // 86400
    [9]      1   n: length of the claims block
    [10:10+n] n  raw DEFLATE(audience 0x00 perks, zdict=pp2.PRESET_DICTIONARY)
    if flag:  4  quota window (seconds)
             48  pseudonym (compressed G1 point)
    rest         BBS proof (3 points and 4 + U scalars; U = 2 undisclosed messages: 336 bytes)

QR transport: ``"PP3"`` + decimal(0x01 || all of the above), like PP1 and PP2.

There is no certificate id to withdraw: PP3 relies on a short validity (one UTC day) instead, and the
issuer's key can be withdrawn as a whole (``revoked_at``). See docs/design/pp3.md.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from py_arkworks_bls12381 import G1Point

from . import bbs
from . import format as fmt
from . import pp2

TRANSPORT_VERSION = "3"
QR_PREFIX = fmt.TRANSPORT_PREFIX + TRANSPORT_VERSION
FORMAT = 3
FLAG_PSEUDONYM = 0x01
API_ID = bbs.CIPHERSUITE_ID + b"H2G_HM2S_PSEUDONYM_"
CERT_CONTEXT = b"perkpass-pp3-certificate\x00"
PRESENTATION_CONTEXT = b"perkpass-pp3-presentation\x00"
NYM_CONTEXT = b"perkpass-pp3-nym\x00"
DAY = 86_400
SLOT_SECONDS = pp2.SLOT_SECONDS
KEY_REF_LEN = 4
SIGNER_MESSAGES = 3  # venue type, perks, day: all shown; then the holder's two blind scalars
MESSAGE_COUNT = SIGNER_MESSAGES + 2  # ... prover blind (3) and pseudonym secret (4), committed, never shown
DISCLOSED = (0, 1, 2)  # venue type, perks, validity day; never the holder's scalars
MAX_DAYS_AHEAD = 7  # an issuer signs at most a week of days ahead; a verifier refuses a day further out
# "Once per visit" for PP3: the shortest quota window, the PP2 reuse floor at the default window and leeway.
MIN_QUOTA_WINDOW = pp2.min_reuse_interval(pp2.DEFAULT_PRESENTATION_WINDOW, 5)

_HEAD = struct.Struct(">B4sIB")
HEAD_LEN = _HEAD.size  # 10: format, key reference, slot, claims length
_NYM = struct.Struct(">I48s")
_PROOF_LEN = 3 * bbs.OCTET_POINT_LENGTH + (4 + MESSAGE_COUNT - len(DISCLOSED)) * bbs.OCTET_SCALAR_LENGTH


@dataclass(frozen=True, slots=True)
class BbsKey:
    """An issuer's BBS public key as the trust list's ``bbs_keys`` member lists it."""

    kid: str
    public_key: bytes  # 96 bytes, a checked G2 point
    not_before: int
    not_after: int
    revoked_at: int | None = None

    def to_member(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"kid": self.kid, "pk": fmt.b64url_encode(self.public_key),
                                 "nbf": int(self.not_before), "not_after": int(self.not_after)}
        if self.revoked_at is not None:
            entry["revoked_at"] = int(self.revoked_at)
        return entry


_BBS_KEY_MEMBERS = frozenset({"kid", "pk", "nbf", "not_after", "revoked_at"})


def _is_time(v: Any) -> bool:
    return type(v) is int and 0 <= v < fmt.MAX_EPOCH


def decode_bbs_keys(member: Any) -> dict[str, BbsKey]:
    """The trust list's ``bbs_keys`` member, strictly: anything off raises ValueError (the list is refused)."""
    if type(member) is not list or len(member) > 16:
        raise ValueError("bbs_keys must be a list of at most 16 keys")
    keys: dict[str, BbsKey] = {}
    for entry in member:
        if type(entry) is not dict or not {"kid", "pk", "nbf", "not_after"} <= set(entry) \
                or not set(entry) <= _BBS_KEY_MEMBERS:
            raise ValueError("a bbs_keys entry is {kid, pk, nbf, not_after[, revoked_at]}")
        kid, pk, nbf, not_after = entry["kid"], entry["pk"], entry["nbf"], entry["not_after"]
        if type(kid) is not str or not 0 < len(kid) <= 64 or kid in keys:
            raise ValueError("bbs_keys: a kid is 1..64 characters and unique")
        if not (_is_time(nbf) and _is_time(not_after)) or nbf > not_after:
            raise ValueError(f"bbs key {kid!r}: nbf and not_after must be integers, nbf <= not_after")
        revoked_at = entry.get("revoked_at")
        if revoked_at is not None and not _is_time(revoked_at):
            raise ValueError(f"bbs key {kid!r}: revoked_at must be an integer")
        try:
            raw = fmt.b64url_decode(pk) if type(pk) is str else b""
            if fmt.b64url_encode(raw) != pk:
                raise ValueError("not canonical base64url")
            bbs.octets_to_pubkey(raw)
        except (ValueError, fmt.TransportError) as exc:
            raise ValueError(f"bbs key {kid!r}: pk is not a BBS public key ({exc})") from None
        keys[kid] = BbsKey(kid, raw, nbf, not_after, revoked_at)
    return keys


def key_reference(kid: str) -> bytes:
    return hashlib.sha256(kid.encode()).digest()[:KEY_REF_LEN]


def certificate_header(issuer: str, kid: str) -> bytes:
    return CERT_CONTEXT + issuer.encode() + b"\x00" + kid.encode() + bbs.i2osp(1, 8)


def presentation_header(slot: int) -> bytes:
    return PRESENTATION_CONTEXT + bbs.i2osp(slot, 8)


def nym_context(issuer: str, audience: str, window: int, slot: int) -> bytes:
    index = slot * SLOT_SECONDS // window
    return NYM_CONTEXT + f"{issuer}\x00{audience}\x00".encode() + bbs.i2osp(window, 4) + bbs.i2osp(index, 8)


def quota_window(usage_interval: int) -> int:
    """The pseudonym's window at a venue type for a certificate's perks: the venue type's policy
    (``VenuePolicy.usage_interval(perks)``: its reuse interval, lengthened by the perks' usage rules) and
    never shorter than :data:`MIN_QUOTA_WINDOW`. Phone and gate compute it alike from the trust list."""
    return max(MIN_QUOTA_WINDOW, usage_interval)


def window_end(window: int, slot: int) -> int:
    """When the quota window holding ``slot`` ends (epoch seconds): a gate remembers a pseudonym until then."""
    return (slot * SLOT_SECONDS // window + 1) * window


class HolderSecret(NamedTuple):
    """What only the phone knows: the blind of its commitment and its pseudonym secret (the issuer's entropy
    added to the phone's own part, so neither the issuer alone nor a stolen commitment can compute it)."""

    prover_blind: int
    nym_secret: int


def _signer_scalars(audience: str, perks: Sequence[str], day: int) -> list[int]:
    return bbs.messages_to_scalars(_disclosed_messages(audience, perks, day), API_ID)


def message_scalars(audience: str, perks: Sequence[str], day: int, secret: HolderSecret) -> list[int]:
    return [*_signer_scalars(audience, perks, day), secret.prover_blind % bbs.R, secret.nym_secret % bbs.R]


def slot_day(slot: int) -> int:
    """The UTC day a slot lies in (a day holds a whole number of slots): the day a code discloses."""
    return slot * SLOT_SECONDS // DAY


def _disclosed_messages(audience: str, perks: Sequence[str], day: int) -> list[bytes]:
    return [audience.encode(), ",".join(perks).encode(), str(day).encode()]


@functools.lru_cache(maxsize=256)  # a gate sees the same few (venue type, perks, day) all day
def _disclosed_scalars(audience: str, perks: tuple[str, ...], day: int) -> list[int]:
    return bbs.messages_to_scalars(_disclosed_messages(audience, perks, day), API_ID)


def _generators() -> list[G1Point]:
    # the signer's (Q_1, H_1..H_3), then the blind ones (Q_2 for the prover blind, J_1 for the secret)
    return bbs.create_generators(SIGNER_MESSAGES + 1, API_ID) + bbs.blind_generators(2, API_ID)


# ------------------------------------------------------------------------------------------- issuance

def _random_scalar() -> int:
    while True:
        value = int.from_bytes(secrets.token_bytes(48), "big") % bbs.R
        if value:
            return value


class HolderRequest(NamedTuple):
    """The phone's side of blind issuance: ``commitment`` goes to the issuer; the rest stays on the phone."""

    commitment: bytes  # commitment with proof (CFRG Blind BBS), 144 bytes
    prover_nym: int
    prover_blind: int


def holder_request(random_scalars: bbs.RandomScalars = bbs.calculate_random_scalars) -> HolderRequest:
    """A fresh pseudonym secret part and the hiding commitment to it (CommitWithNym, no other messages)."""
    prover_nym = _random_scalar()
    commitment, prover_blind = bbs.commit([prover_nym], API_ID, random_scalars)
    return HolderRequest(commitment, prover_nym, prover_blind)


def holder_secret(request: HolderRequest, signer_nym_entropy: int) -> HolderSecret:
    return HolderSecret(request.prover_blind, (request.prover_nym + signer_nym_entropy) % bbs.R)


class Certificate(NamedTuple):
    """What the phone keeps beside its :class:`HolderSecret`: the signed messages and the signature."""

    kid: str
    audience: str
    perks: tuple[str, ...]
    day: int
    scheme: str  # the issuer's label for the phone's screen, not signed (the code never shows it)
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        return {"kid": self.kid, "aud": self.audience, "prk": list(self.perks), "day": self.day,
                "sch": self.scheme, "sig": fmt.b64url_encode(self.signature)}


def _check_claims(audience: str, perks: Sequence[str], scheme: str, day: int) -> tuple[str, ...]:
    codes = tuple(sorted(set(perks)))
    if not fmt.AUDIENCE_RE.fullmatch(audience) or not fmt.SCHEME_RE.fullmatch(scheme):
        raise ValueError("bad audience or scheme")
    if not codes or len(codes) > fmt.MAX_PERKS or not all(fmt.PERK_CODE_RE.fullmatch(p) for p in codes):
        raise ValueError("bad perks")
    if not 0 <= day < 2**16:
        raise ValueError("day out of range")
    return codes


def blind_sign_certificate(sk: int, kid: str, issuer: str, audience: str, perks: Sequence[str], day: int,
                           scheme: str, commitment: bytes,
                           signer_nym_entropy: int | None = None) -> tuple[Certificate, int]:
    """The issuer's side: (certificate, signer_nym_entropy), both for the phone. The issuer checks the
    commitment's proof and never learns the holder's secret, so it cannot compute the holder's pseudonyms.
    Raises ValueError for a bad commitment or claims."""
    codes = _check_claims(audience, perks, scheme, day)
    try:
        if bbs.commit_verify(commitment, API_ID)[1] != 1:
            raise ValueError("the commitment must hold exactly the pseudonym secret")
        entropy = _random_scalar() if signer_nym_entropy is None else signer_nym_entropy
        pk = bbs.sk_to_pk(sk)
        signature = bbs.blind_sign_with_nym(sk, pk, commitment, entropy, certificate_header(issuer, kid),
                                            _signer_scalars(audience, codes, day), API_ID)
    except bbs.BBSError as exc:
        raise ValueError(str(exc)) from None
    return Certificate(kid, audience, codes, day, scheme, signature), entropy


def certificate_ok(cert: Certificate, public_key: bytes, issuer: str, secret: HolderSecret) -> bool:
    """The holder's check of what it was given (before it relies on it)."""
    scalars = message_scalars(cert.audience, cert.perks, cert.day, secret)
    return bbs.core_verify(public_key, cert.signature, _generators(), certificate_header(issuer, cert.kid),
                           scalars, API_ID)


# ----------------------------------------------------------------------------------------- presentation

def claims_block(audience: str, perks: Sequence[str]) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=pp2.PRESET_DICTIONARY)
    return deflater.compress(f"{audience}\x00{','.join(perks)}".encode()) + deflater.flush()


def present(cert: Certificate, secret: HolderSecret, public_key: bytes, issuer: str, now: int | float | datetime,
            window: int | None, random_scalars: bbs.RandomScalars = bbs.calculate_random_scalars) -> str:
    """What the phone does (in JavaScript) for each code; here for Python holders, tests and benchmarks.
    ``window``: the venue type's quota window (:func:`quota_window`), None for a code without a pseudonym.
    Raises ValueError for a time outside the certificate's day (its proof could not disclose that day)."""
    slot = int(fmt.to_epoch(now)) // SLOT_SECONDS
    if slot_day(slot) != cert.day:
        raise ValueError(f"a certificate for day {cert.day} makes codes only on that day")
    scalars = message_scalars(cert.audience, cert.perks, cert.day, secret)
    header, ph = certificate_header(issuer, cert.kid), presentation_header(slot)
    block = claims_block(cert.audience, cert.perks)
    if window is None:
        proof = bbs.core_proof_gen(public_key, cert.signature, _generators(), header, ph, scalars, DISCLOSED,
                                   API_ID, random_scalars)
        nym_part, flags = b"", 0
    else:
        context = nym_context(issuer, cert.audience, window, slot)
        proof, pseudonym = bbs.core_proof_gen_with_nym(public_key, cert.signature, _generators(), header, ph,
                                                       context, scalars, DISCLOSED, API_ID, random_scalars)
        nym_part, flags = _NYM.pack(window, pseudonym), FLAG_PSEUDONYM
    head = _HEAD.pack(FORMAT << 4 | flags, key_reference(cert.kid), slot, len(block))
    return QR_PREFIX + fmt.bytes_to_digits(head + block + nym_part + proof)


# ------------------------------------------------------------------------------------------ verifying

class Presentation(NamedTuple):
    """A parsed, unverified PP3 code."""

    key_ref: bytes
    slot: int
    audience: str
    perks: tuple[str, ...]
    window: int | None
    pseudonym: bytes | None
    proof: bytes

    @property
    def day(self) -> int:
        """The validity day the proof discloses: the slot's UTC day (not carried in the code)."""
        return slot_day(self.slot)

    @property
    def presented_at(self) -> int:
        return self.slot * SLOT_SECONDS

    @property
    def presentation_id(self) -> str:
        """A per-code identifier for replay memory and logs (``Decision.jti``): "pp3-" and a hash of the proof,
        which is fresh per code (the form partner_sdk.upload.PP3_JTI_RE)."""
        return "pp3-" + fmt.b64url_encode(hashlib.sha256(self.proof).digest()[:12])

    @property
    def pseudonym_text(self) -> str | None:
        return fmt.b64url_encode(self.pseudonym) if self.pseudonym is not None else None


def parse_qr_text(text: str) -> Presentation:
    """``PP3<digits>`` (any case, surrounding white space) to a parsed, unverified :class:`Presentation`."""
    if len(text) > fmt.MAX_QR_TEXT:
        raise fmt.TransportError("code too long")
    text = text.strip()
    if text[:3].upper() != QR_PREFIX:
        raise fmt.TransportError("not a PP3 code")
    data = fmt.digits_to_bytes(text[3:])
    if len(data) < _HEAD.size:
        raise fmt.TransportError("PP3 code too short")
    first, key_ref, slot, n = _HEAD.unpack_from(data)
    if first >> 4 != FORMAT or first & ~FLAG_PSEUDONYM & 0x0F:
        raise fmt.TransportError("not a PP3 format this verifier knows")
    pos = _HEAD.size
    audience, perks = _claims(data[pos:pos + n])
    pos += n
    window: int | None = None
    pseudonym: bytes | None = None
    if first & FLAG_PSEUDONYM:
        if len(data) < pos + _NYM.size:
            raise fmt.TransportError("PP3 code too short")
        window, pseudonym = _NYM.unpack_from(data, pos)
        pos += _NYM.size
    proof = data[pos:]
    if len(proof) != _PROOF_LEN:
        raise fmt.TransportError("PP3 proof has the wrong length")
    return Presentation(key_ref, slot, audience, perks, window, pseudonym, proof)


def _claims(block: bytes) -> tuple[str, tuple[str, ...]]:
    inflater = zlib.decompressobj(-15, zdict=pp2.PRESET_DICTIONARY)
    try:
        plain = inflater.decompress(block, pp2.MAX_CLAIMS_INFLATED + 1)
    except zlib.error as exc:
        raise fmt.TransportError("corrupt claims block") from exc
    if len(plain) > pp2.MAX_CLAIMS_INFLATED or not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        raise fmt.TransportError("claims block is not one complete stream of allowed size")
    parts = plain.split(b"\x00")
    if len(parts) != 2 or not plain.isascii():
        raise fmt.TransportError("claims block has the wrong fields")
    audience, perk_list = parts[0].decode(), parts[1].decode()
    perks = tuple(perk_list.split(",")) if perk_list else ()
    if not fmt.AUDIENCE_RE.fullmatch(audience):
        raise fmt.TransportError("bad audience")
    if not perks or len(perks) > fmt.MAX_PERKS or not all(fmt.PERK_CODE_RE.fullmatch(p) for p in perks) \
            or list(perks) != sorted(set(perks)):
        raise fmt.TransportError("bad perks")
    return audience, perks


def proof_ok(p: Presentation, key: BbsKey, issuer: str) -> bool:
    """The BBS proof (with its pseudonym, when the code carries one) against ``key``, for this issuer."""
    header, ph = certificate_header(issuer, key.kid), presentation_header(p.slot)
    disclosed = _disclosed_scalars(p.audience, p.perks, p.day)
    if p.pseudonym is None or p.window is None:
        return bbs.core_proof_verify(key.public_key, p.proof, _generators(), header, ph, disclosed, DISCLOSED,
                                     API_ID)
    if not MIN_QUOTA_WINDOW <= p.window <= pp2.MAX_REUSE_INTERVAL:
        return False
    context = nym_context(issuer, p.audience, p.window, p.slot)
    return bbs.core_proof_verify_with_nym(key.public_key, p.proof, p.pseudonym, context, _generators(), header,
                                          ph, disclosed, DISCLOSED, API_ID)
