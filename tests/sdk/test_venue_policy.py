"""Venue-type policy learned from the signed trust list (issue 20): a verifier that never heard of a venue type
applies its policy after one sync; the member is strict; no policy means the safest answer, said out loud."""
from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from partner_sdk import Status, TrustStore, Verifier, pp2
from partner_sdk.errors import TrustListError
from partner_sdk.venue_policy import FALLBACK_REUSE_INTERVAL, PolicySource, PolicyState

from .conftest import T0
from .test_hardening import _payload, _signed_list

DAY = 86_400
MUSEUM = {"label": {"en": "Museum", "zh-CN": "博物馆"}, "grace_after_next_update": 2 * DAY, "reuse_interval": 600,
          "perks": {"CITY-MUSEUM-FREE": {"reuse_interval": DAY}}}
POOL = {"label": {"en": "Swimming pool", "zh-CN": "游泳馆"}, "grace_after_next_update": 0, "reuse_interval": 0}


def _store(issuer, venue_types, now=T0 - 60, **kw):
    store = TrustStore(issuer.root_public_jwk)
    store.load_bytes(issuer.trust_list(now, venue_types=venue_types, **kw), now=now)
    return store


def test_a_gate_learns_a_new_venue_type_at_its_next_sync(issuer, caplog):
    store = _store(issuer, {"swimming-pool": POOL})
    gate = Verifier(store, "museum")
    with caplog.at_level(logging.WARNING, logger="partner_sdk.verify"):
        assert gate.policy.source is PolicySource.NOT_LISTED
    assert "museum" in caplog.text and "no policy" in caplog.text, "the fallback is said, not silent"
    assert gate.reuse_interval == FALLBACK_REUSE_INTERVAL
    # stale (past next_update) with no policy for museums: the safest answer is to stop granting
    code = issuer.credential("museum", ["CITY-MUSEUM-FREE"], now=T0 + DAY).qr_text
    refused = gate.verify(code, now=T0 + DAY)
    assert refused.status is Status.TRUST_LIST_EXPIRED and "no policy" in refused.detail

    store.load_bytes(issuer.trust_list(T0, sequence=2, venue_types={"swimming-pool": POOL, "museum": MUSEUM}), now=T0)
    assert gate.policy.source is PolicySource.TRUST_LIST and gate.policy.label_in("zh-CN") == "博物馆"
    assert gate.reuse_interval == 600
    # one day after next_update: within the museum's two days of grace
    at = T0 + DAY + DAY
    assert gate.policy_answer(at).state is PolicyState.GRACE
    assert gate.verify(issuer.credential("museum", ["CITY-MUSEUM-FREE"], now=at, citizen="a").qr_text, now=at).granted
    at = T0 + DAY + 2 * DAY
    late = gate.verify(issuer.credential("museum", ["CITY-MUSEUM-FREE"], now=at, citizen="b").qr_text, now=at)
    assert late.status is Status.TRUST_LIST_EXPIRED and gate.policy_answer(at).state is PolicyState.STOPPED


def test_a_list_without_policies_keeps_the_v1_rules(issuer, store):
    gate = Verifier(store, "metro")
    assert gate.policy.source is PolicySource.NOT_PUBLISHED and gate.reuse_interval == 130
    at = T0 + 3 * DAY  # past next_update, before exp: v1 grants (the test vectors pin this)
    assert gate.verify(issuer.credential("metro", ["MOLI-METRO20"], now=at).qr_text, now=at).granted


def test_pp2_once_a_day_perk_and_once_per_visit_venue_type(issuer):
    store = _store(issuer, {"museum": MUSEUM})
    device = Ed25519PrivateKey.generate()
    # two days, to see the day pass (a default certificate lives one day: "once a day" is then once per certificate)
    cert = issuer.certificate("museum", ["CITY-MUSEUM-FREE", "CITY-MUSEUM-GUIDE"], device.public_key(), now=T0,
                              lifetime=2 * DAY)
    guide_gate, free_gate = Verifier(store, "museum"), Verifier(store, "museum")

    def show(gate, perk, at):
        return gate.verify(pp2.sign_presentation(cert.raw, device, at), perk=perk, now=at)

    # the guide perk has no rule of its own: the venue type's visit (600 s)
    assert show(guide_gate, "CITY-MUSEUM-GUIDE", T0 + 10).granted
    assert show(guide_gate, "CITY-MUSEUM-GUIDE", T0 + 500).status is Status.REPLAYED
    assert show(guide_gate, "CITY-MUSEUM-GUIDE", T0 + 611).granted
    # free entry is once a day
    assert show(free_gate, "CITY-MUSEUM-FREE", T0 + 10).granted
    blocked = show(free_gate, "CITY-MUSEUM-FREE", T0 + 5000)
    assert blocked.status is Status.REPLAYED and f"{DAY} s" in blocked.detail
    assert show(free_gate, "CITY-MUSEUM-FREE", T0 + DAY + 11).granted


