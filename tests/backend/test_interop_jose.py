"""Issue 10.6: a partner using a standard JOSE library (joserfc) and only what the backend publishes - the
root JWK at /api/v1/trust-root, the trust list, the JWKS and a citizen's PP1 code - verifies them all."""
import pytest

jose = pytest.importorskip("tests.sdk.jose_interop", reason="joserfc is part of the dev extra")

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated:Warning")


def test_joserfc_verifies_the_served_trust_list_and_a_genuine_code(h, client):
    token = h.citizen("+8613900000961", {"moli": 713})
    root_jwk = client.get("/api/v1/trust-root").json["root_public_key"]
    trust_list = client.get("/api/v1/trust-list").get_data(as_text=True)
    payload = jose.verify_trust_list(trust_list, root_jwk)  # joserfc finds the root key by the header's kid
    jwks = client.get("/.well-known/jwks.json").json
    assert {k["kid"] for k in jwks["keys"]} == {k["kid"] for k in payload["keys"]}
    code = h.issue(token, "metro")
    claims = jose.verify_code(jose.pp1_to_compact_jws(code["qr_text"]), jwks)
    assert claims["aud"] == "metro" and claims["jti"] == code["jti"] and "score" not in claims
