"""PP3 unlinkable codes (issue 23): a BBS proof per code, a quota pseudonym per venue type and window.

What a user relies on: a gate grants a citizen's PP3 code offline and answers every bad one with a typed
refusal; two codes of one citizen share no bytes beyond what every holder of the same perks shows; the
quota ("once per visit", "once a day") holds through the pseudonym, which repeats within one window at one
venue type and differs across windows and venue types.
"""

from __future__ import annotations

import secrets

import pytest

from partner_sdk import Status, TrustStore, Verifier, bbs, pp3
from partner_sdk import format as fmt
from partner_sdk.errors import TrustListError

from .conftest import T0
from .test_hardening import _payload, _signed_list

DAY = 86_400
TODAY = T0 // DAY
PERKS = ("MOLI-METRO20", "OSM-TRANSIT", "SES-BIKE-NODEPOSIT")
MUSEUM = {"label": {"en": "Museum", "zh-CN": "博物馆"}, "grace_after_next_update": 2 * DAY, "reuse_interval": 600,
          "perks": {"CITY-MUSEUM-FREE": {"reuse_interval": DAY}}}


@pytest.fixture
def store(issuer):
    return issuer.trust_store(now=T0 - 60, bbs_keys=issuer.bbs_keys())


class Holder:
    """A phone: its own pseudonym secret and the certificates the issuer signed over it."""

    def __init__(self, issuer, audience="metro", perks=PERKS, day=TODAY):
        self.issuer = issuer
        self.cert, self.secret = issuer.pp3_certificate(audience, perks, day)
        assert pp3.certificate_ok(self.cert, issuer.bbs_public_key, issuer.issuer, self.secret)

    def code(self, now, window=pp3.MIN_QUOTA_WINDOW):
        return pp3.present(self.cert, self.secret, self.issuer.bbs_public_key, self.issuer.issuer, now, window)


def _bytes(code: str) -> bytes:
    return fmt.digits_to_bytes(code[3:])


def _code(data: bytes) -> str:
    return pp3.QR_PREFIX + fmt.bytes_to_digits(data)


def test_granted_offline_and_says_only_venue_type_perks_and_day(issuer, store):
    code = Holder(issuer).code(T0 + 100)
    assert code.startswith("PP3") and code[3:].isdigit()
    d = Verifier(store, "metro").verify(code, now=T0 + 101)
    assert d.status is Status.GRANTED, d.detail
    assert d.perks == PERKS and d.audience == "metro" and d.issuer == issuer.issuer
    assert d.scheme is None and d.band is None, "the scheme is not in the code (nor signed: perks imply it)"
    assert d.expires_at == (TODAY + 1) * DAY and d.kid == issuer.bbs_kid
    assert d.pseudonym and d.jti and d.pseudonym != d.jti
    assert Verifier(store, "metro").verify("  pp3" + code[3:] + "\r\n", now=T0 + 101).granted


def test_qr_version_for_three_perks(issuer):
    code = Holder(issuer).code(T0)
    # issue 23's aim: v15-M with a pseudonym and three perks (406 bytes; v15-M holds 407 in this transport)
    assert len(_bytes(code)) == pp3.HEAD_LEN + len(pp3.claims_block("metro", PERKS)) + 4 + 48 + 336
    assert fmt.qr_version_m(code) <= 15
    holder = Holder(issuer)
    bare = pp3.present(holder.cert, holder.secret, issuer.bbs_public_key, issuer.issuer, T0, None)
    assert fmt.qr_version_m(bare) <= 15


