"""Issue 13.7 in the SDK: root-key rotation by a chain of root statements (root N+1 announced by a statement
root N signs, carried by every list the new root signs), followed by a verifier that was offline through
two rotations, with rollback protection kept and retired roots refused."""

import json

import pytest

from partner_sdk import TrustedKey, TrustListError, TrustListRollbackError, TrustListSignatureError, TrustStore, Verifier
from partner_sdk.keys import generate_key
from partner_sdk.trust import build_root_statement, build_trust_list
from partner_sdk.testing import TestIssuer, derived_key

from .conftest import T0

DAY = 86_400


@pytest.fixture
def rotated(issuer):
    """Root 1 pinned; then two rotations (roots 2 and 3) and a new signing key while the verifier is away."""
    first_root = issuer.root_public_jwk
    first_list = issuer.trust_list(T0, sequence=1)
    retired_roots = [issuer.root_key]
    issuer.rotate_root(T0 + 10 * DAY)
    retired_roots.append(issuer.root_key)
    issuer.rotate_root(T0 + 20 * DAY)
    new_key = generate_key()
    keys = [TrustedKey("key-2", new_key.public_key(), T0 + 20 * DAY, T0 + 90 * DAY)]
    newest = issuer.trust_list(T0 + 21 * DAY, sequence=40, keys=keys)
    return first_root, first_list, newest, new_key, keys, retired_roots


def test_a_verifier_offline_through_two_rotations_syncs_once_and_verifies_the_newest_codes(issuer, rotated, tmp_path):
    first_root, first_list, newest, new_key, keys, retired = rotated
    store = TrustStore(first_root, cache_dir=tmp_path)
    store.load_bytes(first_list, now=T0)
    assert store.root_version == 0
    store.load_bytes(newest, now=T0 + 21 * DAY)  # one sync, three weeks later
    assert store.sequence == 40 and store.root_version == 3 and store.current.root_version == 3
    code = issuer.credential("metro", ["MOLI-METRO20"], now=T0 + 21 * DAY, signing_key=new_key, kid="key-2")
    assert Verifier(store, "metro").verify(code.qr_text, now=T0 + 21 * DAY + 2).granted


def test_after_the_rotation_a_list_signed_by_a_retired_root_is_refused_even_after_a_restart(issuer, rotated, tmp_path):
    first_root, first_list, newest, _, keys, retired = rotated
    store = TrustStore(first_root, cache_dir=tmp_path)
    store.load_bytes(first_list, now=T0)
    store.load_bytes(newest, now=T0 + 21 * DAY)
    t = T0 + 22 * DAY
    forged = [build_trust_list(root_key=retired[0], issuer=issuer.issuer, keys=keys, sequence=99, now=t),
              build_trust_list(root_key=retired[1], issuer=issuer.issuer, keys=keys, sequence=99, now=t,
                               root_chain=issuer.root_chain[:1])]
    for text in forged:
        with pytest.raises(TrustListSignatureError):
            store.load_bytes(text, now=t)
    assert store.sequence == 40
    restarted = TrustStore(first_root, cache_dir=tmp_path)  # the kiosk's config still pins root 1
    assert restarted.root_version == 3 and restarted.sequence == 40
    for text in forged:
        with pytest.raises(TrustListSignatureError):
            restarted.load_bytes(text, now=t)
    # rollback protection kept across the rotation: an older list of the newest root is refused too
    with pytest.raises(TrustListRollbackError):
        restarted.load_bytes(issuer.trust_list(T0 + 21 * DAY, sequence=39, keys=keys), now=t)


def test_a_new_partner_pinning_the_newest_root_reads_the_same_list(issuer, rotated):
    *_, newest, _, _, _ = rotated
    store = TrustStore(issuer.root_public_jwk)
    assert store.load_bytes(newest, now=T0 + 21 * DAY).sequence == 40
    assert store.root_version == 3  # it learns its root's version from the statement naming it


def test_a_middle_root_pinned_follows_the_rest_of_the_chain(issuer, rotated):
    *_, newest, _, _, _ = rotated
    store = TrustStore(derived_key(issuer.seed, "root-2").public_key())
    assert store.load_bytes(newest, now=T0 + 21 * DAY).sequence == 40 and store.root_version == 3


def test_a_chain_not_rooted_in_the_pinned_root_is_refused(issuer):
    pinned = issuer.root_public_jwk
    attacker = TestIssuer(issuer=issuer.issuer, seed=b"attacker", kid=issuer.kid)
    attacker.rotate_root(T0)
    store = TrustStore(pinned)
    with pytest.raises(TrustListSignatureError):
        store.load_bytes(attacker.trust_list(T0, sequence=2), now=T0)
    assert store.current is None


def test_a_broken_chain_after_the_link_is_refused(issuer):
    pinned = issuer.root_public_jwk
    s2 = issuer.rotate_root(T0)
    rogue = build_root_statement(old_root=generate_key(), new_root=generate_key().public_key(), issuer=issuer.issuer,
                                 version=3, now=T0)
    text = build_trust_list(root_key=issuer.root_key, issuer=issuer.issuer, keys=issuer.trusted_keys(), sequence=2,
                            now=T0, root_chain=[s2, rogue])
    with pytest.raises(TrustListSignatureError):
        TrustStore(pinned).load_bytes(text, now=T0)


@pytest.mark.parametrize("bad", ["not a jws", 7, "e30.e30.AAAA"])
def test_malformed_root_statements_are_trust_list_errors(issuer, bad):
    pinned = issuer.root_public_jwk
    text = build_trust_list(root_key=issuer.root_key, issuer=issuer.issuer, keys=issuer.trusted_keys(), sequence=2,
                            now=T0, root_chain=[bad])
    with pytest.raises(TrustListError):
        TrustStore(pinned).load_bytes(text, now=T0)


def test_statement_for_another_issuer_is_refused(issuer):
    pinned = issuer.root_public_jwk
    new_root = derived_key(issuer.seed, "root-x")
    s2 = build_root_statement(old_root=issuer.root_key, new_root=new_root.public_key(), issuer="perkpass.elsewhere",
                              version=2, now=T0)
    text = build_trust_list(root_key=new_root, issuer=issuer.issuer, keys=issuer.trusted_keys(), sequence=2, now=T0,
                            root_chain=[s2])
    with pytest.raises(TrustListError):
        TrustStore(pinned).load_bytes(text, now=T0)


def test_lists_without_a_rotation_are_byte_identical_to_before(issuer):
    text = issuer.trust_list(T0)
    payload = json.loads(__import__("base64").urlsafe_b64decode(text.split(".")[1] + "=="))
    assert "roots" not in payload