def test_pp1_usage_rule_holds_for_the_pseudonym(issuer):
    store = _store(issuer, {"museum": MUSEUM})
    gate = Verifier(store, "museum")

    def code(citizen, at):
        return issuer.credential("museum", ["CITY-MUSEUM-FREE"], now=at, citizen=citizen).qr_text

    assert gate.verify(code("ann", T0), perk="CITY-MUSEUM-FREE", now=T0).granted
    # a fresh code (new jti) for the same pseudonym: refused for the day
    again = gate.verify(code("ann", T0 + 300), perk="CITY-MUSEUM-FREE", now=T0 + 300)
    assert again.status is Status.REPLAYED and "pseudonym" in again.detail
    assert gate.verify(code("bob", T0 + 300), perk="CITY-MUSEUM-FREE", now=T0 + 300).granted
    assert gate.verify(code("ann", T0 + DAY + 1), perk="CITY-MUSEUM-FREE", now=T0 + DAY + 1).granted


def test_pp1_without_usage_rules_is_unchanged(issuer):
    store = _store(issuer, {"swimming-pool": POOL})
    gate = Verifier(store, "swimming-pool")
    for at in (T0, T0 + 1):  # a refreshed code of the same citizen is granted again, as before
        assert gate.verify(issuer.credential("swimming-pool", ["POOL-SWIM"], now=at).qr_text, now=at).granted


def test_explicit_reuse_interval_still_overrides_the_venue_type(issuer):
    store = _store(issuer, {"museum": MUSEUM})
    assert Verifier(store, "museum", reuse_interval=200).reuse_interval == 200


BAD_MEMBERS = {
    "not an object": ["museum"],
    "empty": {},
    "bad code": {"Museum!": MUSEUM},
    "unknown field": {"museum": MUSEUM | {"colour": "red"}},
    "missing grace": {"museum": {k: v for k, v in MUSEUM.items() if k != "grace_after_next_update"}},
    "grace a string": {"museum": MUSEUM | {"grace_after_next_update": "2d"}},
    "grace a float": {"museum": MUSEUM | {"grace_after_next_update": 3600.0}},
    "grace a bool": {"museum": MUSEUM | {"grace_after_next_update": True}},
    "negative reuse": {"museum": MUSEUM | {"reuse_interval": -1}},
    "reuse over a month": {"museum": MUSEUM | {"reuse_interval": 32 * DAY}},
    "label in one language": {"museum": MUSEUM | {"label": {"en": "Museum"}}},
    "label empty": {"museum": MUSEUM | {"label": {"en": "", "zh-CN": "博物馆"}}},
    "perk rule unknown field": {"museum": MUSEUM | {"perks": {"CITY-MUSEUM-FREE": {"reuse_interval": 1, "x": 1}}}},
    "perk code lower-case": {"museum": MUSEUM | {"perks": {"city-free": {"reuse_interval": 1}}}},
    "perk rule a number": {"museum": MUSEUM | {"perks": {"CITY-MUSEUM-FREE": 86400}}},
    "null": None,
}


@pytest.mark.parametrize("name", sorted(BAD_MEMBERS))
def test_a_malformed_policy_makes_the_list_invalid(issuer, name):
    store = _store(issuer, {"museum": MUSEUM})
    signed = _signed_list(issuer, _payload(issuer, seq=9, venue_types=BAD_MEMBERS[name]))
    with pytest.raises(TrustListError, match="malformed"):
        store.load_bytes(signed, now=T0)
    assert store.sequence == 1 and Verifier(store, "museum").reuse_interval == 600, "the list held stays"


def test_the_issuer_never_signs_a_policy_verifiers_would_refuse(issuer):
    with pytest.raises(TrustListError, match="venue type policy"):
        issuer.trust_list(T0, venue_types={"museum": MUSEUM | {"reuse_interval": "a visit"}})
