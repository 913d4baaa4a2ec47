"""What a venue type decides, as verifiers learn it from the signed trust list (issue 20).

A city adds venue types (a museum, a bike-share dock) and perks with their own terms without releasing a new
SDK: the issuer publishes each venue type's policy in the trust list's ``venue_types`` member, the root
signs it, and a verifier applies the policy of its own audience from its next sync on. This module is that
member's one definition (build and strict parse) and what a verifier does with it. It names no venue type:
the city's venue types are data (the issuer's ``assets/venue-types.json``).

The member, one entry per venue type (credential audience)::

    "venue_types": {"museum": {"label": {"en": "Museum", "zh-CN": "博物馆"},
                               "grace_after_next_update": 172800, "reuse_interval": 0,
                               "perks": {"CITY-MUSEUM-FREE": {"reuse_interval": 86400}}}}

* ``grace_after_next_update``: how long after the list's ``next_update`` a verifier that could not refresh
  keeps granting. States, for ``next_update`` N, ``exp`` E and grace G (``stop`` = min(N + G, E))::

      fresh    now < N             grant; nothing to say
      grace    N <= now < stop     grant; the status bar says until when
      stopped  now >= stop         refuse every code (TRUST_LIST_EXPIRED) until a newer list is loaded

  The numbers weigh what a wrongly granted perk costs against what a whole venue type refusing everyone
  costs (the EU certificate verifiers all failed the day a list was not re-signed).
* ``reuse_interval``: after a grant, how long one PP2 certificate is refused (``REPLAYED``) at this gate: what
  "once per visit" means at this venue type. 0 means the format's minimum, 2 x (presentation window +
  leeway) (130 s by default), which a verifier never goes below.
* ``perks``: a perk's own usage rule, a longer interval ("once a day": 86400, "once a month": 2592000).

Strict: an unknown member, a wrong type or a value out of range makes the whole list invalid (a verifier
keeps the list it holds), never "no policy".

Where there is no policy for the verifier's audience:

* the list publishes no ``venue_types`` member at all (a list of an issuer that predates policies, the v1 test
  vectors): the v1 rules, which such a list was signed under: grant until ``exp``, the format's minimum
  reuse interval. ``source`` says :attr:`PolicySource.NOT_PUBLISHED`.
* the list publishes policies but none for this audience (a venue type the issuer does not know, or a typo in
  the gate's configuration): the safest answer, :data:`FALLBACK_GRACE` (grant only while the list is fresh)
  and :data:`FALLBACK_REUSE_INTERVAL` (one grant per certificate per day, the default certificate lifetime),
  and the verifier says so (a warning in its log, ``Verifier.policy.describe()``, the refusal's detail).
  A longer interval would not help: a phone gets a new certificate, with a new id, every day.
"""
from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from . import pp2
from .format import AUDIENCE_RE

DAY = 86_400
MAX_GRACE = 31 * DAY            # a list is valid for 7 days by default; more than a month is a mistake
MAX_REUSE_INTERVAL = pp2.MAX_REUSE_INTERVAL  # "once a month": the longest a verifier remembers a grant
MAX_VENUE_TYPES = 256
MAX_PERKS_PER_VENUE_TYPE = 256
MAX_LABEL_CHARS = 64
LANGUAGES = ("en", "zh-CN")

FALLBACK_GRACE = 0
FALLBACK_REUSE_INTERVAL = DAY

_AUDIENCE = AUDIENCE_RE.match
_PERK = re.compile(r"[A-Z][A-Z0-9-]{1,31}").fullmatch       # a perk code, as the issuer's catalogue allows
_VENUE_KEYS = frozenset({"label", "grace_after_next_update", "reuse_interval", "perks"})
_PERK_KEYS = frozenset({"reuse_interval"})


class PolicySource(str, enum.Enum):
    TRUST_LIST = "trust_list"          # the list's policy for this venue type
    NOT_LISTED = "not_listed"          # the list publishes policies, none for this venue type: the safe fallback
    NOT_PUBLISHED = "not_published"    # the list publishes no policies (v1): the v1 rules


@dataclass(frozen=True, slots=True)
class VenuePolicy:
    audience: str
    grace_after_next_update: int
    reuse_interval: int                     # 0 = the format's minimum
    perk_reuse: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    label: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source: PolicySource = PolicySource.TRUST_LIST

    def usage_interval(self, perks: tuple[str, ...] | list[str]) -> int:
        """The longest usage rule among ``perks`` and the venue type's own interval (0: none set)."""
        rules = self.perk_reuse
        interval = self.reuse_interval
        for p in perks:
            r = rules.get(p, 0)
            if r > interval:
                interval = r
        return interval

    def label_in(self, language: str) -> str:
        """The venue type's name for people (``audience`` itself when the list gives none)."""
        return self.label.get(language) or self.label.get("en") or self.audience

    def describe(self) -> str:
        if self.source is PolicySource.TRUST_LIST:
            return f"venue type {self.audience!r}: policy from the trust list"
        if self.source is PolicySource.NOT_PUBLISHED:
            return (f"venue type {self.audience!r}: the trust list publishes no venue-type policy; v1 rules "
                    f"(grant until the list expires, the format's minimum reuse interval)")
        return (f"venue type {self.audience!r} has no policy in the trust list: safest fallback, granting only "
                f"while the list is fresh, one grant per certificate per {FALLBACK_REUSE_INTERVAL // 3600} h")


