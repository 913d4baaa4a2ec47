"""The credential format and its QR transport."""

import json

import pytest
from hypothesis import given, strategies as st

from partner_sdk.errors import IssuanceError
from partner_sdk.format import pairwise_pseudonym
from partner_sdk.issue import issue_credential
from partner_sdk import format as fmt
from partner_sdk.qr import build_qr

from .conftest import T0

THREE_GOV_PERKS = ["MOLI-GOV-PRIORITY", "MOLI-GOV-ASSIST", "MOLI-GOV-EXPRESS"]


@given(st.binary(max_size=400))
def test_digit_transport_round_trips_any_bytes(data):
    digits = fmt.bytes_to_digits(data)
    assert digits.isascii() and digits.isdigit() and digits[0] != "0"
    assert fmt.digits_to_bytes(digits) == data


@pytest.mark.parametrize("bad", ["", "0123", "12_34", " 123", "123 ", "123\n", "+123", "-123", "1 23", "１２３", "²³",
                                 "12a", "1.5", "1e5", "12\x00"])
def test_digit_transport_refuses_non_canonical_digits(bad):
    with pytest.raises(fmt.TransportError):
        fmt.digits_to_bytes(bad)


def test_qr_text_uses_only_hid_safe_characters(issuer):
    code = issuer.credential("gov-office", THREE_GOV_PERKS, now=T0).qr_text
    assert code.startswith("PP1") and code[3:].isdigit()


def test_credential_carries_no_score_and_only_the_documented_claims(issuer):
    cred = issuer.credential("metro", ["MOLI-METRO20"], now=T0)
    payload = json.loads(fmt.parse_qr_text(cred.qr_text).payload_json)
    assert set(payload) == {"iss", "aud", "iat", "exp", "jti", "sub", "sch", "prk"}
    assert payload["exp"] - payload["iat"] == fmt.DEFAULT_LIFETIME
    header = json.loads(fmt.parse_qr_text(cred.qr_text).header_json)
    assert header == {"alg": "EdDSA", "kid": issuer.kid, "typ": "perkpass-credential+jwt"}


def test_band_only_when_explicitly_given(issuer):
    cred = issuer.credential("rental", ["SESAME-RENTAL"], now=T0, band="650-700", scheme="sesame")
    assert json.loads(fmt.parse_qr_text(cred.qr_text).payload_json)["bnd"] == "650-700"


@pytest.mark.parametrize("perks", [["MOLI-METRO20"], THREE_GOV_PERKS, THREE_GOV_PERKS + ["MOLI-GOV-EXTRA"]])
def test_typical_credential_fits_qr_version_11_at_level_m(issuer, perks):
    cred = issuer.credential("gov-office", perks, now=T0, issuer=None)
    assert cred.qr_version_m <= 11
    # our arithmetic agrees with a real encoder using the two segments
    assert build_qr(cred.qr_text).version == cred.qr_version_m


def test_three_perks_fit_version_10(issuer):
    assert issuer.credential("gov-office", THREE_GOV_PERKS, now=T0).qr_version_m <= 10


def test_jti_has_at_least_96_random_bits(issuer):
    jtis = {issuer.credential("metro", ["MOLI-METRO20"], now=T0).jti for _ in range(200)}
    assert len(jtis) == 200
    assert all(len(fmt.b64url_decode(j)) * 8 >= 96 for j in jtis)


def test_pairwise_pseudonyms_differ_by_audience_and_are_stable():
    secret = b"s" * 32
    a = pairwise_pseudonym(secret, "citizen-42", "library")
    assert a == pairwise_pseudonym(secret, "citizen-42", "library")
    assert a != pairwise_pseudonym(secret, "citizen-42", "metro")
    assert a != pairwise_pseudonym(b"t" * 32, "citizen-42", "library")
    # with a period (the backend passes the UTC day) it changes from one period to the next
    assert pairwise_pseudonym(secret, "citizen-42", "library", "20423") != pairwise_pseudonym(secret, "citizen-42", "library", "20424")
    assert pairwise_pseudonym(secret, "citizen-42", "library", "20423") != a
    assert a.isupper() or a.isalnum()


