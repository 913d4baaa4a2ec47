"""PP3 issuance (issue 23): blind BBS certificates a phone turns into unlinkable codes (partner_sdk.pp3).

The phone sends hiding commitments to its pseudonym secrets (partner_sdk.pp3.holder_request); for each venue
type and scheme where the citizen has perks now, and the scheme has PP3 switched on, the issuer checks one
commitment's proof and signs the certificate blindly over it with fresh entropy of its own. The issuer never
learns a secret, so it cannot compute the citizen's pseudonyms nor recognise a code at a gate.

One certificate per citizen, venue type, scheme and UTC day (``Pp3Issuance``): a certificate carries its own
pseudonym secret, so a second one for the same day would get through a gate's quota twice.

PP3 is off by default: ``PERKPASS_PP3_SCHEMES`` names the schemes that issue it (empty: none, and the trust
list carries no BBS key). The BBS keys are derived from named issuer secrets (encrypted at rest like the
signing keys), one per key period (``bbs_key``, docs/design/pp3.md "Key rotation").
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from partner_sdk import bbs, pp3, venue_policy

from ..settings import settings
from ..extensions import db
from ..models import Citizen, Pp3Issuance
from .errors import Conflict, InvalidInput
from .issuance import memberships, offers

MAX_COMMITMENTS = 16
# BBS keys rotate by construction: generation g signs the certificates of days [g * period, (g + 1) * period)
# and is published with nbf/not_after at its period's bounds, so gates refuse its proofs once its period
# ended. The trust list always carries the current and the next generation: a kiosk whose list is a week
# old still knows the key that signs after a switch (the period is longer than a list's validity).
BBS_SECRET_PREFIX = "pp3-bbs-key-"


def enabled_schemes() -> frozenset[str]:
    return settings().pp3_schemes


def key_period_days() -> int:
    """Days one BBS key signs (``PERKPASS_PP3_KEY_DAYS``, default 30; at least 8, more than a trust list's
    validity, so the next key is always published before it signs)."""
    return settings().pp3_key_days


@dataclass(frozen=True)
class IssuerBbsKey:
    secret_key: int
    public: pp3.BbsKey


def _generation_key(generation: int, now: int) -> IssuerBbsKey:
    from .secrets_store import get_secret

    period = key_period_days() * pp3.DAY
    name = f"{BBS_SECRET_PREFIX}{generation}"
    material = get_secret(name, now)  # made (random, encrypted at rest) the first time a list or day needs it
    sk = bbs.keygen(material, b"perkpass-pp3")
    cache = current_app.extensions.setdefault("perkpass_pp3_key", {})
    if (sk, period) not in cache:
        pk = bbs.sk_to_pk(sk)
        kid = "pp3-" + hashlib.sha256(pk).hexdigest()[:16]
        # not_after is the period's end: its last certificates (that day's) end then too
        cache[(sk, period)] = pp3.BbsKey(kid, pk, generation * period, (generation + 1) * period)
    return IssuerBbsKey(sk, cache[(sk, period)])


def bbs_key(now: int) -> IssuerBbsKey:
    """The key that signs today's certificates."""
    return _generation_key(int(now) // pp3.DAY // key_period_days(), int(now))


def trust_list_keys(now: int) -> list[pp3.BbsKey]:
    """The trust list's ``bbs_keys``: the current and the next key while any scheme issues PP3, else none."""
    if not enabled_schemes():
        return []
    generation = int(now) // pp3.DAY // key_period_days()
    return [_generation_key(generation, int(now)).public, _generation_key(generation + 1, int(now)).public]


@dataclass(frozen=True)
class Issued:
    commitment_index: int
    certificate: pp3.Certificate
    signer_nym_entropy: int
    quota_window: int
    titles: dict


def _wanted(citizen: Citizen) -> list[tuple[str, str, list]]:
    """(venue type, scheme, perks) of every certificate the citizen's perks call for now, in a stable order:
    schemes with PP3 on, perks that do not show the band (PP3 discloses venue type, perks and day only)."""
    schemes = enabled_schemes()
    from .perks import get_catalogue

    catalogue = get_catalogue()
    known = [(code, score) for code, score in memberships(citizen.id) if code in schemes]
    audiences = sorted({p.audience for code, score in known
                        if (s := catalogue.schemes.get(code)) is not None for p in s.eligible(score)})
    wanted = []
    for audience in audiences:
        for offer in offers(citizen.id, audience, known):
            # a perk that shows the band stays with PP1/PP2
            perks = [p for p in offer.perks if not p.discloses_band]
            if perks:
                wanted.append((audience, offer.scheme, perks))
    return wanted


def pending(citizen: Citizen, now: int) -> list[tuple[str, str, list]]:
    """The certificates :func:`certify` would make now: wanted and not yet issued today (none with PP3 off)."""
    if not enabled_schemes():
        return []
    done = set(issued_today(citizen.id, now))
    return [w for w in _wanted(citizen) if (w[0], w[1]) not in done]


def certify(citizen: Citizen, commitments: list[bytes], now: int) -> list[Issued]:
    """Blind-sign today's PP3 certificates not issued yet today (a scheme joined at noon gets its own then),
    one commitment each, in the order the offers come. Raises Conflict when PP3 is off, when there are fewer
    commitments than certificates to make, or when every certificate due today was already issued;
    InvalidInput for a commitment whose proof fails."""
    if not enabled_schemes():
        raise Conflict("Unlinkable codes (PP3) are not switched on for any scheme.", code="pp3_not_enabled")
    from .trust_list import venue_types_member

    wanted = pending(citizen, now)
    if not wanted and _wanted(citizen):
        raise Conflict("Today's unlinkable certificates were already issued to this citizen; they come again "
                       "tomorrow.", code="pp3_already_issued")
    if len(commitments) < len(wanted):
        raise Conflict(f"{len(wanted)} certificates to make and {len(commitments)} commitments sent.",
                       {"commitments": [f"at least {len(wanted)}"]}, code="pp3_commitments_missing")
    policies = venue_policy.decode_member(venue_types_member())
    day = now // pp3.DAY
    key = bbs_key(now)
    issuer = settings().issuer
    out: list[Issued] = []
    for index, (audience, scheme, perks) in enumerate(wanted):
        try:
            cert, entropy = pp3.blind_sign_certificate(key.secret_key, key.public.kid, issuer, audience,
                                                       [p.code for p in perks], day, scheme, commitments[index])
        except ValueError as exc:
            raise InvalidInput(f"Commitment {index} is refused: {exc}.", {"commitments": [f"{index}: {exc}"]},
                               code="pp3_commitment_invalid") from None
        db.session.add(Pp3Issuance(citizen_id=citizen.id, audience=audience, scheme=scheme, day=day, issued_at=now))
        window = pp3.quota_window(venue_policy.policy_for(policies, audience).usage_interval(cert.perks))
        out.append(Issued(index, cert, entropy, window, {p.code: dict(p.title) for p in perks}))
    try:
        db.session.commit()
    except IntegrityError:  # two requests at once: the other one got today's certificates
        db.session.rollback()
        raise Conflict("Today's unlinkable certificates were already issued to this citizen; they come again "
                       "tomorrow.", code="pp3_already_issued") from None
    return out


def forget_citizen(citizen_id: int) -> None:
    """Opt-out: the issuance records go with the citizen (they say only which day a certificate was made)."""
    db.session.execute(Pp3Issuance.__table__.delete().where(Pp3Issuance.citizen_id == citizen_id))


def issued_today(citizen_id: int, now: int) -> list[tuple[str, str]]:
    day = now // pp3.DAY
    return [(a, s) for a, s in db.session.execute(select(Pp3Issuance.audience, Pp3Issuance.scheme)
                                                  .where(Pp3Issuance.citizen_id == citizen_id, Pp3Issuance.day == day))]
