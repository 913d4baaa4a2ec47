"""How long after a trust list's ``next_update`` a verifier keeps granting, per venue type (issue 13, item 9).

A trust list says when to fetch a newer one (``next_update``, one day after signing by default) and when it
stops being valid (``exp``, seven days). Between the two a verifier that could not refresh is *stale*. This
policy decides, per venue type, how long a stale verifier keeps granting perks before it refuses every code
with ``TRUST_LIST_EXPIRED`` (``exp`` always ends it). The numbers weigh what a wrongly granted perk costs
against what a whole venue type refusing everyone costs (the EU certificate verifiers all failed the day a
list was not re-signed): a fare discount or a library loan is cheap to grant after a key was revoked and
painful to refuse at every gate; a loan rate at a bank or express processing at a government office is not.

States, for a list with ``next_update`` N, ``exp`` E and a venue type's grace G (``stop`` = min(N + G, E))::

    fresh    now < N             grant; nothing to say
    grace    N <= now < stop     grant; the status bar says until when
    stopped  now >= stop         refuse every code (TRUST_LIST_EXPIRED) until a newer list is loaded
"""
from __future__ import annotations

import enum
from typing import NamedTuple

DAY = 86_400

# venue type (credential audience) -> seconds after next_update that a stale verifier keeps granting
GRACE_AFTER_NEXT_UPDATE: dict[str, int] = {
    "metro": 3 * DAY,        # every gate of a line at once; a fare discount is cheap
    "library": 3 * DAY,      # deposit-free borrowing: a book comes back or is paid for
    "culture": 3 * DAY,
    "utility": 2 * DAY,      # heating discounts are settled monthly and can be corrected
    "hospital": 2 * DAY,     # a priority line: refusing sends a patient to the ordinary queue
    "rental": 1 * DAY,       # deposit-free rentals: a wrong grant loses a bike or a car
    "bank": 1 * DAY,         # loan terms
    "gov-office": 1 * DAY,   # express administrative processing
}
DEFAULT_GRACE = 1 * DAY   # a venue type not listed here


class PolicyState(str, enum.Enum):
    FRESH = "fresh"
    GRACE = "grace"
    STOPPED = "stopped"


class PolicyAnswer(NamedTuple):
    state: PolicyState
    stop_at: int        # when granting stops for this venue type (epoch seconds)
    grace_seconds: int


# venue type -> seconds a PP2 certificate granted at a gate is refused (REPLAYED) for the same perk. The verifier
# never uses less than 2 x (presentation window + leeway) (130 s by default), the time any presentation made
# around the grant stays acceptable: so 0 here means "just that". Longer values are "once per visit/day" rules.
REUSE_INTERVAL: dict[str, int] = {}
DEFAULT_REUSE_INTERVAL = 0


def reuse_interval_for(audience: str) -> int:
    return REUSE_INTERVAL.get(audience, DEFAULT_REUSE_INTERVAL)


def grace_for(audience: str) -> int:
    return GRACE_AFTER_NEXT_UPDATE.get(audience, DEFAULT_GRACE)


def stop_at(audience: str, next_update: int, expires_at: int) -> int:
    """The instant a verifier of ``audience`` stops granting on a list with these times."""
    return min(int(next_update) + grace_for(audience), int(expires_at))


def evaluate(audience: str, next_update: int, expires_at: int, now: float) -> PolicyAnswer:
    stop = stop_at(audience, next_update, expires_at)
    state = (PolicyState.FRESH if now < next_update else
             PolicyState.GRACE if now < stop else PolicyState.STOPPED)
    return PolicyAnswer(state, stop, grace_for(audience))


def table() -> list[dict[str, object]]:
    """The policy as rows (for the console and docs)."""
    rows = [{"audience": a, "grace_seconds": g} for a, g in GRACE_AFTER_NEXT_UPDATE.items()]
    return rows + [{"audience": "*", "grace_seconds": DEFAULT_GRACE}]
