"""The issuer assembles the JWS itself (for speed); it must be exactly what pyjwt would produce."""
import jwt
import pytest

from partner_sdk import Status, Verifier
from partner_sdk.issue import issue_credential
from partner_sdk import format as fmt

from .conftest import T0


@pytest.mark.parametrize("band", [None, "650-700"])
@pytest.mark.parametrize("perks", [["MOLI-METRO20"], ["MOLI-GOV-PRIORITY", "MOLI-GOV-ASSIST", "MOLI-GOV-EXPRESS"]])
def test_issued_jws_is_byte_for_byte_pyjwt_encode(issuer, perks, band):
    cred = issue_credential(signing_key=issuer.signing_key, kid=issuer.kid, issuer=issuer.issuer,
                            audience="gov-office", subject="S" * 22, perks=perks, scheme="moli", now=T0, band=band)
    payload_json = fmt.parse_qr_text(cred.qr_text).payload_json
    # Ed25519 is deterministic, so pyjwt's own encoder must give the same string for the same payload
    reference = jwt.PyJWS().encode(payload_json, issuer.signing_key, algorithm="EdDSA",
                                   headers={"kid": issuer.kid, "typ": fmt.CREDENTIAL_TYP})
    assert cred.jws == reference
    assert fmt.jws_to_qr_text(reference) == cred.qr_text
    # and pyjwt's full decoder, algorithms pinned, accepts it
    claims = jwt.decode(cred.jws, issuer.signing_key.public_key(), algorithms=["EdDSA"], audience="gov-office",
                        options={"verify_exp": False})
    assert claims["prk"] == sorted(perks) and claims.get("bnd") == band and "score" not in claims
    assert jwt.get_unverified_header(cred.jws) == {"alg": "EdDSA", "kid": issuer.kid, "typ": fmt.CREDENTIAL_TYP}
    store = issuer.trust_store(now=T0 - 60)
    assert Verifier(store, "gov-office").verify(cred.qr_text, now=T0 + 1).status is Status.GRANTED


def test_pack_qr_text_refuses_parts_that_cannot_round_trip(issuer):
    with pytest.raises(fmt.TransportError):
        fmt.pack_qr_text(b'{"alg":"EdDSA"}\x00', b"{}", b"s" * 64)
    with pytest.raises(fmt.TransportError):
        fmt.pack_qr_text(b'{"alg":"EdDSA"}', b"{}", b"short")
