"""Partners, venues, one-time enrolment codes and kiosk devices."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from ..settings import settings
from ..extensions import db, rows_changed
from ..models import Device, EnrolmentCode, Partner, Venue
from . import crypto
from . import trust_list as trust_service
from .errors import Conflict, InvalidInput, NotFound
from .perks import AUDIENCE_RE, get_catalogue


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def create_partner(name: str, now: int, contact: str | None = None) -> Partner:
    if db.session.scalars(select(Partner).where(Partner.name == name)).first() is not None:
        raise Conflict(f"a partner named {name!r} exists", {"name": ["Already exists."]})
    p = Partner(name=name, contact=contact, created_at=now)
    db.session.add(p)
    db.session.commit()
    return p


def create_venue(partner_id: int, name: str, audience: str, perks: list[str] | None, now: int,
                 name_zh: str | None = None) -> Venue:
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        raise NotFound("unknown partner", {"partner_id": ["Unknown partner."]})
    catalogue = get_catalogue()
    if not AUDIENCE_RE.match(audience):
        raise InvalidInput("bad audience", {"audience": ["A venue type code (lower-case) of the registry."]})
    offered = [p.code for p in catalogue.perks.values() if p.audience == audience]
    if perks is None:
        perks = offered
    unknown = [c for c in perks if c not in catalogue.perks]
    wrong = [c for c in perks if c in catalogue.perks and catalogue.perks[c].audience != audience]
    if unknown or wrong:
        msgs = [f"Unknown perk {c}." for c in unknown] + [f"Perk {c} is not for audience {audience}." for c in wrong]
        raise InvalidInput("the venue's perks must be known perks of its audience", {"perks": msgs})
    if not perks:
        raise InvalidInput(f"no configured perk has audience {audience!r}",
                           {"audience": [f"Known audiences: {', '.join(catalogue.audiences)}."]})
    v = Venue(partner_id=partner.id, name=name, name_zh=name_zh or None, audience=audience,
              perk_codes=sorted(set(perks)), created_at=now, active=True)
    db.session.add(v)
    db.session.commit()
    return v


def get_venue(venue_id: int) -> Venue:
    """The venue, or NotFound."""
    venue = db.session.get(Venue, venue_id)
    if venue is None:
        raise NotFound("unknown venue", {"venue_id": ["Unknown venue."]})
    return venue


def create_enrolment_code(venue_id: int, now: int, ttl: int | None = None) -> tuple[str, EnrolmentCode]:
    venue = get_venue(venue_id)
    ttl = int(ttl if ttl is not None else settings().enrolment_code_ttl)
    code = crypto.human_code()
    row = EnrolmentCode(venue_id=venue.id, code_hash=crypto.sha256_hex(_normalise_code(code)), created_at=now,
                        expires_at=now + ttl)
    db.session.add(row)
    db.session.commit()
    return code, row


def venue_config(venue: Venue, now: int) -> dict:
    catalogue = get_catalogue()
    tl = trust_service.current(now)
    return {
        "venue": {"id": venue.id, "name": venue.name, "audience": venue.audience,
                  "perks": [{"code": c, "title": dict(catalogue.perks[c].title)} for c in venue.perk_codes
                            if c in catalogue.perks]},
        "issuer": settings().issuer,
        "root_public_key": trust_service.root_jwk(),
        "trust_list": tl.jws,
        "trust_list_url": "/api/v1/trust-list",
    }


def enrol(code: str, device_name: str, now: int) -> dict:
    """Trade a one-time enrolment code for a device token and the venue's configuration."""
    code_hash = crypto.sha256_hex(_normalise_code(code))
    row = db.session.scalars(select(EnrolmentCode).where(EnrolmentCode.code_hash == code_hash)).first()
    if row is None or row.expires_at <= now:
        raise NotFound("This enrolment code is unknown or has expired.",
                       {"enrolment_code": ["Unknown or expired."]},
                       code="unknown_enrolment_code")
    if row.used_at is not None:
        raise InvalidInput("This enrolment code has already been used.",
                           {"enrolment_code": ["Already used."]},
                           code="enrolment_code_used")
    venue = row.venue
    if not venue.active:
        raise InvalidInput("The venue of this code is deactivated.", code="venue_inactive")
    # claim the code atomically: of two kiosks racing with one code, exactly one wins
    claimed = rows_changed(update(EnrolmentCode).where(EnrolmentCode.id == row.id,
                                                       EnrolmentCode.used_at.is_(None))
                           .values(used_at=now))
    if claimed != 1:
        db.session.rollback()
        raise InvalidInput("This enrolment code has already been used.",
                           {"enrolment_code": ["Already used."]},
                           code="enrolment_code_used")
    token = crypto.random_token("pp_dev_")
    device = Device(public_id="dev_" + uuid.uuid4().hex[:20], venue_id=venue.id, name=device_name,
                    token_hash=crypto.sha256_hex(token), created_at=now, last_seen_at=now)
    db.session.add(device)
    db.session.flush()
    db.session.execute(update(EnrolmentCode).where(EnrolmentCode.id == row.id).values(device_id=device.id))
    db.session.commit()
    out = {"device_id": device.public_id, "device_token": token}
    out.update(venue_config(venue, now))
    return out


_DEVICE_BY_TOKEN = ("SELECT id, public_id, venue_id, name, token_hash, created_at, last_seen_at, revoked_at "
                    "FROM devices WHERE token_hash = $1")


def device_for_token(raw: str) -> Device | None:
    """The kiosk holding this token (every kiosk request). On PostgreSQL one prepared statement on the autocommit
    read connection (services/read_conn.py), the row then placed in the session as the loaded Device it is
    (no query): ~0.15 instead of ~0.5 ms of CPU, and the session opens no transaction a kiosk upload does
    not need (docs/deploy.md, kiosk sync)."""
    token_hash = crypto.sha256_hex(raw)
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return db.session.scalars(select(Device).where(Device.token_hash == token_hash)).first()
    from sqlalchemy.orm import make_transient_to_detached

    from . import read_conn
    rows = read_conn.fetch_prepared(engine, "perkpass_device_by_token", _DEVICE_BY_TOKEN, (token_hash,))
    if not rows:
        return None
    r: tuple[Any, ...] = rows[0]  # text of NOT NULL columns but the last two
    device = Device(id=int(r[0]), public_id=r[1], venue_id=int(r[2]), name=r[3], token_hash=r[4],
                    created_at=int(r[5]), last_seen_at=None if r[6] is None else int(r[6]),
                    revoked_at=None if r[7] is None else int(r[7]))
    make_transient_to_detached(device)
    return db.session.merge(device, load=False)


def revoke_device(public_id: str, now: int) -> Device:
    # longer than any public id (and than the column): no such device, without asking the database
    d = None if len(public_id) > 40 else db.session.scalars(select(Device).where(Device.public_id == public_id)).first()
    if d is None:
        raise NotFound("unknown device", {"device_id": ["Unknown device."]})
    if d.revoked_at is None:
        d.revoked_at = now
        db.session.commit()
    return d


def export_enrolment(venue_id: int, now: int) -> dict:
    """The enrolment response without a device token, for a kiosk that is never online."""
    venue = get_venue(venue_id)
    out = {"device_id": None}
    out.update(venue_config(venue, now))
    return out