def _longest_common_run(a: bytes, b: bytes) -> int:
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def test_two_codes_of_one_citizen_share_nothing_beyond_what_every_holder_shows(issuer):
    alice, bob = Holder(issuer), Holder(issuer)
    a1, a2 = _bytes(alice.code(T0)), _bytes(alice.code(T0 + 3 * DAY // 8))  # different quota windows
    b1 = _bytes(bob.code(T0))
    public = pp3.HEAD_LEN + a1[9]  # head + claims block: key reference, slot, venue type, perks
    assert a1[:public - 4] == b1[:public - 4], "Alice's and Bob's public parts are alike (same day, same perks)"
    secret_a1, secret_a2 = a1[public:], a2[public:]
    assert len(secret_a1) == len(secret_a2) == 4 + 48 + 336
    # past the quota window's 4 bytes: pseudonym and proof
    overlap = _longest_common_run(secret_a1[4:], secret_a2[4:])
    random_overlap = max(_longest_common_run(secrets.token_bytes(384), secrets.token_bytes(384)) for _ in range(3))
    assert overlap <= max(random_overlap, 3), "two presentations of one certificate share a run of bytes"
    # same slot and window: the pseudonym repeats (that is the quota), the proof does not
    a3 = _bytes(alice.code(T0 + 1))
    assert a3[public + 4:public + 52] == a1[public + 4:public + 52]
    assert _longest_common_run(a3[public + 52:], a1[public + 52:]) <= max(random_overlap, 3)


def test_pseudonym_repeats_within_a_window_and_venue_and_differs_across(issuer, store):
    holder = Holder(issuer)
    gate = Verifier(store, "metro")
    # a quota window that starts on a slot boundary (windows count from slot starts: 390 = lcm(30, 130))
    window_start = (T0 // 390 + 1) * 390
    first = gate.verify(holder.code(window_start + 1), now=window_start + 2)
    assert first.granted
    # a new code, a new proof, the same pseudonym in the same window: the quota refuses it
    again = gate.verify(holder.code(window_start + 35), now=window_start + 36)
    assert again.status is Status.REPLAYED and again.pseudonym == first.pseudonym and again.jti != first.jti
    assert "window" in again.detail
    # another citizen at the same gate in the same window is granted
    assert gate.verify(Holder(issuer).code(window_start + 40), now=window_start + 41).granted
    # the next window: a different pseudonym, granted
    later = gate.verify(holder.code(window_start + 151), now=window_start + 152)
    assert later.granted and later.pseudonym != first.pseudonym
    # the same secret in another venue type's context: another pseudonym in the same window
    lib = bbs.calculate_pseudonym(pp3.nym_context(issuer.issuer, "library", 130, (window_start + 1) // 30),
                                  holder.secret.nym_secret, pp3.API_ID)
    assert fmt.b64url_encode(lib) not in (first.pseudonym, later.pseudonym)
    same = bbs.calculate_pseudonym(pp3.nym_context(issuer.issuer, "metro", 130, (window_start + 1) // 30),
                                   holder.secret.nym_secret, pp3.API_ID)
    assert fmt.b64url_encode(same) == first.pseudonym


def test_a_code_scanned_twice_is_replayed(issuer, store):
    gate = Verifier(store, "metro")
    code = Holder(issuer).code(T0)
    assert gate.verify(code, now=T0 + 1).granted
    assert gate.verify(code, now=T0 + 2).status is Status.REPLAYED


def test_once_a_day_perk_window_comes_from_the_trust_list(issuer):
    store = issuer.trust_store(now=T0 - 60, bbs_keys=issuer.bbs_keys(), venue_types={"museum": MUSEUM})
    gate = Verifier(store, "museum")
    holder = Holder(issuer, audience="museum", perks=("CITY-MUSEUM-FREE",))
    window = pp3.quota_window(gate.policy.usage_interval(("CITY-MUSEUM-FREE",)))
    assert window == DAY
    short = gate.verify(holder.code(T0, window=600), now=T0 + 1)
    assert short.status is Status.MALFORMED and "86400" in short.detail, "a holder may not pick its own window"
    assert gate.verify(holder.code(T0 + 2, window=DAY), now=T0 + 3).granted
    assert gate.verify(holder.code(T0 + 5 * 3600, window=DAY), now=T0 + 5 * 3600).status is Status.REPLAYED
    next_day = (TODAY + 1) * DAY + 60
    tomorrow = Holder(issuer, audience="museum", perks=("CITY-MUSEUM-FREE",), day=TODAY + 1)
    assert gate.verify(tomorrow.code(next_day, window=DAY), now=next_day).granted


# ------------------------------------------------------------------------------------------- hostile

def _replace(data: bytes, start: int, new: bytes) -> bytes:
    return data[:start] + new + data[start + len(new):]


def test_hostile_codes_get_typed_refusals(issuer, store):
    holder = Holder(issuer)
    code = holder.code(T0)
    data = _bytes(code)
    n = data[9]
    head = pp3.HEAD_LEN
    nym_at, proof_at = head + n + 4, head + n + 52
    gate = Verifier(store, "metro")

    def answer(d: bytes) -> Status:
        return Verifier(store, "metro").verify(_code(d), now=T0 + 1).status

    other_slot = _replace(data, 5, ((T0 + 30) // 30).to_bytes(4, "big"))
    assert answer(other_slot) is Status.BAD_SIGNATURE, "the slot is bound by the presentation header"
    # the day is the slot's: a slot moved to the next day discloses another day, and the proof fails
    other_day = _replace(data, 5, ((T0 + DAY) // 30).to_bytes(4, "big"))
    assert pp3.parse_qr_text(_code(other_day)).day == TODAY + 1
    assert Verifier(store, "metro").verify(_code(other_day), now=T0 + DAY).status is Status.BAD_SIGNATURE
    fewer_perks = pp3.claims_block("metro", ("MOLI-METRO20",))
    tampered = data[:head - 1] + bytes([len(fewer_perks)]) + fewer_perks + data[head + n:]
    assert answer(tampered) is Status.BAD_SIGNATURE, "a disclosure changed after the fact"
    other_window = _replace(data, head + n, (260).to_bytes(4, "big"))
    assert answer(other_window) is Status.BAD_SIGNATURE
    # the holder's pseudonym of another venue type, or another holder's, transplanted into this code
    lib_nym = bbs.calculate_pseudonym(pp3.nym_context(issuer.issuer, "library", 130, T0 // 30),
                                      holder.secret.nym_secret, pp3.API_ID)
    assert answer(_replace(data, nym_at, lib_nym)) is Status.BAD_SIGNATURE
    bob_nym = pp3.parse_qr_text(Holder(issuer).code(T0)).pseudonym
    assert answer(_replace(data, nym_at, bob_nym)) is Status.BAD_SIGNATURE
    # identity points where the pseudonym or the proof's points go
    identity = bbs.G1Point.identity().to_compressed_bytes()
    assert answer(_replace(data, nym_at, identity)) is Status.BAD_SIGNATURE
    for i in range(3):
        assert answer(_replace(data, proof_at + 48 * i, identity)) is Status.BAD_SIGNATURE
    # a flipped byte anywhere in pseudonym or proof
    for pos in range(nym_at, len(data), 23):
        bad = bytearray(data)
        bad[pos] ^= 0x40
        assert answer(bytes(bad)) in (Status.BAD_SIGNATURE, Status.MALFORMED), pos
    # wrong header: a proof made for another issuer name
    other_issuer = pp3.present(holder.cert, holder.secret, issuer.bbs_public_key, "perkpass.elsewhere", T0, 130)
    assert gate.verify(other_issuer, now=T0 + 1).status is Status.BAD_SIGNATURE
    # truncated, extended, no pseudonym, unknown flags
    assert answer(data[:-1]) is Status.MALFORMED and answer(data + b"\x00") is Status.MALFORMED
    bare = pp3.present(holder.cert, holder.secret, issuer.bbs_public_key, issuer.issuer, T0, None)
    refused = gate.verify(bare, now=T0 + 1)
    assert refused.status is Status.MALFORMED and "pseudonym" in refused.detail
    assert answer(bytes([0x33]) + data[1:]) is Status.MALFORMED
    assert gate.verify(code, now=T0 + 1).granted, "the untouched code still works after all that"


def test_time_audience_and_key_refusals(issuer, store):
    holder = Holder(issuer)
    code = holder.code(T0)
    assert Verifier(store, "library").verify(code, now=T0).status is Status.WRONG_AUDIENCE
    assert Verifier(store, "metro").verify(code, now=T0 + 400).status is Status.CLOCK_SKEW
    yesterday = Holder(issuer, day=TODAY - 1)
    late = yesterday.code(TODAY * DAY - 10)
    assert Verifier(store, "metro").verify(late, now=TODAY * DAY + 5 * 3600).status is Status.EXPIRED
    tomorrow = Holder(issuer, day=TODAY + 1)
    with pytest.raises(ValueError):  # a certificate makes codes for its own day's slots only
        tomorrow.code(T0)
    early = tomorrow.code((TODAY + 1) * DAY)  # tomorrow's first slot, shown to a gate whose clock says today
    assert Verifier(store, "metro").verify(early, now=T0).status is Status.NOT_YET_VALID
    # a list without the BBS key: the key is unknown
    plain = issuer.trust_store(now=T0 - 60)
    assert Verifier(plain, "metro").verify(code, now=T0).status is Status.UNKNOWN_KEY
    # a key withdrawn as compromised refuses every code it certified
    withdrawn = [pp3.BbsKey(k.kid, k.public_key, k.not_before, k.not_after, revoked_at=T0 - 1)
                 for k in issuer.bbs_keys()]
    revoked_store = issuer.trust_store(now=T0 - 60, bbs_keys=withdrawn)
    assert Verifier(revoked_store, "metro").verify(code, now=T0).status is Status.REVOKED


def test_a_certificate_signed_by_another_key_is_refused(issuer, store):
    rogue = bbs.keygen(b"r" * 32)
    request = pp3.holder_request()
    cert, entropy = pp3.blind_sign_certificate(rogue, issuer.bbs_kid, issuer.issuer, "metro", PERKS, TODAY, "moli",
                                               request.commitment)
    secret = pp3.holder_secret(request, entropy)
    code = pp3.present(cert, secret, bbs.sk_to_pk(rogue), issuer.issuer, T0, 130)
    assert Verifier(store, "metro").verify(code, now=T0).status is Status.BAD_SIGNATURE


# -------------------------------------------------------------------------------------- trust list

def test_trust_list_bbs_keys_member_is_strict(issuer):
    good = issuer.bbs_keys()[0].to_member()
    assert pp3.decode_bbs_keys([good])[good["kid"]].public_key == issuer.bbs_public_key
    g2_identity = bbs.G2Point.identity().to_compressed_bytes()
    bad_members = {
        "not a list": {"k": good},
        "extra member": [good | {"alg": "BBS"}],
        "missing nbf": [{k: v for k, v in good.items() if k != "nbf"}],
        "duplicate kid": [good, good],
        "identity key": [good | {"pk": fmt.b64url_encode(g2_identity)}],
        "not a point": [good | {"pk": fmt.b64url_encode(bytes(96))}],
        "short key": [good | {"pk": good["pk"][:-4]}],
        "nbf after not_after": [good | {"nbf": good["not_after"] + 1}],
        "revoked_at text": [good | {"revoked_at": "now"}],
    }
    for why, member in bad_members.items():
        with pytest.raises(ValueError):
            pp3.decode_bbs_keys(member)
        signed = _signed_list(issuer, _payload(issuer, seq=9, bbs_keys=member))
        with pytest.raises(TrustListError):
            TrustStore(issuer.root_public_jwk).load_bytes(signed, now=T0)
        assert why
    # the issuer refuses to sign a member its verifiers would refuse
    with pytest.raises(TrustListError):
        issuer.trust_list(T0, bbs_keys=[pp3.BbsKey("x", g2_identity, 0, 1)])


def test_lists_without_bbs_keys_are_unchanged(issuer):
    assert "bbs_keys" not in fmt.b64url_decode(issuer.trust_list(T0).split(".")[1]).decode()


# ------------------------------------------------------------------------------------ blind issuance

def test_the_issuer_never_sees_the_secret_and_checks_the_commitment(issuer):
    request = pp3.holder_request()
    cert, entropy = pp3.blind_sign_certificate(issuer.bbs_secret_key, issuer.bbs_kid, issuer.issuer, "metro",
                                               PERKS, TODAY, "moli", request.commitment)
    secret = pp3.holder_secret(request, entropy)
    # what the issuer saw: the commitment (and what it chose). The secret's bytes appear in neither.
    seen = request.commitment + entropy.to_bytes(32, "big") + cert.signature
    for value in (secret.nym_secret, request.prover_nym, secret.prover_blind):
        assert value.to_bytes(32, "big") not in seen
    assert pp3.certificate_ok(cert, issuer.bbs_public_key, issuer.issuer, secret)
    # the issuer's entropy is part of the secret: the phone's part alone verifies nothing
    assert not pp3.certificate_ok(cert, issuer.bbs_public_key, issuer.issuer,
                                  pp3.HolderSecret(secret.prover_blind, request.prover_nym))
    # a commitment whose proof fails, a commitment to two scalars, garbage: refused with ValueError
    bad = bytearray(request.commitment)
    bad[60] ^= 1
    two, _ = bbs.commit([5, 6], pp3.API_ID)
    for commitment in (bytes(bad), two, b"", bytes(144), request.commitment[:-1]):
        with pytest.raises(ValueError):
            pp3.blind_sign_certificate(issuer.bbs_secret_key, issuer.bbs_kid, issuer.issuer, "metro", PERKS, TODAY,
                                       "moli", commitment)


# ------------------------------------------------------------------------------------------- fuzzing

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=500), junk=st.binary(max_size=600), flip=st.integers(0, 2000))
def test_mangled_codes_never_raise_and_never_grant(issuer, store, cut, junk, flip):
    code = _bytes(Holder(issuer).code(T0))
    mangled = bytearray(code[:cut] + junk + code[cut + len(junk):])
    if mangled:
        mangled[flip % len(mangled)] ^= 0x5A
    if bytes(mangled) == code:
        return
    d = Verifier(store, "metro").verify(_code(bytes(mangled)), now=T0 + 1)
    assert d.status is not Status.GRANTED
    assert d.status in (Status.MALFORMED, Status.BAD_SIGNATURE, Status.UNKNOWN_KEY), d


def test_bbs_key_rotation_current_and_next_key_and_a_retired_key_refused_after_its_end(issuer):
    """The trust list carries the current and the next BBS key; a code certified by the current key is
    granted until that key's end, and refused after it (even for a day the key overlapped); the next key's
    codes are granted from its start."""
    switch = T0 + 3600  # the old key's end, mid-day: its certificates of today stop at the gate then
    old = pp3.BbsKey(issuer.bbs_kid, issuer.bbs_public_key, T0 - DAY, switch)
    next_sk = bbs.keygen(b"n" * 32, b"next")
    new = pp3.BbsKey("next-bbs-key", bbs.sk_to_pk(next_sk), switch, switch + 30 * DAY)
    store = issuer.trust_store(now=T0 - 60, bbs_keys=[old, new])
    assert set(store.current.bbs_keys) == {old.kid, new.kid}
    holder = Holder(issuer)
    assert Verifier(store, "metro").verify(holder.code(T0), now=T0 + 1).granted
    late = holder.code(switch + 60)
    retired = Verifier(store, "metro").verify(late, now=switch + 61)
    assert retired.status is Status.UNKNOWN_KEY and "retired" in retired.detail
    request = pp3.holder_request()
    cert, entropy = pp3.blind_sign_certificate(next_sk, new.kid, issuer.issuer, "metro", PERKS, TODAY, "moli",
                                               request.commitment)
    code = pp3.present(cert, pp3.holder_secret(request, entropy), new.public_key, issuer.issuer, switch + 60, 130)
    assert Verifier(store, "metro").verify(code, now=switch + 61).granted
