"""Issuing credentials (used by the backend). Keys and time are parameters, never globals."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from . import format as fmt
from .errors import IssuanceError



@dataclass(frozen=True, slots=True)
class IssuedCredential:
    qr_text: str
    jws: str
    jti: str
    issued_at: int
    expires_at: int

    @property
    def qr_version_m(self) -> int:
        return fmt.qr_version_m(self.qr_text)


def issue_credential(
    *,
    signing_key: Ed25519PrivateKey,
    kid: str,
    issuer: str,
    audience: str,
    subject: str,
    perks: Sequence[str],
    scheme: str,
    now: int | float | datetime,
    lifetime: int = fmt.DEFAULT_LIFETIME,
    band: str | None = None,
    jti: str | None = None,
) -> IssuedCredential:
    """Sign a credential saying *subject may have these perks at this audience, now*, and pack it for a QR.

    ``perks`` must be non-empty: Perkpass never issues a code that says "not eligible". ``subject`` is the
    pairwise pseudonym (see :func:`partner_sdk.format.pairwise_pseudonym`), never a citizen id.
    """
    if not isinstance(signing_key, Ed25519PrivateKey):
        raise IssuanceError("signing_key must be an Ed25519 private key")
    if not (isinstance(kid, str) and 0 < len(kid) <= 64):
        raise IssuanceError("kid must be a short string")
    if not fmt.AUDIENCE_RE.match(audience or ""):
        raise IssuanceError(f"bad audience {audience!r}")
    if not fmt.SCHEME_RE.match(scheme or ""):
        raise IssuanceError(f"bad scheme {scheme!r}")
    if not (isinstance(issuer, str) and 0 < len(issuer) <= 64):
        raise IssuanceError("issuer must be 1-64 characters")
    if not fmt.ID_RE.match(subject or ""):
        raise IssuanceError("subject must be a pseudonym (8-64 url-safe characters)")
    codes = sorted(set(perks))
    if not codes:
        raise IssuanceError("no perks: a citizen without a perk gets no code")
    if len(codes) > fmt.MAX_PERKS or not all(fmt.PERK_CODE_RE.match(c) for c in codes):
        raise IssuanceError(f"perk codes must be 1-{fmt.MAX_PERKS} upper-case codes")
    if band is not None and not fmt.BAND_RE.match(band):
        raise IssuanceError("bad band")
    if not (isinstance(lifetime, int) and 10 <= lifetime <= fmt.MAX_LIFETIME):
        raise IssuanceError(f"lifetime must be 10..{fmt.MAX_LIFETIME} seconds")
    jti = jti or fmt.new_jti()
    if not fmt.ID_RE.match(jti):
        raise IssuanceError("bad jti")
    issued_at = int(fmt.to_epoch(now))
    claims = fmt.build_claims(
        issuer=issuer, audience=audience, subject=subject, perks=codes, scheme=scheme,
        issued_at=issued_at, lifetime=lifetime, jti=jti, band=band,
    )
    payload_json = fmt.canonical_json(claims)
    header_json, header_b64 = _header(kid)
    signing_input = header_b64 + b"." + fmt.b64url_bytes(payload_json)
    signature = _EDDSA.sign(signing_input, signing_key)
    jws = (signing_input + b"." + fmt.b64url_bytes(signature)).decode("ascii")
    return IssuedCredential(fmt.pack_qr_text(header_json, payload_json, signature), jws, jti, issued_at,
                            issued_at + lifetime)


# The JWS is assembled here and signed by pyjwt's EdDSA algorithm object, byte for byte what
# ``jwt.PyJWS().encode(payload, key, algorithm="EdDSA", headers={"kid", "typ"})`` returns (Ed25519 is
# deterministic; tests/sdk/test_issue.py compares the two) without its per-call header JSON and the
# base64 round trip into the QR transport: ~45 µs less per code, measured by bench/verify.py.
_EDDSA = OKPAlgorithm()


@functools.lru_cache(maxsize=64)
def _header(kid: str) -> tuple[bytes, bytes]:
    """(header JSON, its base64url): pyjwt's form, keys sorted, compact separators."""
    header = {"alg": fmt.ALGORITHM, "kid": kid, "typ": fmt.CREDENTIAL_TYP}
    header_json = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return header_json, fmt.b64url_bytes(header_json)
