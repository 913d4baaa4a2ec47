"""Verification of Perkpass material with joserfc, an independent JOSE implementation, using only what the
issuer publishes: the root JWK, the trust list, the JWKS and the PP1 transport as documented in
docs/credential-format.md (its preset dictionary is published in assets/test-vectors). Nothing here
imports partner_sdk: these helpers stand in for a partner who writes their own verifier."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

from joserfc import jws
from joserfc.jwk import KeySet, OKPKey

VECTORS = Path(__file__).resolve().parents[2] / "assets" / "test-vectors" / "perkpass-v1.json"
PRESET_DICTIONARY = base64.b64decode(json.loads(VECTORS.read_text())["preset_dictionary_b64"])


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pp1_to_compact_jws(qr_text: str) -> str:
    """The PP1 transport undone as the spec describes it, written from the spec alone."""
    assert qr_text[:3].upper() == "PP1"
    value = int(qr_text[3:])
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    assert data[0] == 1, "sentinel"
    body, signature = data[1:-64], data[-64:]
    inflater = zlib.decompressobj(-15, zdict=PRESET_DICTIONARY)
    header, payload = (inflater.decompress(body) + inflater.flush()).split(b"\x00")
    return ".".join((b64u(header), b64u(payload), b64u(signature)))


def verify_trust_list(trust_list: str, root_jwk: dict) -> dict:
    """Verify the trust list with the published root JWK, found by the header's kid; return its payload."""
    roots = KeySet([OKPKey.import_key(root_jwk)])
    obj = jws.deserialize_compact(trust_list, roots, algorithms=["EdDSA"])
    assert obj.protected["typ"] == "perkpass-trust-list+jwt"
    return json.loads(obj.payload)


def verify_code(compact: str, jwks: dict) -> dict:
    """Verify a credential JWS with the issuer keys (a JWKS), found by kid; return its claims."""
    keys = KeySet([OKPKey.import_key({k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "kid", "use", "alg")})
                   for jwk in jwks["keys"]])
    obj = jws.deserialize_compact(compact, keys, algorithms=["EdDSA"])
    assert obj.protected["typ"] == "perkpass-credential+jwt"
    return json.loads(obj.payload)
