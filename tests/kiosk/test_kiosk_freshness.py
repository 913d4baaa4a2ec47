"""Trust-list freshness policy per venue type (issue 13 item 9; issue 20: learned from the trust list), at each
boundary: the policy itself, the kiosk's decisions (a stale kiosk keeps granting until its venue type's limit,
then refuses every code with TRUST_LIST_EXPIRED without marking it used) and the kiosk's self-report."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.core import KioskCore
from kiosk_harness import make_enrolment
from partner_sdk.venue_policy import PolicyState, VenuePolicy, evaluate, stop_at

DAY = 86400
T0 = 1_796_000_000  # trust list signed here: next_update T0 + 1 day, exp T0 + 7 days
NU, EXP = T0 + DAY, T0 + 7 * DAY
REGISTRY = json.loads((Path(__file__).resolve().parents[2] / "assets" / "venue-types.json").read_text("utf-8"))
# the trust list member the backend publishes for the registry (labels, grace, reuse interval)
MEMBER = {v["code"]: {"label": v["label"], "grace_after_next_update": v["grace_after_next_update"],
                      "reuse_interval": v["reuse_interval"]} for v in REGISTRY["venue_types"]}


@pytest.mark.parametrize("grace", sorted({v["grace_after_next_update"] for v in REGISTRY["venue_types"]}))
def test_policy_boundaries(grace):
    policy = VenuePolicy("some-type", grace, 0)
    stop = NU + grace
    assert stop_at(policy, NU, EXP) == stop < EXP
    assert evaluate(policy, NU, EXP, NU - 1).state is PolicyState.FRESH
    assert evaluate(policy, NU, EXP, NU).state is PolicyState.GRACE
    assert evaluate(policy, NU, EXP, stop - 1).state is PolicyState.GRACE
    assert evaluate(policy, NU, EXP, stop).state is PolicyState.STOPPED
    # exp always ends it, however long a venue type's grace
    assert evaluate(policy, NU, NU + 3600, NU + 3600).state is PolicyState.STOPPED


@pytest.mark.parametrize("audience,perk", [("library", "BAILU-LIB-DEPOSIT"), ("bank", "RC-LOAN")])
def test_kiosk_grants_through_its_listed_grace_and_refuses_at_the_limit(tmp_path, issuer, audience, perk):
    clock = [float(T0)]
    enrol = make_enrolment(tmp_path / "e.json", issuer, T0, audience=audience, trust_kwargs={"venue_types": MEMBER},
                           perks=[{"code": perk, "title": {"en": perk, "zh-CN": perk}}])
    core = KioskCore(tmp_path / "d", sync_interval=60, clock=lambda: clock[0])
    core.enrol_from_file(enrol, pin="2468")
    stop = NU + MEMBER[audience]["grace_after_next_update"]
    assert core.venue_type_label("zh-CN") == MEMBER[audience]["label"]["zh-CN"]

    def scan(at: float) -> str:
        clock[0] = at
        return core.process(issuer.credential(audience, [perk], now=at, citizen=f"c{at}").qr_text, "hid").status

    assert core.trust_policy().state is PolicyState.FRESH
    assert scan(NU - 1) == "GRANTED"
    assert scan(NU) == "GRANTED" and core.trust_policy().state is PolicyState.GRACE
    assert scan(stop - 1) == "GRANTED"
    clock[0] = stop
    code = issuer.credential(audience, [perk], now=stop, citizen="late").qr_text
    assert core.process(code, "hid").status == "TRUST_LIST_EXPIRED"
    assert core.trust_policy().state is PolicyState.STOPPED
    # a newer list brings the kiosk back, and the refused code was not marked as used
    newer = tmp_path / "newer.jwt"
    newer.write_text(issuer.trust_list(stop, sequence=2, venue_types=MEMBER))
    core.load_trust_file(newer)
    assert core.process(code, "hid").status == "GRANTED"
    counts = {d["day"]: d["counts"] for d in core.store.scan_counts("2000-01-01")}
    assert sum(c.get("TRUST_LIST_EXPIRED", 0) for c in counts.values()) == 1
    rep = core.report()
    assert rep["trust_list"]["seq"] == 2 and rep["pending"] == 4 and "pseudonym" not in str(rep)
    core.close()


def test_a_new_venue_type_gets_its_grace_from_the_next_trust_list(tmp_path, issuer):
    """A kiosk of a venue type its code never heard of: safest answer until a list names it, then its policy."""
    clock = [float(T0)]
    enrol = make_enrolment(tmp_path / "e.json", issuer, T0, audience="museum", trust_kwargs={"venue_types": MEMBER},
                           perks=[{"code": "CITY-MUSEUM-FREE", "title": {"en": "Free entry", "zh-CN": "免费入场"}}])
    core = KioskCore(tmp_path / "d", sync_interval=60, clock=lambda: clock[0])
    core.enrol_from_file(enrol, pin="2468")
    assert core.verifier.policy.source.value == "not_listed" and core.venue_type_label("en") == "museum"
    assert "no policy in the trust list" in core.verifier.policy.describe()  # what the settings screen shows
    clock[0] = NU  # past next_update with no policy for museums: stop granting (grace 0)
    assert core.process(issuer.credential("museum", ["CITY-MUSEUM-FREE"], now=NU).qr_text, "hid").status == \
        "TRUST_LIST_EXPIRED"
    newer = tmp_path / "newer.jwt"
    museum = {"label": {"en": "Museum", "zh-CN": "博物馆"}, "grace_after_next_update": 2 * DAY, "reuse_interval": 0}
    newer.write_text(issuer.trust_list(T0 + 60, sequence=2, venue_types=MEMBER | {"museum": museum}))
    core.load_trust_file(newer)
    clock[0] = T0 + 60 + DAY + 1  # past the newer list's next_update, within the museum's two days
    assert core.trust_policy().state is PolicyState.GRACE and core.venue_type_label("zh-CN") == "博物馆"
    at = clock[0]
    assert core.process(issuer.credential("museum", ["CITY-MUSEUM-FREE"], now=at).qr_text, "hid").status == "GRANTED"
    core.close()
