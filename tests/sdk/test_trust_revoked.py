"""Withdrawn PP2 certificates in the trust list: the compact ``revoked`` member, its capacity and its refusals.

The spec (docs/credential-format.md, "Trust list") promises at least 45,000 withdrawn certificate ids in a list
of at most 1,000,000 bytes, and that a malformed ``revoked`` member makes the whole list invalid, never
"no revocations".
"""

import base64
import json
import random

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from partner_sdk import Status, TrustListError, TrustListSignatureError, TrustListTooLargeError, TrustStore, Verifier
from partner_sdk import format as fmt
from partner_sdk import pp2
from partner_sdk.trust import MAX_TRUST_LIST_BYTES, build_trust_list, revoked_capacity

from .conftest import T0

PROMISED_IDS = 45_000


def random_ids(n: int, seed: int = 18) -> list[str]:
    rng = random.Random(seed)
    return [fmt.b64url_encode(rng.randbytes(pp2.CERT_ID_BYTES)) for _ in range(n)]


def payload_of(jws: str) -> dict:
    return json.loads(fmt.b64url_decode(jws.split(".")[1]))


def signed(issuer, payload: dict) -> str:
    """A list with exactly this payload, signed by the issuer's root: what only a buggy or hostile issuer makes."""
    return jwt.PyJWS(algorithms=["EdDSA"]).encode(
        fmt.canonical_json(payload), issuer.root_key, algorithm="EdDSA",
        headers={"kid": "root", "typ": fmt.TRUST_LIST_TYP})


def largest_list(issuer, ids: list[str]) -> tuple[str, int]:
    """The list carrying as many of ``ids`` as fit (binary search on the issuer's own refusal)."""
    lo, hi, best = 0, len(ids), ""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            best, lo = issuer.trust_list(T0, sequence=2, revoked=ids[:mid]), mid
        except TrustListTooLargeError:
            hi = mid - 1
    return best or issuer.trust_list(T0, sequence=2, revoked=ids[:lo]), lo


@pytest.fixture
def device():
    return Ed25519PrivateKey.generate()


def test_the_member_is_the_sorted_ids_concatenated(issuer):
    ids = random_ids(5)
    member = payload_of(issuer.trust_list(T0, revoked=ids + ids[:2]))["revoked"]
    assert member == "".join(sorted(ids))  # what a second implementation reads: 16 characters per id, ASCII order
    assert [base64.urlsafe_b64decode(member[i:i + 16]) for i in range(0, len(member), 16)] == \
        [base64.urlsafe_b64decode(i) for i in sorted(ids)]
    assert "revoked" not in payload_of(issuer.trust_list(T0))  # absent when nothing is withdrawn


