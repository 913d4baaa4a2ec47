"""Issue 10.6: an independent JOSE implementation (joserfc) verifies trust lists and genuine codes from the
published material alone, and agrees with the SDK on what is *not* genuine."""

import json
import warnings

import pytest

from partner_sdk import Verifier

from .conftest import T0

jose = pytest.importorskip("tests.sdk.jose_interop", reason="joserfc is part of the dev extra")
joserfc_errors = pytest.importorskip("joserfc.errors")

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated:Warning")


def test_joserfc_verifies_trust_list_and_codes_with_the_published_root_jwk(issuer, store):
    tl = issuer.trust_list(T0 - 60)
    payload = jose.verify_trust_list(tl, issuer.root_public_jwk)  # found by kid: header and JWK agree
    assert payload["seq"] == 1 and payload["iss"] == issuer.issuer
    for text in (issuer.credential("metro", ["MOLI-METRO20"], now=T0).qr_text,
                 issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=T0, scheme="bailu", band="B").qr_text):
        claims = jose.verify_code(jose.pp1_to_compact_jws(text), {"keys": payload["keys"]})
        d = Verifier(store, claims["aud"]).verify(text, now=T0 + 1)
        assert d.granted and (d.jti, d.expires_at, list(d.perks)) == (claims["jti"], claims["exp"], claims["prk"])


def test_the_root_kid_is_what_the_trust_list_header_names(issuer):
    from partner_sdk.trust import build_trust_list
    from partner_sdk.keys import public_jwk
    published = public_jwk(issuer.root_key, kid="root-2026")
    tl = build_trust_list(root_key=issuer.root_key, issuer=issuer.issuer, keys=issuer.trusted_keys(), sequence=1,
                          now=T0, root_kid="root-2026")
    assert jose.verify_trust_list(tl, published)["seq"] == 1
    with pytest.raises(joserfc_errors.JoseError):  # a JWK whose kid the header does not name is not found
        jose.verify_trust_list(tl, public_jwk(issuer.root_key, kid="another-kid"))


def _flip_unused_bit(segment: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) | 1]


def test_joserfc_and_the_sdk_both_refuse_bytes_that_were_not_signed(issuer, store):
    tl_payload = jose.verify_trust_list(issuer.trust_list(T0 - 60), issuer.root_public_jwk)
    jws = issuer.credential("metro", ["MOLI-METRO20"], now=T0).jws
    h, p, s = jws.split(".")
    for forged in (".".join((h, p, _flip_unused_bit(s))),
                   ".".join((h, _flip_unused_bit(p), s)) if len(p) % 4 in (2, 3) else None):
        if forged is None:
            continue
        with pytest.raises(joserfc_errors.JoseError):
            jose.verify_code(forged, {"keys": tl_payload["keys"]})
        assert not Verifier(store, "metro").verify(forged, now=T0 + 1).granted
    assert Verifier(store, "metro").verify(jws, now=T0 + 1).granted


def test_test_vectors_verify_with_joserfc():
    vectors = json.loads(jose.VECTORS.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        granted = [c for c in vectors["cases"] if c["expected"][0] == "GRANTED" and c["qr_text"][:3].upper() == "PP1"]
        assert granted
        for case in granted:
            payload = jose.verify_trust_list(case["trust_list"], vectors["root_public_key"])
            claims = jose.verify_code(jose.pp1_to_compact_jws(case["qr_text"]), {"keys": payload["keys"]})
            assert claims["aud"] == case["audience"]
