"""Issuing perk credentials to a logged-in citizen.

Only perk codes (and a band code for perks that declare ``discloses_band``) go into a credential;
the score stays here. A citizen with no perk at an audience gets no code at all.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from sqlalchemy import select

from partner_sdk.format import pairwise_pseudonym
from partner_sdk.issue import issue_credential

from ..settings import settings
from ..extensions import db
from ..models import CitizenScheme, Scheme
from . import keys as key_service
from .perks import Perk, get_catalogue
from .errors import NotFound, Unavailable
from .secrets_store import PSEUDONYM, get_secret

log = logging.getLogger("perkpass.issuance")


@dataclass
class Offer:
    scheme: str
    perks: list[Perk]
    band: str | None


@dataclass
class Issued:
    audience: str
    scheme: str
    perks: list[Perk]
    qr_text: str
    jti: str
    kid: str
    issued_at: int
    expires_at: int
    refresh_after: int
    other_schemes: list[str]


def signing_key(now: int, what: str) -> key_service.ActiveKey:
    """The key that signs ``what`` (codes, certificates) now; Unavailable when there is none or it cannot be
    used (the operator must rotate or unlock the keys: waiting will not help, so no Retry-After)."""
    try:
        return key_service.current_signing_key(now)
    except key_service.KeyError_:
        log.error("issuance.no_signing_key", extra={"fields": {"what": what.lower()}})
        raise Unavailable(f"{what} cannot be issued right now (no active signing key).", retry_after=None) from None


def memberships(citizen_id: int) -> list[tuple[str, int]]:
    """(scheme code, score) pairs of a citizen: one indexed query, no ORM objects (hot path)."""
    stmt = (select(Scheme.code, CitizenScheme.score)
            .join(Scheme, Scheme.id == CitizenScheme.scheme_id)
            .where(CitizenScheme.citizen_id == citizen_id))
    return [(code, score) for code, score in db.session.execute(stmt)]


def offers(citizen_id: int, audience: str, known: list[tuple[str, int]] | None = None) -> list[Offer]:
    """Every scheme that gives the citizen at least one perk at ``audience``; most perks first.
    ``known``: the (scheme, score) pairs when the caller already has them (fetched with the token)."""
    catalogue = get_catalogue()
    out = []
    for code, score in (known if known is not None else memberships(citizen_id)):
        scheme = catalogue.schemes.get(code)
        if scheme is None:
            continue
        perks = scheme.eligible(score, audience)
        if perks:
            band = scheme.band_for(score).code if any(p.discloses_band for p in perks) else None
            out.append(Offer(code, perks, band))
    out.sort(key=lambda o: (-len(o.perks), o.scheme))
    return out


PSEUDONYM_PERIOD = 86_400  # a PP1 pseudonym lives one UTC day: a venue type cannot follow a citizen across days


def pseudonym(citizen_public_id: str, audience: str, now: int) -> str:
    """The PP1 ``sub`` for a citizen at a venue type on the UTC day of ``now``."""
    return _pseudonym(get_secret(PSEUDONYM), citizen_public_id, audience, str(int(now) // PSEUDONYM_PERIOD))


def pseudonyms_of(citizen_public_id: str, audiences, now: int, days: int) -> list[str]:
    """Every PP1 pseudonym the citizen had at these venue types over the last ``days`` days (for their own
    history and for deleting it): a few HMACs per day, computed only here, never stored."""
    secret = get_secret(PSEUDONYM)
    today = int(now) // PSEUDONYM_PERIOD
    return [pairwise_pseudonym(secret, citizen_public_id, a, str(d))
            for a in sorted(audiences) for d in range(today - days, today + 2)]


# A pure function of (secret, citizen, audience, day): a citizen refreshing a code every minute asks for
# the same value again and again. 20,000 entries is a few MB per worker.
_pseudonym = functools.lru_cache(maxsize=20_000)(pairwise_pseudonym)


def issue(citizen_id: int, citizen_public_id: str, audience: str, now: int, scheme: str | None = None,
          known: list[tuple[str, int]] | None = None) -> Issued | None:
    """Sign a credential for the citizen's perks at ``audience`` (``None`` when there are none). NotFound for
    a ``scheme`` the catalogue does not have; Unavailable when no signing key can sign."""
    if scheme is not None and scheme not in get_catalogue().schemes:
        raise NotFound("unknown scheme", {"scheme": ["Unknown scheme."]})
    available = offers(citizen_id, audience, known)
    if scheme is not None:
        chosen = [o for o in available if o.scheme == scheme]
    else:
        chosen = available[:1]
    if not chosen:
        return None
    offer = chosen[0]
    cfg = settings()
    key = signing_key(now, "Codes")
    lifetime = cfg.credential_lifetime
    cred = issue_credential(
        signing_key=key.private, kid=key.kid, issuer=cfg.issuer, audience=audience,
        subject=pseudonym(citizen_public_id, audience, now), perks=[p.code for p in offer.perks],
        scheme=offer.scheme, now=now, lifetime=lifetime, band=offer.band,
    )
    return Issued(audience=audience, scheme=offer.scheme, perks=offer.perks, qr_text=cred.qr_text, jti=cred.jti,
                  kid=key.kid, issued_at=cred.issued_at, expires_at=cred.expires_at,
                  refresh_after=cfg.refresh_after,
                  other_schemes=[o.scheme for o in available if o.scheme != offer.scheme])
