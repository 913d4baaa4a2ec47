"""Verifier: every status, hostile inputs, key rotation, replay memory."""

import json
import random
import threading
from datetime import datetime, UTC

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from partner_sdk import MemoryReplayCache, SQLiteReplayCache, Status, TrustedKey, TrustStore, Verifier
from partner_sdk.keys import generate_key
from partner_sdk import format as fmt
from partner_sdk.keys import b64url_encode

from .conftest import T0


def forge(header, payload: bytes, sig: bytes) -> str:
    jws = ".".join((b64url_encode(fmt.canonical_json(header)), b64url_encode(payload), b64url_encode(sig)))
    return fmt.jws_to_qr_text(jws)


def test_round_trip_granted_with_the_details_a_venue_needs(issuer, store):
    cred = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=T0, scheme="bailu")
    d = Verifier(store, "library").verify(cred.qr_text, now=T0 + 3)
    assert d.status is Status.GRANTED and d.granted
    assert d.perks == ("BAILU-LIB-DEPOSIT",) and d.jti == cred.jti and d.expires_at == cred.expires_at
    assert d.pseudonym and d.scheme == "bailu" and d.band is None
    assert "granted" in d.message.lower()


def test_accepts_aware_datetime_for_now(issuer, store):
    cred = issuer.credential("metro", ["MOLI-METRO20"], now=T0)
    assert Verifier(store, "metro").verify(cred.qr_text, now=datetime.fromtimestamp(T0 + 1, UTC)).granted


def test_expiry_and_leeway(issuer, store):
    cred = issuer.credential("metro", ["MOLI-METRO20"], now=T0, lifetime=60)
    v = Verifier(store, "metro", leeway=5)
    assert v.verify(cred.qr_text, now=T0 + 64).granted
    assert Verifier(store, "metro", leeway=5).verify(cred.qr_text, now=T0 + 65).status is Status.EXPIRED
    assert Verifier(store, "metro", leeway=5).verify(cred.qr_text, now=T0 - 6).status is Status.NOT_YET_VALID
    assert Verifier(store, "metro", leeway=5).verify(cred.qr_text, now=T0 - 4).granted


def test_not_entitled_when_asking_for_a_perk_the_code_lacks(issuer, store):
    cred = issuer.credential("gov-office", ["MOLI-GOV-PRIORITY"], now=T0)
    v = Verifier(store, "gov-office")
    assert v.verify(cred.qr_text, perk="MOLI-GOV-EXPRESS", now=T0).status is Status.NOT_ENTITLED
    # a refusal does not burn the code: it can still be used for a perk it has
    assert v.verify(cred.qr_text, perk="MOLI-GOV-PRIORITY", now=T0).granted


def test_wrong_audience_and_issuer(issuer, store):
    cred = issuer.credential("hospital", ["OSM-HOSP-PRIORITY"], now=T0, scheme="osmanthus")
    assert Verifier(store, "library").verify(cred.qr_text, now=T0).status is Status.WRONG_AUDIENCE
    other = issuer.credential("hospital", ["OSM-HOSP-PRIORITY"], now=T0, issuer="perkpass.other")
    assert Verifier(store, "hospital").verify(other.qr_text, now=T0).status is Status.WRONG_ISSUER
    assert Verifier(store, "hospital", issuer="perkpass.suzhou").verify(cred.qr_text, now=T0).status is Status.WRONG_ISSUER