@pytest.mark.parametrize("kwargs, why", [
    (dict(perks=[]), "no perks"),
    (dict(lifetime=fmt.MAX_LIFETIME + 1), "lifetime"),
    (dict(lifetime=5), "lifetime"),
    (dict(audience="Metro!"), "audience"),
    (dict(perks=["lower-case"]), "perk codes"),
    (dict(perks=[f"P{i}" for i in range(fmt.MAX_PERKS + 1)]), "perk codes"),
    (dict(subject="short"), "subject"),
])
def test_issuer_refuses_what_the_format_does_not_allow(issuer, kwargs, why):
    args = dict(signing_key=issuer.signing_key, kid=issuer.kid, issuer=issuer.issuer, audience="metro",
                subject=pairwise_pseudonym(b"k" * 32, "c", "metro"), perks=["MOLI-METRO20"], scheme="moli", now=T0)
    args.update(kwargs)
    with pytest.raises(IssuanceError, match=why):
        issue_credential(**args)


def test_inflate_is_capped_against_deflate_bombs():
    import zlib
    comp = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, fmt.PRESET_DICTIONARY)
    bomb = comp.compress(b"{" + b" " * 100_000 + b"}\x00{}") + comp.flush()
    text = fmt.QR_PREFIX + fmt.bytes_to_digits(bomb + bytes(64))
    assert len(text) < fmt.MAX_QR_TEXT
    with pytest.raises(fmt.TransportError):
        fmt.parse_qr_text(text)


def test_naive_datetime_is_refused():
    from datetime import datetime
    with pytest.raises(ValueError):
        fmt.to_epoch(datetime(2026, 1, 1))


@pytest.mark.parametrize("band", [None, "650-700"])
def test_canonical_fast_path_and_general_json_path_agree(issuer, band):
    cred = issuer.credential("gov-office", THREE_GOV_PERKS, now=T0, band=band)
    payload_json = fmt.parse_qr_text(cred.qr_text).payload_json
    assert fmt._CANONICAL_PAYLOAD.fullmatch(payload_json.decode())  # issuers write the canonical form
    fast = fmt.claims_from_payload_json(payload_json)
    assert fast == fmt.claims_from_payload(json.loads(payload_json))
    # the same claims in another key order, with spaces and an escaped character, take the general path
    claims = json.loads(payload_json)
    claims["iss"] = "perkpass.fuzhou"
    reordered = json.dumps(dict(reversed(list(claims.items()))), indent=1).replace("fuzhou", "fuzh\\u006fu").encode()
    assert fmt._CANONICAL_PAYLOAD.fullmatch(reordered.decode()) is None
    assert fmt.claims_from_payload_json(reordered) == fast._replace(iss="perkpass.fuzhou")


@pytest.mark.parametrize("mutation", [
    (b'"iat":', b'"iat":"'), (b'"prk":[', b'"prk":[7,'), (b'"aud":"', b'"aud":"UPPER'), (b'"sch":"', b'"sch":"-'),
    (b'}', b',"score":713}'), (b'"jti":"', b'"jti":"#'),
])
def test_payload_shape_errors_are_refused_on_both_paths(issuer, mutation):
    payload_json = fmt.parse_qr_text(issuer.credential("metro", ["MOLI-METRO20"], now=T0).qr_text).payload_json
    old, new = mutation
    bad = payload_json.replace(old, new, 1)
    with pytest.raises((fmt.TransportError, ValueError)):
        fmt.claims_from_payload_json(bad)


def test_identifier_patterns_refuse_a_trailing_newline():
    for pattern, good in [(fmt.AUDIENCE_RE, "metro"), (fmt.PERK_CODE_RE, "MOLI-METRO20"), (fmt.SCHEME_RE, "moli"),
                          (fmt.ID_RE, "abcdefgh"), (fmt.BAND_RE, "AAA")]:
        assert pattern.match(good) and not pattern.match(good + "\n")