class PolicyState(str, enum.Enum):
    FRESH = "fresh"
    GRACE = "grace"
    STOPPED = "stopped"


class PolicyAnswer(NamedTuple):
    state: PolicyState
    stop_at: int        # when granting stops for this venue type (epoch seconds)
    grace_seconds: int


def policy_for(venue_types: Mapping[str, VenuePolicy] | None, audience: str) -> VenuePolicy:
    """The policy a verifier of ``audience`` applies under a list with this ``venue_types`` member (None:
    the list has none)."""
    if venue_types is None:
        return VenuePolicy(audience, MAX_GRACE, 0, source=PolicySource.NOT_PUBLISHED)
    found = venue_types.get(audience)
    if found is not None:
        return found
    return VenuePolicy(audience, FALLBACK_GRACE, FALLBACK_REUSE_INTERVAL, source=PolicySource.NOT_LISTED)


def stop_at(policy: VenuePolicy, next_update: int, expires_at: int) -> int:
    """The instant a verifier under ``policy`` stops granting on a list with these times."""
    return min(int(next_update) + policy.grace_after_next_update, int(expires_at))


def evaluate(policy: VenuePolicy, next_update: int, expires_at: int, now: float) -> PolicyAnswer:
    stop = stop_at(policy, next_update, expires_at)
    state = (PolicyState.FRESH if now < next_update else
             PolicyState.GRACE if now < stop else PolicyState.STOPPED)
    return PolicyAnswer(state, stop, policy.grace_after_next_update)


# ------------------------------------------------------------------------------------------ the member

def _seconds(value: Any, limit: int, where: str) -> int:
    if type(value) is not int or not 0 <= value <= limit:
        raise ValueError(f"{where} must be an integer 0..{limit} (seconds)")
    return value


def _label(value: Any, where: str) -> Mapping[str, str]:
    if type(value) is not dict or set(value) != set(LANGUAGES) or not all(
            type(v) is str and 0 < len(v) <= MAX_LABEL_CHARS for v in value.values()):
        raise ValueError(f"{where}.label must be {{'en': …, 'zh-CN': …}}, 1..{MAX_LABEL_CHARS} characters each")
    return MappingProxyType({k: value[k] for k in LANGUAGES})


def decode_member(member: Any) -> Mapping[str, VenuePolicy]:
    """The policies a trust list's ``venue_types`` member states, or raise ``ValueError`` (the list is invalid)."""
    if type(member) is not dict or not 0 < len(member) <= MAX_VENUE_TYPES:
        raise ValueError(f"venue_types must be an object of 1..{MAX_VENUE_TYPES} venue types")
    out: dict[str, VenuePolicy] = {}
    for audience, entry in member.items():
        if type(audience) is not str or not _AUDIENCE(audience):
            raise ValueError(f"venue_types: {str(audience)[:40]!r} is not a venue type code")
        where = f"venue_types.{audience}"
        if type(entry) is not dict or set(entry) - _VENUE_KEYS or \
                not {"label", "grace_after_next_update", "reuse_interval"} <= set(entry):
            raise ValueError(f"{where} must hold label, grace_after_next_update, reuse_interval and "
                             f"optionally perks, nothing else")
        perks = entry.get("perks", {})
        if type(perks) is not dict or len(perks) > MAX_PERKS_PER_VENUE_TYPE:
            raise ValueError(f"{where}.perks must be an object of at most {MAX_PERKS_PER_VENUE_TYPE} perks")
        perk_reuse: dict[str, int] = {}
        for code, rule in perks.items():
            if type(code) is not str or not _PERK(code) or type(rule) is not dict or set(rule) != _PERK_KEYS:
                raise ValueError(f"{where}.perks: {str(code)[:40]!r} must be a perk code with {{'reuse_interval': N}}")
            perk_reuse[code] = _seconds(rule["reuse_interval"], MAX_REUSE_INTERVAL, f"{where}.perks.{code}")
        out[audience] = VenuePolicy(
            audience,
            _seconds(entry["grace_after_next_update"], MAX_GRACE, f"{where}.grace_after_next_update"),
            _seconds(entry["reuse_interval"], MAX_REUSE_INTERVAL, f"{where}.reuse_interval"),
            MappingProxyType(perk_reuse), _label(entry["label"], where))
    return MappingProxyType(out)


def encode_member(policies: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The ``venue_types`` member for these policies (as :func:`decode_member` reads them), checked the same
    way: an issuer never signs a member its verifiers would refuse."""
    member = {aud: {k: v for k, v in entry.items() if k != "perks" or v} for aud, entry in policies.items()}
    decode_member(member)
    return member