def test_replay_is_refused_and_concurrent_scans_grant_once(issuer, store):
    cred = issuer.credential("metro", ["MOLI-METRO20"], now=T0)
    v = Verifier(store, "metro")
    results = []
    threads = [threading.Thread(target=lambda: results.append(v.verify(cred.qr_text, now=T0).status)) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results.count(Status.GRANTED) == 1 and results.count(Status.REPLAYED) == 7


def test_sqlite_replay_memory_survives_restart(issuer, store, tmp_path):
    cred = issuer.credential("metro", ["MOLI-METRO20"], now=T0)
    db = tmp_path / "replay.sqlite"
    assert Verifier(store, "metro", replay_cache=SQLiteReplayCache(db)).verify(cred.qr_text, now=T0).granted
    restarted = Verifier(store, "metro", replay_cache=SQLiteReplayCache(db))
    assert restarted.verify(cred.qr_text, now=T0 + 1).status is Status.REPLAYED


class SteadyClock:
    """A monotonic clock that keeps pace with the wall clock the test passes as ``now``."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_replay_entries_expire_with_their_credential(tmp_path, kind):
    mono = SteadyClock()
    cache = (MemoryReplayCache(monotonic=mono) if kind == "memory"
             else SQLiteReplayCache(tmp_path / "r.db", retain_after=0, monotonic=mono))

    def check(key, exp, now):
        mono.t = now
        return cache.check_and_remember(key, exp, now)

    assert check("iss|a", 100, now=10)
    assert not check("iss|a", 100, now=50)
    # once 'a' has expired, the same key is usable again (a new credential can never reuse a jti in practice,
    # but memory must not grow forever) and is forgotten by the purge
    assert check("iss|a", 300, now=150)
    assert check("iss|b", 400, now=350)
    assert "iss|a" not in cache


def test_hostile_headers(issuer, store):
    cred = issuer.credential("metro", ["MOLI-METRO20"], now=T0)
    raw = fmt.parse_qr_text(cred.qr_text)
    v = Verifier(store, "metro")
    h = json.loads(raw.header_json)
    cases = {
        "none": (dict(h, alg="none"), bytes(64), Status.BAD_SIGNATURE),
        "hs256": (dict(h, alg="HS256"), bytes(64), Status.BAD_SIGNATURE),
        "rs256": (dict(h, alg="RS256"), bytes(64), Status.BAD_SIGNATURE),
        "crit": (dict(h, crit=["exp"]), raw.signature, Status.MALFORMED),
        "extra header (jku)": (dict(h, jku="https://evil.example/keys"), raw.signature, Status.MALFORMED),
        "wrong typ": (dict(h, typ="JWT"), raw.signature, Status.MALFORMED),
        "unknown kid": (dict(h, kid="nope"), raw.signature, Status.UNKNOWN_KEY),
        "kid not a string": (dict(h, kid=7), raw.signature, Status.MALFORMED),
    }
    for name, (header, sig, expected) in cases.items():
        assert v.verify(forge(header, raw.payload_json, sig), now=T0).status is expected, name


def test_payload_claims_are_type_checked_after_signature(issuer, store):
    # A correctly signed payload of the wrong shape (issuer bug) is MALFORMED, not a crash.
    from jwt import PyJWS
    _JWS = PyJWS(algorithms=["EdDSA"])
    bad = {"iss": issuer.issuer, "aud": "metro", "iat": "yesterday", "exp": T0, "jti": "x" * 16, "sub": "y" * 16,
           "sch": "moli", "prk": ["MOLI-METRO20"]}
    token = _JWS.encode(fmt.canonical_json(bad), issuer.signing_key, algorithm="EdDSA",
                        headers={"kid": issuer.kid, "typ": fmt.CREDENTIAL_TYP})
    assert Verifier(store, "metro").verify(fmt.jws_to_qr_text(token), now=T0).status is Status.MALFORMED


@pytest.mark.parametrize("value", [None, 42, 3.5, ["PP1"], {"a": 1}, b"\xff\xfe", "", " ", "PP", "PP1", "PP1x",
                                   "PP1" + "0" * 17, "eyJ.e.e", "eyJhbGciOiJub25lIn0..", "\x00" * 50, "PP1" + "1" * 10**6])
def test_never_raises_on_hostile_input(store, value):
    d = Verifier(store, "metro").verify(value, now=T0)
    assert d.status in (Status.MALFORMED, Status.BAD_SIGNATURE) and not d.granted


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=2000))
def test_fuzz_random_text_never_raises_never_grants(store, text):
    d = Verifier(store, "metro").verify(text, now=T0)
    assert not d.granted and isinstance(d.status, Status)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_mutated_codes_never_raise_never_grant(issuer, store, data):
    code = issuer.credential("metro", ["MOLI-METRO20"], now=T0, jti="fuzzfuzzfuzz0001").qr_text
    pos = data.draw(st.integers(3, len(code) - 1))
    op = data.draw(st.sampled_from(["replace", "delete", "insert", "swap"]))
    digit = data.draw(st.sampled_from("0123456789"))
    if op == "replace":
        if code[pos] == digit:
            digit = str((int(digit) + 1) % 10)
        mutated = code[:pos] + digit + code[pos + 1:]
    elif op == "delete":
        mutated = code[:pos] + code[pos + 1:]
    elif op == "insert":
        mutated = code[:pos] + digit + code[pos:]
    else:
        if pos + 1 >= len(code) or code[pos] == code[pos + 1]:
            return
        mutated = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2:]
    d = Verifier(store, "metro").verify(mutated, now=T0)
    assert not d.granted, (op, pos)


def test_key_rotation_new_key_accepted_once_published_old_key_until_window_ends(issuer):
    old_key, new_key = issuer.signing_key, generate_key()
    window_end = T0 + 3600
    # sequence 1: only the old key
    store = issuer.trust_store(now=T0 - 60, keys=[TrustedKey("old", old_key.public_key(), T0 - 86_400, window_end)])
    new_code = issuer.credential("metro", ["MOLI-METRO20"], now=T0, signing_key=new_key, kid="new")
    assert Verifier(store, "metro").verify(new_code.qr_text, now=T0).status is Status.UNKNOWN_KEY
    # sequence 2: both keys published (the new one before it signs anything)
    store.load_bytes(issuer.trust_list(T0, sequence=2, keys=[
        TrustedKey("old", old_key.public_key(), T0 - 86_400, window_end),
        TrustedKey("new", new_key.public_key(), T0, T0 + 90 * 86_400)]), now=T0)
    assert Verifier(store, "metro").verify(new_code.qr_text, now=T0 + 1).granted
    old_code = issuer.credential("metro", ["MOLI-METRO20"], now=window_end - 30, signing_key=old_key, kid="old")
    assert Verifier(store, "metro").verify(old_code.qr_text, now=window_end - 10).granted
    late_old = issuer.credential("metro", ["MOLI-METRO20"], now=window_end + 60, signing_key=old_key, kid="old")
    assert Verifier(store, "metro").verify(late_old.qr_text, now=window_end + 61).status is Status.UNKNOWN_KEY


def test_trust_list_expired_refuses_with_that_reason(issuer):
    store = issuer.trust_store(now=T0 - 8 * 86_400)  # valid for 7 days
    cred = issuer.credential("metro", ["MOLI-METRO20"], now=T0)
    d = Verifier(store, "metro").verify(cred.qr_text, now=T0)
    assert d.status is Status.TRUST_LIST_EXPIRED and "trust list" in d.message.lower()


def test_no_trust_list_loaded_is_an_answer_not_a_crash(issuer):
    store = TrustStore(issuer.root_public_jwk)
    cred = issuer.credential("metro", ["MOLI-METRO20"], now=T0)
    assert Verifier(store, "metro").verify(cred.qr_text, now=T0).status is Status.TRUST_LIST_EXPIRED


def test_decision_never_contains_a_score(issuer, store):
    cred = issuer.credential("metro", ["MOLI-METRO20"], now=T0)
    d = Verifier(store, "metro").verify(cred.qr_text, now=T0).to_dict()
    assert not {"score", "band_score", "points"} & set(d)
    assert d["band"] is None


def test_random_byte_flips_in_signature_region(issuer, store):
    rng = random.Random(7)
    code = issuer.credential("metro", ["MOLI-METRO20"], now=T0)
    raw = fmt.parse_qr_text(code.qr_text)
    for _ in range(50):
        sig = bytearray(raw.signature)
        sig[rng.randrange(64)] ^= 1 << rng.randrange(8)
        d = Verifier(store, "metro").verify(forge(json.loads(raw.header_json), raw.payload_json, bytes(sig)), now=T0)
        assert d.status is Status.BAD_SIGNATURE
