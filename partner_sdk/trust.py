"""Signed trust lists: how a verifier learns, offline, which issuer keys to accept and until when.

A trust list is a compact JWS (EdDSA, ``typ: perkpass-trust-list+jwt``) signed by the issuer's *root*
key, which the partner pins once at set-up. Its payload::

    {"iss": issuer id, "seq": sequence number, "iat": issued at, "next_update": when to fetch a newer one,
     "exp": after this the list must not be used, "keys": [JWK + "nbf" + "not_after"], "perks": {code: …},
     "venue_types": {audience: policy} (optional, :mod:`partner_sdk.venue_policy`),
     "bbs_keys": [{"kid", "pk", "nbf", "not_after"[, "revoked_at"]}] (optional: the issuer's BBS keys for
     PP3 codes, :mod:`partner_sdk.pp3`)}

A verifier refuses a list with a bad root signature and a list older (lower ``seq``) than the one it
holds, so an attacker cannot bring back a retired key by replaying an old list.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import re
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import format as fmt
from . import pp3
from . import venue_policy
from .errors import (
    InvalidKeyError,
    TrustListError,
    TrustListTooLargeError,
    TrustListExpiredError,
    TrustListRollbackError,
    TrustListSignatureError,
    TrustListUnavailableError,
)
from .keys import jwk_thumbprint, load_public_key, public_jwk

log = logging.getLogger("partner_sdk.trust")

MAX_TRUST_LIST_BYTES = 1_000_000
_JWS = jwt.PyJWS(algorithms=[fmt.ALGORITHM])


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """An issuer signing key and the window in which credentials it signed are accepted."""

    kid: str
    public_key: Ed25519PublicKey
    not_before: int
    not_after: int
    # Set when the key is compromised: from this instant on *every* code it signed is refused (REVOKED),
    # whatever its iat says (a thief backdates iat). The key stays listed so the answer stays precise.
    revoked_at: int | None = None

    def to_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = public_jwk(self.public_key, kid=self.kid)
        jwk.update({"use": "sig", "alg": fmt.ALGORITHM, "nbf": int(self.not_before), "not_after": int(self.not_after)})
        if self.revoked_at is not None:
            jwk["revoked_at"] = int(self.revoked_at)
        return jwk


def build_trust_list(
    *,
    root_key: Ed25519PrivateKey,
    issuer: str,
    keys: Iterable[TrustedKey],
    sequence: int,
    now: int | float | datetime,
    next_update_in: int = 86_400,
    valid_for: int = 7 * 86_400,
    perks: Mapping[str, Any] | None = None,
    revoked: Iterable[str] = (),
    root_kid: str | None = None,
    root_chain: Sequence[str] = (),
    venue_types: Mapping[str, Mapping[str, Any]] | None = None,
    bbs_keys: Iterable[pp3.BbsKey] = (),
) -> str:
    """Sign a trust list with the root key. Returns the compact JWS text.

    ``root_kid``: the ``kid`` of the root JWK the issuer publishes (default: its thumbprint); the header
    names it, so a standard JOSE library given the published root JWK (or a JWKS of roots) finds the key.
    ``root_chain``: the root statements (:func:`build_root_statement`) from the first root to ``root_key``,
    oldest first, so a verifier that still pins an older root follows them to this one.

    ``revoked``: ids of PP2 perk certificates that verifiers must refuse (only those not yet expired).
    ``venue_types``: each venue type's policy (:func:`partner_sdk.venue_policy.encode_member`); verifiers apply
    their audience's from this list on.
    ``bbs_keys``: the issuer's BBS public keys, which PP3 codes are checked against.
    """
    if not isinstance(root_key, Ed25519PrivateKey):
        raise InvalidKeyError("root_key must be an Ed25519 private key")
    if not (0 < next_update_in <= valid_for):
        raise TrustListError("next_update_in must be positive and not after the list expires")
    iat = int(fmt.to_epoch(now))
    payload = {
        "iss": issuer,
        "seq": int(sequence),
        "iat": iat,
        "next_update": iat + int(next_update_in),
        "exp": iat + int(valid_for),
        "keys": [k.to_jwk() for k in keys],
        "perks": dict(perks or {}),
    }
    if root_chain:  # absent when empty: lists stay byte-identical for verifiers that predate rotation
        payload["roots"] = list(root_chain)
    if venue_types is not None:  # absent when not given: lists stay byte-identical for verifiers that predate it
        try:
            payload["venue_types"] = venue_policy.encode_member(venue_types)
        except ValueError as exc:
            raise TrustListError(f"venue type policy: {exc}") from None
    bbs_member = [k.to_member() for k in bbs_keys]
    if bbs_member:  # absent when empty: lists stay byte-identical for verifiers that predate PP3
        try:
            pp3.decode_bbs_keys(bbs_member)  # the issuer never signs a member its verifiers would refuse
        except ValueError as exc:
            raise TrustListError(f"bbs_keys: {exc}") from None
        payload["bbs_keys"] = bbs_member
    revoked_text = encode_revoked(revoked)
    if revoked_text:  # absent when empty: lists stay byte-identical for verifiers that predate PP2
        payload["revoked"] = revoked_text
    jws = _JWS.encode(
        fmt.canonical_json(payload), root_key, algorithm=fmt.ALGORITHM,
        headers={"kid": root_kid or jwk_thumbprint(root_key), "typ": fmt.TRUST_LIST_TYP},
    )
    if len(jws) > MAX_TRUST_LIST_BYTES:
        # signing it anyway would publish a list every verifier refuses: they would keep the older list,
        # without these withdrawals, until it expires
        raise TrustListTooLargeError(
            f"trust list would be {len(jws):,} bytes, over the {MAX_TRUST_LIST_BYTES:,} verifiers read: "
            f"{len(revoked_text) // REVOKED_ID_CHARS:,} withdrawn certificate ids, at most "
            f"{revoked_capacity(jws):,} fit with these keys and perks")
    return jws


# --------------------------------------------------------------------- withdrawn PP2 certificates
# A certificate id is 12 bytes, whose base64url text is exactly 16 characters (12 is a multiple of 3: no
# padding, no unused bits, so every 16 characters of the alphabet are a canonical id). The ``revoked`` member
# is one string: those texts sorted in ASCII order and concatenated, no separator. A reader splits it every 16
# characters without decoding base64, and checks order with plain string comparison (JavaScript's < too).
# 16 characters per id instead of 19 as a JSON list ("…",), 21 1/3 bytes per id of the signed list.
REVOKED_ID_CHARS = 16
_BASE64URL_CHARS = re.compile(r"[A-Za-z0-9_-]+").fullmatch


def encode_revoked(ids: Iterable[str]) -> str:
    """The ``revoked`` member for these certificate ids: sorted, unique, concatenated ("" for none)."""
    unique = sorted(set(ids))
    if not all(type(i) is str and len(i) == REVOKED_ID_CHARS and _BASE64URL_CHARS(i) for i in unique):
        raise TrustListError(f"revoked certificate ids must be {REVOKED_ID_CHARS}-character base64url ids "
                             f"(12-byte PP2 certificate ids)")
    return "".join(unique)


def decode_revoked(member: Any) -> frozenset[str]:
    """The certificate ids a trust list's ``revoked`` member withdraws, or raise :class:`TrustListError`.

    Anything malformed (not a string, empty, a length that is not a multiple of 16, a character outside
    base64url, ids out of order or repeated) makes the whole list invalid, never "no revocations".
    """
    if type(member) is list:  # the form of lists signed by SDK 0.1.0 issuers; see below
        return _decode_revoked_list(member)
    if type(member) is not str or not member:
        raise _malformed("revoked must be a non-empty string of 16-character certificate ids")
    if len(member) % REVOKED_ID_CHARS:
        raise _malformed(f"revoked is {len(member)} characters, not a multiple of {REVOKED_ID_CHARS}")
    if not _BASE64URL_CHARS(member):
        raise _malformed("revoked holds a character outside base64url")
    ids = [member[i:i + REVOKED_ID_CHARS] for i in range(0, len(member), REVOKED_ID_CHARS)]
    return _sorted_unique(ids)


def _decode_revoked_list(member: list[Any]) -> frozenset[str]:
    # Read for one release only: lists signed by 0.1.0 issuers carried a JSON list of ids and stay valid for up to
    # 7 days (a verifier upgraded while offline keeps its cached list instead of refusing every code until it
    # syncs), and the v1 test vectors carry one. Our issuer always wrote 16-character ids, sorted, once each.
    if not member or not all(type(i) is str and len(i) == REVOKED_ID_CHARS and _BASE64URL_CHARS(i) for i in member):
        raise _malformed("revoked must be a non-empty list of 16-character certificate ids")
    return _sorted_unique(member)


def _sorted_unique(ids: list[str]) -> frozenset[str]:
    # strictly ascending = as many distinct ids as ids, and already sorted (timsort checks a sorted run in one
    # C pass: a third of the time of comparing pairs in Python, which matters for 46,000 ids)
    unique = frozenset(ids)
    if len(unique) != len(ids) or ids != sorted(ids):
        raise _malformed("revoked certificate ids are not in strictly ascending order (unsorted or repeated)")
    return unique


def revoked_capacity(trust_list: str) -> int:
    """How many withdrawn certificate ids a list like ``trust_list`` (a list this issuer signed: the same
    header and other members, whatever it withdraws now) can carry within ``MAX_TRUST_LIST_BYTES``. For an
    issuer's monitor, to warn before a list it must publish would be refused."""
    header, payload, signature = trust_list.split(".")
    members = json.loads(fmt.b64url_decode(payload))
    members.pop("revoked", None)
    others = len(fmt.canonical_json(members))  # the builder's serialization: "revoked" comes last
    member = len(',"revoked":""')
    # the payload segment is ceil(4x/3) characters for x bytes, and ceil(4x/3) <= room <=> x <= floor(3 room / 4)
    room = MAX_TRUST_LIST_BYTES - len(header) - len(signature) - 2
    return max(0, (room * 3 // 4 - others - member) // REVOKED_ID_CHARS)


class FreshnessState(str, enum.Enum):
    FRESH = "fresh"
    STALE = "stale"  # past next_update: still usable, but say so
    EXPIRED = "expired"  # past exp: codes are refused with TRUST_LIST_EXPIRED
    MISSING = "missing"  # no trust list loaded at all


@dataclass(frozen=True, slots=True)
class Freshness:
    state: FreshnessState
    age_seconds: float | None = None
    next_update: int | None = None
    expires_at: int | None = None

    @property
    def usable(self) -> bool:
        return self.state in (FreshnessState.FRESH, FreshnessState.STALE)

    def describe(self) -> str:
        if self.state is FreshnessState.MISSING:
            return "no trust list"
        age = _human_age(self.age_seconds or 0)
        return {"fresh": f"fresh ({age} old)", "stale": f"stale ({age} old)",
                "expired": f"expired ({age} old)"}[self.state.value]


def _human_age(seconds: float) -> str:
    s = int(max(0, seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172_800:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


@dataclass(frozen=True, slots=True)
class TrustList:
    """A verified trust list. Only :class:`TrustStore` makes these."""

    issuer: str
    sequence: int
    issued_at: int
    next_update: int
    expires_at: int
    keys: Mapping[str, TrustedKey]
    perks: Mapping[str, Any]
    raw: bytes = field(repr=False)
    # PP2 certificate ids (16-character base64url texts) withdrawn before their end (perk lost, device
    # removed, opt-out); an id leaves the list once its certificate has expired, so the list stays bounded by
    # the certificates' lifetime. A set: one hash lookup per scan, ~100 bytes of memory per id
    revoked: frozenset[str] = frozenset()
    # which root signed it: 0 = a pinned root, N = the root announced by the chain's statement of version N
    root_version: int = 0
    # each venue type's policy (grace, reuse intervals, labels); None when the list publishes none (v1 lists):
    # a verifier asks venue_policy.policy_for(list.venue_types, audience)
    venue_types: Mapping[str, venue_policy.VenuePolicy] | None = None
    # the issuer's BBS keys for PP3 codes, by kid (empty when the list has no bbs_keys member)
    bbs_keys: Mapping[str, pp3.BbsKey] = field(default_factory=dict)


_TRUST_LIST_HEADER_KEYS = frozenset({"alg", "kid", "typ"})
ROOT_STATEMENT_TYP = "perkpass-root+jwt"
MAX_ROOT_CHAIN = 64


# ------------------------------------------------------------------------------------------ root rotation
# In the spirit of TUF's root rotation: root N+1 is announced by a *root statement* signed by root N,
#     header {"alg":"EdDSA","kid":<root N kid>,"typ":"perkpass-root+jwt"}
#     payload {"iss": issuer, "ver": N+1, "root": <root N+1 public JWK>, "iat": …}
# and every trust list signed by root N+1 carries the statements from the first root on ("roots"). A verifier
# that pinned root 1, or last saw root 3, follows the statements it has not seen, each verified with the root
# before it, then verifies the list with the newest root. It then holds only that root: a list signed by a
# retired root is refused from then on, and the root version is kept with the rollback high-water mark.

def build_root_statement(*, old_root: Ed25519PrivateKey, new_root: Ed25519PublicKey | Ed25519PrivateKey,
                         issuer: str, version: int, now: int | float | datetime, old_kid: str | None = None,
                         new_kid: str | None = None) -> str:
    """Root ``version`` (the new root, 2 for the first rotation) announced by the root before it."""
    if not isinstance(old_root, Ed25519PrivateKey):
        raise InvalidKeyError("old_root must be an Ed25519 private key")
    if type(version) is not int or version < 2:
        raise TrustListError("a root statement announces root version 2 or later")
    payload = {"iss": issuer, "ver": version, "root": public_jwk(new_root, kid=new_kid), "iat": int(fmt.to_epoch(now))}
    return _JWS.encode(fmt.canonical_json(payload), old_root, algorithm=fmt.ALGORITHM,
                       headers={"kid": old_kid or jwk_thumbprint(old_root), "typ": ROOT_STATEMENT_TYP})


def _split_jws(text: Any, what: str) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    """(header, payload, signature, signing input) of a compact JWS with canonical segments, or raise."""
    if type(text) is not str or len(text) > MAX_TRUST_LIST_BYTES:
        raise TrustListSignatureError(f"not a {what} JWS")
    parts = text.split(".")
    if len(parts) != 3:
        raise TrustListSignatureError(f"not a {what} JWS: not three segments")
    try:
        header = fmt.json_loads_bounded(fmt.b64url_decode(parts[0]), max_depth=2)
        payload = fmt.b64url_decode(parts[1])
        signature = fmt.b64url_decode(parts[2])
    except ValueError as exc:
        raise TrustListSignatureError(f"not a {what} JWS: {exc}") from None
    if type(header) is not dict or header.get("alg") != fmt.ALGORITHM or set(header) - _TRUST_LIST_HEADER_KEYS:
        raise TrustListSignatureError(f"not a Perkpass {what} (typ/alg/crit)")
    return header, payload, signature, (parts[0] + "." + parts[1]).encode("ascii")


def _signed_by(roots: Sequence[Ed25519PublicKey], signature: bytes, signing_input: bytes) -> bool:
    for root in roots:
        try:
            root.verify(signature, signing_input)
            return True
        except InvalidSignature:
            continue
    return False


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes_raw()


def follow_root_chain(chain: Any, roots: Sequence[Ed25519PublicKey], version: int
                      ) -> tuple[list[Ed25519PublicKey], int, str | None]:
    """Follow the root statements not seen yet from ``roots`` (at root ``version``, 0 when only pinned).

    Returns (roots now trusted, their version, the statements' issuer or None). Statements at or below
    ``version`` are skipped; one that names a root already held moves the version on; one signed by a held
    root moves to its new root. Before the chain reaches a held root, statements are history and skipped;
    after it, a statement that does not follow is an error (a broken or forged chain).
    """
    if chain is None:
        return list(roots), version, None
    if type(chain) is not list or len(chain) > MAX_ROOT_CHAIN:
        raise _malformed("roots must be a list of root statements")
    current, ver, linked, issuer = list(roots), version, False, None
    for text in chain:
        header, payload_bytes, signature, signing_input = _split_jws(text, "root statement")
        if header.get("typ") != ROOT_STATEMENT_TYP:
            raise TrustListSignatureError("not a Perkpass root statement (typ)")
        try:
            p = fmt.json_loads_bounded(payload_bytes, max_depth=3)
            if type(p) is not dict or type(p.get("ver")) is not int or type(p.get("iss")) is not str \
                    or type(p.get("root")) is not dict or not _is_time(p.get("iat")):
                raise ValueError("iss, ver, root and iat required")
            new_root = load_public_key({k: p["root"].get(k) for k in ("kty", "crv", "x")})
        except (ValueError, InvalidKeyError) as exc:
            raise _malformed(f"root statement: {exc}") from None
        if issuer is not None and p["iss"] != issuer:
            raise _malformed("root statements name different issuers")
        issuer = p["iss"]
        if p["ver"] <= ver:
            continue  # followed already (or older than the root this verifier holds)
        if any(_raw(new_root) == _raw(r) for r in current):
            current, ver, linked = [new_root], p["ver"], True  # names the root held: now we know its version
            continue
        if (not linked or p["ver"] == ver + 1) and _signed_by(current, signature, signing_input):
            current, ver, linked = [new_root], p["ver"], True
            continue
        if linked:
            raise TrustListSignatureError(f"root statement for version {p['ver']} is not signed by root {ver}")
    return current, ver, issuer




def _is_time(v: Any) -> bool:
    return type(v) is int and 0 <= v < fmt.MAX_EPOCH


def parse_trust_list(data: bytes | str, root_keys: Iterable[Ed25519PublicKey]) -> TrustList:
    """Verify ``data`` against the pinned root keys (following its root chain) and return its content.

    The signature is checked over the received text itself, and every base64url segment must be canonical,
    so only the exact bytes the root signed are accepted. Every malformed list, signed or not, raises a
    :class:`TrustListError` (never AttributeError, RecursionError, …).
    """
    return _parse_trust_list(data, list(root_keys), 0)[0]


def _parse_trust_list(data: bytes | str, roots: list[Ed25519PublicKey], root_version: int
                      ) -> tuple[TrustList, list[Ed25519PublicKey], int]:
    raw = data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_TRUST_LIST_BYTES:
        raise TrustListTooLargeError(f"trust list is {len(raw):,} bytes, over the {MAX_TRUST_LIST_BYTES:,} a verifier "
                                     f"reads")
    text = raw.decode("ascii", "replace").strip()
    header, payload_bytes, signature, signing_input = _split_jws(text, "trust list")
    if header.get("typ") != fmt.TRUST_LIST_TYP:
        raise TrustListSignatureError("not a Perkpass trust list (typ/alg/crit)")
    # The chain sits in the payload, which is only trusted once the newest root verified it; until then it
    # is only read to learn which root that is (every statement is itself verified on the way).
    try:
        unverified = fmt.json_loads_bounded(payload_bytes, max_depth=8)
    except ValueError as exc:
        raise _malformed(str(exc)) from None
    chain = unverified.get("roots") if type(unverified) is dict else None
    roots, root_version, chain_issuer = follow_root_chain(chain, roots, root_version)
    if not _signed_by(roots, signature, signing_input):
        raise TrustListSignatureError("trust list is not signed by the pinned root key (or the root it rotated to)")
    tl = _trust_list_content(payload_bytes, text.encode("ascii"), root_version)
    if chain_issuer is not None and chain_issuer != tl.issuer:
        raise _malformed("root statements name another issuer")
    return tl, roots, root_version


def _malformed(why: str) -> TrustListError:
    return TrustListError(f"trust list content malformed: {why}")


def _trust_list_content(payload_bytes: bytes, raw: bytes, root_version: int = 0) -> TrustList:
    try:
        p = fmt.json_loads_bounded(payload_bytes, max_depth=8)
    except ValueError as exc:
        raise _malformed(str(exc)) from None
    if type(p) is not dict:
        raise _malformed("payload is not an object")
    fields: list[Any] = [p.get(k) for k in ("iss", "seq", "iat", "next_update", "exp")]
    iss, seq, iat, next_update, exp = fields
    if type(iss) is not str or not 0 < len(iss) <= 64:
        raise _malformed("iss")
    if not (_is_time(seq) and _is_time(iat) and _is_time(next_update) and _is_time(exp)):
        raise _malformed("seq, iat, next_update and exp must be integers")
    if not iat <= next_update <= exp:
        raise _malformed("iat <= next_update <= exp does not hold")
    jwks, perks = p.get("keys"), p.get("perks", {})
    if type(jwks) is not list or not all(type(j) is dict for j in jwks):
        raise _malformed("keys must be a list of JWK objects")
    if type(perks) is not dict:
        raise _malformed("perks must be an object")
    revoked = decode_revoked(p["revoked"]) if "revoked" in p else frozenset()
    try:
        venue_types = venue_policy.decode_member(p["venue_types"]) if "venue_types" in p else None
    except ValueError as exc:
        raise _malformed(str(exc)) from None
    try:
        bbs_keys = pp3.decode_bbs_keys(p["bbs_keys"]) if "bbs_keys" in p else {}
    except ValueError as exc:
        raise _malformed(str(exc)) from None
    keys: dict[str, TrustedKey] = {}
    kids: set[str] = set()
    for jwk in jwks:
        kid, nbf, not_after = jwk.get("kid"), jwk.get("nbf"), jwk.get("not_after")
        if type(kid) is not str or not kid:
            raise _malformed("a key has no kid")
        if kid in kids:  # last-one-wins would let a list say two things about one kid
            raise _malformed(f"duplicate kid {kid[:40]!r}")
        kids.add(kid)
        if not (_is_time(nbf) and _is_time(not_after)) or nbf > not_after:
            raise _malformed(f"key {kid[:40]!r}: nbf and not_after must be integers, nbf <= not_after")
        revoked_at = jwk.get("revoked_at")
        if revoked_at is not None and not _is_time(revoked_at):
            raise _malformed(f"key {kid[:40]!r}: revoked_at must be an integer")
        if "d" in jwk:
            raise _malformed(f"key {kid[:40]!r} includes its private part: the issuer must rotate it")
        if jwk.get("alg", fmt.ALGORITHM) != fmt.ALGORITHM:
            continue  # only EdDSA keys are ever trusted
        try:
            public_key = load_public_key({k: jwk.get(k) for k in ("kty", "crv", "x")})
        except InvalidKeyError as exc:
            raise _malformed(f"key {kid[:40]!r}: {exc}") from None
        keys[kid] = TrustedKey(kid, public_key, nbf, not_after, revoked_at)
    return TrustList(iss, seq, iat, next_update, exp, keys, perks, raw, revoked, root_version, venue_types,
                     bbs_keys)


class TrustStore:
    """The verifier's view of the issuer: pinned root key(s) plus the newest verified trust list.

    ``cache_dir`` (optional) keeps the last good list, its ETag, the highest sequence number seen and the
    root the lists' root chain led to, so a restarted verifier works offline, still refuses a rolled-back
    list and still refuses a list signed by a root it has seen retired. Thread-safe.
    """

    def __init__(self, root_public_key: Any, cache_dir: str | os.PathLike[str] | None = None) -> None:
        roots = root_public_key if isinstance(root_public_key, (list, tuple)) else [root_public_key]
        if not roots:
            raise InvalidKeyError("at least one root public key must be pinned")
        self._roots = [load_public_key(r) for r in roots]
        self._root_version = 0  # 0: the pinned root(s); N: the root announced by root statement N
        self._lock = threading.Lock()
        self._current: TrustList | None = None
        self._etag: str | None = None
        self._high_water = 0
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        if self._cache_dir is not None:
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            self._load_cache()

    # ---------------------------------------------------------------- state
    @property
    def current(self) -> TrustList | None:
        return self._current

    @property
    def issuer(self) -> str | None:
        return self._current.issuer if self._current else None

    @property
    def sequence(self) -> int | None:
        return self._current.sequence if self._current else None

    @property
    def perk_catalogue(self) -> Mapping[str, Any]:
        return self._current.perks if self._current else {}

    @property
    def etag(self) -> str | None:
        return self._etag

    @property
    def root_version(self) -> int:
        """0 while the pinned root signs; N once a root chain led to the root of version N."""
        return self._root_version

    @property
    def root_keys(self) -> list[Ed25519PublicKey]:
        """The root key(s) a trust list must be signed by now (the pinned ones until a rotation)."""
        return list(self._roots)

    def key(self, kid: str) -> TrustedKey | None:
        cur = self._current
        return cur.keys.get(kid) if cur else None

    def freshness(self, now: int | float | datetime | None = None) -> Freshness:
        cur = self._current
        if cur is None:
            return Freshness(FreshnessState.MISSING)
        t = time.time() if now is None else fmt.to_epoch(now)
        if t < cur.next_update:
            state = FreshnessState.FRESH
        elif t < cur.expires_at:
            state = FreshnessState.STALE
        else:
            state = FreshnessState.EXPIRED
        return Freshness(state, t - cur.issued_at, cur.next_update, cur.expires_at)

    # ---------------------------------------------------------------- loading
    def load_bytes(self, data: bytes | str, now: int | float | datetime | None = None, *,
                   etag: str | None = None) -> TrustList:
        """Verify and adopt a trust list. Raises on a bad signature, a rollback or a list already expired at
        ``now`` (default: this device's clock); keeps the old list then."""
        t = time.time() if now is None else fmt.to_epoch(now)
        tl, roots, root_version = _parse_trust_list(data, self._roots, self._root_version)
        if t >= tl.expires_at:
            # an expired list is useless and, adopted, would raise the rollback high-water mark above a fresh one
            raise TrustListExpiredError(
                f"trust list sequence {tl.sequence} expired {_human_age(t - tl.expires_at)} ago")
        with self._lock:
            held = max(self._high_water, self._current.sequence if self._current else 0)
            if tl.sequence < held:
                raise TrustListRollbackError(f"trust list sequence {tl.sequence} is older than {held} already held")
            if self._current is not None and tl.sequence == self._current.sequence and tl.raw != self._current.raw:
                raise TrustListRollbackError(f"a different trust list with the same sequence {tl.sequence}")
            if self._current is not None and self._current.issuer != tl.issuer:
                raise TrustListError(f"trust list issuer changed from {self._current.issuer!r} to {tl.issuer!r}")
            if root_version < self._root_version:
                raise TrustListRollbackError(f"signed by root {root_version}, older than root {self._root_version}")
            self._current = tl
            self._roots, self._root_version = roots, root_version
            self._high_water = max(held, tl.sequence)
            self._etag = etag
            self._save_cache()
        return tl

    def load_file(self, path: str | os.PathLike[str], now: int | float | datetime | None = None) -> TrustList:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise TrustListUnavailableError(f"cannot read trust list file {path}: {exc}") from exc
        return self.load_bytes(data, now)

    def load_url(self, url: str, now: int | float | datetime | None = None, timeout: float = 5.0) -> TrustList:
        """Fetch with ``If-None-Match``; on network failure fall back to what is held (or cached)."""
        if not url.startswith(("https://", "http://")):
            raise TrustListError("trust list URL must be http(s)")
        req = urllib.request.Request(  # noqa: S310 - scheme checked above
            url, headers={"Accept": "application/jwt", "User-Agent": "perkpass-sdk"})
        if self._etag and self._current is not None:
            req.add_header("If-None-Match", self._etag)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked above
                body = resp.read(MAX_TRUST_LIST_BYTES + 1)
                etag = resp.headers.get("ETag")
        except urllib.error.HTTPError as exc:
            if exc.code == 304 and self._current is not None:
                return self._current
            return self._fallback(f"HTTP {exc.code} from {url}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return self._fallback(f"cannot fetch {url}: {exc}")
        return self.load_bytes(body, now, etag=etag)

    def _fallback(self, why: str) -> TrustList:
        if self._current is None:
            raise TrustListUnavailableError(why + " and no trust list is cached")
        log.warning("trust list fetch failed, keeping sequence %s: %s", self._current.sequence, why)
        return self._current

    # ---------------------------------------------------------------- cache
    def _load_cache(self) -> None:
        assert self._cache_dir is not None
        state_file = self._cache_dir / "trust-state.json"
        try:
            state = fmt.json_loads_bounded(state_file.read_bytes(), max_depth=2)
            if type(state) is dict and _is_time(state.get("high_water", 0)):
                self._high_water = state.get("high_water", 0)
                etag = state.get("etag")
                self._etag = etag if isinstance(etag, str) else None
                root, version = state.get("root"), state.get("root_version", 0)
                if type(version) is int and version > 0 and isinstance(root, dict):
                    self._roots, self._root_version = [load_public_key(root)], version
        except (OSError, ValueError, InvalidKeyError):
            pass  # a corrupt state file: start from the cached list (the high-water mark is also its seq)
        list_file = self._cache_dir / "trust-list.jws"
        if list_file.exists():
            try:
                tl, roots, version = _parse_trust_list(list_file.read_bytes(), self._roots, self._root_version)
                if tl.sequence >= self._high_water:
                    self._current = tl
                    self._roots, self._root_version = roots, version
            except TrustListError as exc:
                log.warning("ignoring unusable cached trust list: %s", exc)
                self._etag = None

    def _save_cache(self) -> None:
        if self._cache_dir is None or self._current is None:
            return
        _atomic_write(self._cache_dir / "trust-list.jws", self._current.raw)
        state: dict[str, Any] = {"high_water": self._high_water, "etag": self._etag}
        if self._root_version:
            state.update(root=public_jwk(self._roots[0]), root_version=self._root_version)
        _atomic_write(self._cache_dir / "trust-state.json", json.dumps(state).encode())


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
