"""Trust-list freshness policy per venue type (issue 13 item 9), at each boundary: the policy itself, the
kiosk's decisions (a stale kiosk keeps granting until its venue type's limit, then refuses every code with
TRUST_LIST_EXPIRED without marking it used) and the kiosk's self-report to the backend."""
from __future__ import annotations

import pytest

from kiosk.core import KioskCore
from kiosk_harness import make_enrolment
from partner_sdk.freshness_policy import DEFAULT_GRACE, GRACE_AFTER_NEXT_UPDATE, PolicyState, evaluate, stop_at

DAY = 86400
T0 = 1_796_000_000  # trust list signed here: next_update T0 + 1 day, exp T0 + 7 days
NU, EXP = T0 + DAY, T0 + 7 * DAY


@pytest.mark.parametrize("audience", sorted(GRACE_AFTER_NEXT_UPDATE) + ["unlisted-type"])
def test_policy_boundaries_for_every_venue_type(audience):
    grace = GRACE_AFTER_NEXT_UPDATE.get(audience, DEFAULT_GRACE)
    stop = NU + grace
    assert stop_at(audience, NU, EXP) == stop < EXP
    assert evaluate(audience, NU, EXP, NU - 1).state is PolicyState.FRESH
    assert evaluate(audience, NU, EXP, NU).state is PolicyState.GRACE
    assert evaluate(audience, NU, EXP, stop - 1).state is PolicyState.GRACE
    assert evaluate(audience, NU, EXP, stop).state is PolicyState.STOPPED
    # exp always ends it, however long a venue type's grace
    assert evaluate(audience, NU, NU + 3600, NU + 3600).state is PolicyState.STOPPED


def test_policy_orders_venue_types_by_what_a_wrong_grant_costs():
    assert GRACE_AFTER_NEXT_UPDATE["metro"] > GRACE_AFTER_NEXT_UPDATE["hospital"] > GRACE_AFTER_NEXT_UPDATE["bank"]


@pytest.mark.parametrize("audience,perk", [("library", "BAILU-LIB-DEPOSIT"), ("metro", "MOLI-METRO-20")])
def test_kiosk_grants_through_grace_and_refuses_at_the_limit(tmp_path, issuer, audience, perk):
    clock = [float(T0)]
    enrol = make_enrolment(tmp_path / "e.json", issuer, T0, audience=audience,
                           perks=[{"code": perk, "title": {"en": perk, "zh-CN": perk}}])
    core = KioskCore(tmp_path / "d", sync_interval=60, clock=lambda: clock[0])
    core.enrol_from_file(enrol, pin="2468")
    stop = stop_at(audience, NU, EXP)

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
    newer.write_text(issuer.trust_list(stop, sequence=2))
    core.load_trust_file(newer)
    assert core.process(code, "hid").status == "GRANTED"
    counts = {d["day"]: d["counts"] for d in core.store.scan_counts("2000-01-01")}
    assert sum(c.get("TRUST_LIST_EXPIRED", 0) for c in counts.values()) == 1
    rep = core.report()
    assert rep["trust_list"]["seq"] == 2 and rep["pending"] == 4 and "pseudonym" not in str(rep)
    core.close()
