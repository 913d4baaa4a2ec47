"""Redemption batches from kiosks, the cross-venue replay report and a citizen's own history."""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Device, Redemption, Venue
from .perks import get_catalogue


def ingest(device: Device, items: list[dict], now: int) -> dict:
    """Store a batch. Idempotent by (device, client id): a re-sent item is reported as duplicate and
    keeps its original scan time. A jti also redeemed at another venue is flagged as a replay.

    Two syncs of the same batch racing each other (a kiosk retrying after a timeout) meet at the unique
    constraint; the loser starts again and reports the winner's rows as duplicates."""
    device_id = device.id
    for attempt in range(3):
        try:
            return _ingest(device, items, now)
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
            device = db.session.get(Device, device_id)
    raise AssertionError("unreachable")


def _ingest(device: Device, items: list[dict], now: int) -> dict:
    ids = [it["id"] for it in items]
    existing = set(db.session.scalars(select(Redemption.client_id).where(
        Redemption.device_id == device.id, Redemption.client_id.in_(ids)))) if ids else set()
    results, accepted, duplicates = [], 0, 0
    seen_in_batch: set[str] = set()
    new_rows = []
    for it in items:
        cid = it["id"]
        if cid in existing or cid in seen_in_batch:
            results.append({"id": cid, "status": "duplicate"})
            duplicates += 1
            continue
        seen_in_batch.add(cid)
        new_rows.append(Redemption(client_id=cid, device_id=device.id, venue_id=device.venue_id,
                                   audience=device.venue.audience, jti=it["jti"], pseudonym=it["pseudonym"],
                                   perk=it["perk"], scanned_at=it["scanned_at"], received_at=now))
        results.append({"id": cid, "status": "accepted"})
        accepted += 1
    if new_rows:
        db.session.add_all(new_rows)
        db.session.flush()
        jtis = sorted({r.jti for r in new_rows})
        # a jti seen at more than one venue: flag every row of it
        multi = set(db.session.scalars(
            select(Redemption.jti).where(Redemption.jti.in_(jtis)).group_by(Redemption.jti)
            .having(func.count(func.distinct(Redemption.venue_id)) > 1)))
        if multi:
            db.session.execute(update(Redemption).where(Redemption.jti.in_(sorted(multi)))
                               .values(cross_venue_replay=True))
    device.last_seen_at = now
    db.session.commit()
    return {"results": results, "accepted": accepted, "duplicates": duplicates}


def replay_report(limit: int = 200) -> list[dict]:
    """jtis accepted at more than one venue (a copied code used twice), newest first."""
    groups = db.session.execute(
        select(Redemption.jti, func.count(Redemption.id), func.min(Redemption.scanned_at),
               func.max(Redemption.scanned_at))
        .group_by(Redemption.jti).having(func.count(func.distinct(Redemption.venue_id)) > 1)
        .order_by(func.max(Redemption.scanned_at).desc()).limit(limit)).all()
    out = []
    for jti, count, first, last in groups:
        rows = db.session.execute(
            select(Redemption.venue_id, Venue.name, Device.public_id, Redemption.perk, Redemption.scanned_at,
                   Redemption.pseudonym)
            .join(Venue, Venue.id == Redemption.venue_id).join(Device, Device.id == Redemption.device_id)
            .where(Redemption.jti == jti).order_by(Redemption.scanned_at)).all()
        out.append({
            "jti": jti, "redemptions": count, "first_scanned_at": first, "last_scanned_at": last,
            "venues": sorted({r[0] for r in rows}),
            "scans": [{"venue_id": r[0], "venue_name": r[1], "device_id": r[2], "perk": r[3], "scanned_at": r[4],
                       "pseudonym": r[5]} for r in rows],
        })
    return out


def for_citizen(public_id: str, limit: int = 200) -> list[dict]:
    """Where the citizen's codes were used, computed from their pairwise pseudonyms."""
    from .issuance import pseudonym
    audiences = set(get_catalogue().audiences) | {a for (a,) in db.session.execute(select(Venue.audience).distinct())}
    pseudonyms = [pseudonym(public_id, a) for a in sorted(audiences)]
    # PP2 codes carry a fresh certificate id instead of a pseudonym: the backend alone knows whose it is
    from .certificates import cert_ids_of
    from ..models import Citizen
    citizen_id = db.session.scalars(select(Citizen.id).where(Citizen.public_id == public_id)).first()
    if citizen_id is not None:
        pseudonyms += cert_ids_of(citizen_id)
    catalogue = get_catalogue()
    # computed at read time (not only the flag stored at ingest), so two kiosks syncing the same copied
    # code at the same moment are still both flagged
    mine = select(Redemption.jti).where(Redemption.pseudonym.in_(pseudonyms))
    replayed = set(db.session.scalars(select(Redemption.jti).where(Redemption.jti.in_(mine))
                                      .group_by(Redemption.jti)
                                      .having(func.count(func.distinct(Redemption.venue_id)) > 1)))
    rows = db.session.execute(
        select(Redemption.client_id, Redemption.perk, Redemption.scanned_at, Redemption.audience, Venue.id,
               Venue.name, Redemption.jti)
        .join(Venue, Venue.id == Redemption.venue_id)
        .where(Redemption.pseudonym.in_(pseudonyms))
        .order_by(Redemption.scanned_at.desc(), Redemption.id.desc()).limit(limit)).all()
    return [{
        "id": r[0], "perk": r[1],
        "perk_title": dict(catalogue.perks[r[1]].title) if r[1] in catalogue.perks else {"en": r[1], "zh-CN": r[1]},
        "scanned_at": r[2], "audience": r[3], "venue": {"id": r[4], "name": r[5]}, "flagged_replay": r[6] in replayed,
    } for r in rows]