def test_the_largest_list_holds_the_promised_ids_and_revokes_exactly_those(issuer, device):
    withdrawn = issuer.certificate("metro", ["MOLI-METRO20"], device.public_key(), now=T0)
    kept = issuer.certificate("metro", ["MOLI-METRO20"], device.public_key(), now=T0)
    ids = random_ids(60_000)
    ids[len(ids) // 2] = withdrawn.cert_id  # somewhere inside the sorted run, not at an edge
    jws, n = largest_list(issuer, ids)
    assert n >= PROMISED_IDS and len(jws) <= MAX_TRUST_LIST_BYTES < len(jws) + 22  # one more id would not fit
    store = TrustStore(issuer.root_public_jwk)
    store.load_bytes(jws, now=T0)
    assert len(store.current.revoked) == n and withdrawn.cert_id in store.current.revoked
    verifier = Verifier(store, "metro")
    assert verifier.verify(pp2.sign_presentation(withdrawn.raw, device, T0 + 10), now=T0 + 10).status is Status.REVOKED
    assert verifier.verify(pp2.sign_presentation(kept.raw, device, T0 + 10), now=T0 + 10).status is Status.GRANTED


def test_an_issuer_refuses_to_sign_a_list_verifiers_would_refuse(issuer):
    fit = revoked_capacity(issuer.trust_list(T0))
    with pytest.raises(TrustListTooLargeError, match=rf"would be [\d,]+ bytes, over the 1,000,000 verifiers read: "
                                                     rf"50,000 withdrawn certificate ids, at most {fit:,} fit"):
        issuer.trust_list(T0, revoked=random_ids(50_000))


@pytest.mark.parametrize("withdrawn_now", [0, 10, 40_000])
def test_the_capacity_an_issuer_is_told_is_exact(issuer, withdrawn_now):
    """revoked_capacity(a list) = the most ids a list with its other members can carry, whatever it withdraws."""
    ids = random_ids(50_000, seed=withdrawn_now)
    fit = revoked_capacity(issuer.trust_list(T0, revoked=ids[:withdrawn_now]))
    assert fit >= PROMISED_IDS
    assert len(issuer.trust_list(T0, revoked=ids[:fit])) <= MAX_TRUST_LIST_BYTES
    with pytest.raises(TrustListTooLargeError):
        issuer.trust_list(T0, revoked=ids[:fit + 1])


def test_a_list_over_the_limit_is_refused_and_the_held_one_kept(issuer):
    store = issuer.trust_store(T0, sequence=1, revoked=random_ids(3))
    held = store.current
    too_big = signed(issuer, {**payload_of(issuer.trust_list(T0, sequence=2)), "revoked": "".join(sorted(random_ids(50_000)))})
    assert len(too_big) > MAX_TRUST_LIST_BYTES
    with pytest.raises(TrustListTooLargeError, match=r"trust list is [\d,]+ bytes, over the 1,000,000 a verifier reads"):
        store.load_bytes(too_big, now=T0)
    assert store.current is held


GOOD = sorted(random_ids(3, seed=1))


@pytest.mark.parametrize("member", [
    pytest.param("".join(GOOD)[:-1], id="length-not-a-multiple-of-16"),
    pytest.param("".join(GOOD) + "A", id="one-character-over"),
    pytest.param("", id="empty-string"),
    pytest.param(GOOD[0][:-1] + "=" + GOOD[1] + GOOD[2], id="padding-character"),
    pytest.param(GOOD[0][:-1] + "+" + GOOD[1] + GOOD[2], id="standard-base64-character"),
    pytest.param(GOOD[0][:-1] + "é" + GOOD[1] + GOOD[2], id="non-ascii"),
    pytest.param(GOOD[1] + GOOD[0] + GOOD[2], id="unsorted"),
    pytest.param(GOOD[0] + GOOD[1] + GOOD[1] + GOOD[2], id="duplicate"),
    # base64url puts "A" (0) before "0" (52); ASCII puts "0" first: the order is the text's, not the bytes'
    pytest.param("A" * 16 + "0" + "A" * 15, id="sorted-by-bytes-not-by-text"),
    pytest.param(None, id="null"),
    pytest.param(12, id="number"),
    pytest.param({"ids": "".join(GOOD)}, id="object"),
    pytest.param([GOOD[1], GOOD[0]], id="old-list-form-unsorted"),
    pytest.param([GOOD[0], GOOD[0]], id="old-list-form-duplicate"),
    pytest.param([], id="old-list-form-empty"),
    pytest.param([GOOD[0] + "AAAA"], id="old-list-form-not-a-certificate-id"),
    pytest.param(["".join(GOOD)], id="old-list-form-new-string-inside"),
    pytest.param([1, 2], id="old-list-form-numbers"),
])
def test_a_malformed_member_makes_the_list_invalid_never_no_revocations(issuer, device, member):
    cert = issuer.certificate("metro", ["MOLI-METRO20"], device.public_key(), now=T0)
    store = issuer.trust_store(T0, sequence=1, revoked=[cert.cert_id])
    bad = signed(issuer, {**payload_of(issuer.trust_list(T0, sequence=2)), "revoked": member})
    with pytest.raises(TrustListError, match="revoked") as raised:
        store.load_bytes(bad, now=T0)
    assert not isinstance(raised.value, TrustListSignatureError)  # correctly signed: it is the content that is bad
    assert store.sequence == 1  # the held list, with its withdrawal, stays in force
    d = Verifier(store, "metro").verify(pp2.sign_presentation(cert.raw, device, T0 + 10), now=T0 + 10)
    assert d.status is Status.REVOKED
    with pytest.raises(TrustListError, match="revoked"):  # and a fresh verifier adopts nothing
        TrustStore(issuer.root_public_jwk).load_bytes(bad, now=T0)


def test_lists_signed_in_the_old_list_form_are_read_for_one_release(issuer, device, tmp_path):
    """A verifier upgraded while offline still holds a list its old issuer signed: it keeps working with it."""
    cert = issuer.certificate("metro", ["MOLI-METRO20"], device.public_key(), now=T0)
    ids = sorted(random_ids(4) + [cert.cert_id])
    old_form = signed(issuer, {**payload_of(issuer.trust_list(T0, sequence=3)), "revoked": ids})
    TrustStore(issuer.root_public_jwk, cache_dir=tmp_path).load_bytes(old_form, now=T0)
    restarted = TrustStore(issuer.root_public_jwk, cache_dir=tmp_path)  # reads the cached list from disk
    assert restarted.sequence == 3 and restarted.current.revoked == frozenset(ids)
    d = Verifier(restarted, "metro").verify(pp2.sign_presentation(cert.raw, device, T0 + 10), now=T0 + 10)
    assert d.status is Status.REVOKED


@pytest.mark.parametrize("bad_id", ["short-id", "A" * 22, "A" * 15 + "=", "A" * 15 + "/", 12])
def test_the_issuer_refuses_ids_that_are_not_certificate_ids(bad_id):
    with pytest.raises(TrustListError, match="16-character"):
        build_trust_list(root_key=Ed25519PrivateKey.generate(), issuer="perkpass.test", keys=[], sequence=1,
                         now=T0, revoked=[bad_id])
