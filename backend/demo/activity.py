"""A believable fortnight for the demo console: kiosks at every demo venue that report in, codes issued and
perks granted through each day (commuters at the metro gates at 8 and 18 h, the government office on weekday
office hours, the museum on weekends), a small share of refusals with the mix a city sees (mostly expired
codes, codes for another venue type and clocks out of step; a poster or a book's barcode now and then; a
forged code very rarely), and a few codes copied and used at two metro stations within a minute.

Made by ``flask --app backend seed-demo --activity`` (``make demo`` runs it), relative to now: the last
``DAYS`` UTC days up to this minute, in the machine's local time of day. Deterministic: every calendar day and
venue draws from its own seeded generator, so a re-run on the same day shows the same past and today grows.

A re-run replaces what the last run generated and nothing else: the demo kiosks' uploads and reports are
deleted and drawn again, and the codes-issued counters lose what the last run added (recorded in the audit log
as ``demo.activity_generated``) before the new counts are added, so codes really issued since stay counted.
The generated rows carry made-up code ids and pseudonyms: they belong to no citizen and no citizen's history
shows them.
"""
from __future__ import annotations

import base64
import hashlib
import random
import secrets
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from ..extensions import db
from ..models import Device, Partner, Redemption, TrustListVersion, Venue
from ..models.console import IssuedDaily, KioskReport, KioskScanCount
from ..models.ledger import AuditEntry
from ..services import console_stats
from .city import PARTNERS

DAYS = 14
SEED = "perkpass-demo-city"
DAY = 86400
AUDIT_ACTION = "demo.activity_generated"

# Relative weights of the 24 local hours of a day, by the kind of place.
PROFILES = {
    # metro gates: the morning and evening rush, quiet at noon, closed 23:30-6:00
    "commute": [0, 0, 0, 0, 0, 0, 2, 9, 14, 9, 4, 3, 3, 3, 3, 4, 6, 11, 14, 8, 4, 3, 2, 0],
    # counters open 9-12 and 13:30-17 on weekdays
    "office": [0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 10, 9, 2, 4, 8, 9, 7, 3, 0, 0, 0, 0, 0, 0],
    # libraries open 9-21, busiest after work and school
    "library": [0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 5, 4, 4, 5, 6, 7, 7, 9, 9, 6, 2, 0, 0],
    # a museum 9-17, late morning and mid-afternoon
    "museum": [0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 9, 8, 5, 6, 8, 8, 5, 1, 0, 0, 0, 0, 0, 0],
    # hospital receptions: the early-morning queue, a smaller afternoon
    "hospital": [0, 0, 0, 0, 0, 0, 0, 8, 12, 11, 9, 6, 2, 4, 5, 4, 3, 1, 0, 0, 0, 0, 0, 0],
    # shared bikes: commuters again, and an evening outing
    "bikes": [0, 0, 0, 0, 0, 1, 3, 9, 11, 5, 3, 3, 4, 3, 3, 4, 6, 10, 11, 8, 5, 3, 1, 0],
}


@dataclass(frozen=True)
class Place:
    """What one demo venue sees in a day: grants on a weekday and on a weekend day, its hours, its kiosks,
    and the share of scans it refuses."""
    weekday: int
    weekend: int
    profile: str
    kiosks: tuple[str, ...]
    refusal_rate: float


PLACES = {
    "Fuzhou Metro Line 1 - Dongjiekou gate": Place(620, 410, "commute", ("Gate 1 (north)", "Gate 4 (south)"), 0.038),
    "Fuzhou Metro Line 1 - Fuzhou Railway Station gate": Place(470, 520, "commute", ("Gate 2",), 0.042),
    "Gulou service office - Window 3": Place(95, 0, "office", ("Window 3 desk",), 0.045),
    "Xiamen Library - Main desk": Place(150, 230, "library", ("Main desk",), 0.03),
    "Gulangyu Piano Museum": Place(35, 105, "museum", ("Ticket hall",), 0.035),
    "Suzhou Library - Loans desk": Place(120, 190, "library", ("Loans desk",), 0.03),
    "Suzhou Municipal Hospital - Outpatient reception": Place(170, 55, "hospital", ("Reception 1",), 0.035),
    "Suzhou Rail Transit - Suzhou Railway Station": Place(540, 600, "commute", ("Gate A",), 0.04),
    "Rongcheng Heating - Customer hall": Place(28, 0, "office", ("Service counter",), 0.05),
    "Rongcheng Bank - Loans counter": Place(22, 0, "office", ("Loans counter",), 0.04),
    "Rongcheng People's Hospital - Check-up centre": Place(55, 12, "hospital", ("Check-up desk",), 0.035),
    "Rongcheng Housing - Lettings office": Place(11, 3, "office", ("Lettings desk",), 0.05),
    "CityShare bikes, cars & flats - Service point": Place(240, 200, "bikes", ("Service point",), 0.04),
}

# Why scans are refused, relative weights: mostly a code left open too long, shown at the wrong desk or made
# on a phone whose clock is off; posters and book barcodes where they hang about; a forgery very rarely.
REFUSAL_MIX = {"EXPIRED": 40, "WRONG_AUDIENCE": 15, "NOT_YET_VALID": 9, "NOT_ENTITLED": 10, "MALFORMED": 8,
               "REPLAYED": 7, "CLOCK_SKEW": 5, "UNKNOWN_KEY": 1.5, "REVOKED": 1.2, "BAD_SIGNATURE": 0.35}
MIX_BY_PROFILE = {"library": {"MALFORMED": 16}, "commute": {"WRONG_AUDIENCE": 20, "REPLAYED": 9},
                  "hospital": {"NOT_ENTITLED": 16}, "office": {"NOT_ENTITLED": 15}}
ISSUED_PER_GRANT = (1.7, 2.3)  # an open code refreshes itself: more codes are issued than scanned
REPLAYS = 4                     # codes copied and used at two metro stations, over the fortnight
OFFLINE_KIOSK = "Lettings desk"  # one kiosk that has not reported for a few hours (the office is closed)


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join([SEED, *map(str, parts)]))


def _pick_hour(rng: random.Random, weights: list[int]) -> int:
    return rng.choices(range(24), weights=weights)[0]


def _jti(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(12)).decode().rstrip("=")


def _pseudonym(rng: random.Random) -> str:
    return base64.b32encode(rng.randbytes(14)).decode().rstrip("=")


def _public_id(venue: str, kiosk: str) -> str:
    """The same device id on every run, so a re-run finds the demo kiosks it made."""
    return "dev_" + hashlib.sha256(f"{SEED}:{venue}:{kiosk}".encode()).hexdigest()[:20]


def demo_kiosk_ids() -> list[str]:
    return [_public_id(v, k) for v, place in PLACES.items() for k in place.kiosks]


def _kiosks(now: int) -> dict[str, list[Device]]:
    """The demo kiosks by venue name, enrolled a month ago on the first run (their tokens are thrown away:
    nothing can sign in as them)."""
    venues = {v.name: v for v in db.session.scalars(
        select(Venue).join(Partner, Partner.id == Venue.partner_id).where(Partner.name.in_(list(PARTNERS))))}
    out: dict[str, list[Device]] = {}
    for vname, place in PLACES.items():
        venue = venues.get(vname)
        if venue is None:
            continue
        for kname in place.kiosks:
            pid = _public_id(vname, kname)
            dev = db.session.scalars(select(Device).where(Device.public_id == pid)).first()
            if dev is None:
                dev = Device(public_id=pid, venue_id=venue.id, name=kname, created_at=now - 30 * DAY,
                             token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest())
                db.session.add(dev)
            out.setdefault(vname, []).append(dev)
    db.session.flush()
    return out


def _forget_last_run(devices: list[Device]) -> None:
    ids = [d.id for d in devices]
    if ids:
        for model in (Redemption, KioskScanCount, KioskReport):
            db.session.execute(delete(model).where(model.device_id.in_(ids)))
    last = db.session.scalars(select(AuditEntry).where(AuditEntry.action == AUDIT_ACTION)
                              .order_by(AuditEntry.id.desc()).limit(1)).first()
    if last is None:
        return
    for day, per in (last.details.get("issued") or {}).items():
        for aud, n in per.items():
            row = db.session.get(IssuedDaily, (day, aud))
            if row is not None:
                row.count = max(0, int(row.count) - int(n))


def seed_activity(now: int) -> dict:
    """Generate (or generate again) the demo fortnight up to ``now``; returns what was made."""
    from ..services.ledger import audit
    kiosks = _kiosks(now)
    _forget_last_run([d for ds in kiosks.values() for d in ds])
    offset = time.localtime(now).tm_gmtoff  # the demo's day follows the clock of the machine it runs on
    first_day = console_stats.utc_day(now - (DAYS - 1) * DAY)
    start = console_stats.day_start(first_day)
    venues = {v.id: v for v in db.session.scalars(select(Venue).where(
        Venue.id.in_([d.venue_id for ds in kiosks.values() for d in ds])))}

    seen = _last_seen(kiosks, now)
    waiting = {d: 0 for d in seen}                  # grants made after a kiosk's last report: not uploaded yet
    redemptions: list[dict] = []
    scans: dict[tuple[int, str, str], int] = {}     # (device, UTC day, status) -> count
    issued: dict[str, dict[str, int]] = {}          # UTC day -> venue type -> codes
    # every local day that overlaps the window, each drawn from its own generator
    local_days = sorted({time.strftime("%Y-%m-%d", time.gmtime(t + offset)) for t in range(start, now + 1, 3600)})
    for local_day in local_days:
        midnight = console_stats.day_start(local_day) - offset
        weekend = time.gmtime(midnight + offset).tm_wday >= 5
        for vname, devices in kiosks.items():
            place = PLACES[vname]
            venue = venues[devices[0].venue_id]
            rng = _rng(local_day, vname)
            base = place.weekend if weekend else place.weekday
            grants = max(0, round(rng.gauss(base, base * 0.08))) if base else 0
            refusals = round(grants * place.refusal_rate / (1 - place.refusal_rate) * rng.uniform(0.7, 1.3))
            weights = PROFILES[place.profile]
            mix = {**REFUSAL_MIX, **MIX_BY_PROFILE.get(place.profile, {})}
            for i in range(grants + refusals):
                at = midnight + _pick_hour(rng, weights) * 3600 + rng.randrange(3600)
                dev = devices[rng.randrange(len(devices))]
                status = "GRANTED" if i < grants else rng.choices(list(mix), weights=list(mix.values()))[0]
                jti, pseudonym, perk = _jti(rng), _pseudonym(rng), rng.choice(venue.perk_codes)
                client_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                lag = rng.randrange(5, 180)  # the kiosk uploads within minutes
                if at < start or at > now:
                    continue  # drawn all the same, so the rest of the day does not depend on now
                if at > seen[dev.id]:
                    waiting[dev.id] += status == "GRANTED"
                    continue
                day = console_stats.utc_day(at)
                scans[(dev.id, day, status)] = scans.get((dev.id, day, status), 0) + 1
                if status == "GRANTED":
                    issued.setdefault(day, {}).setdefault(venue.audience, 0)
                    issued[day][venue.audience] += 1
                    redemptions.append({"client_id": client_id, "device_id": dev.id, "venue_id": venue.id,
                                        "audience": venue.audience, "jti": jti, "pseudonym": pseudonym,
                                        "perk": perk, "scanned_at": at, "received_at": min(seen[dev.id], at + lag),
                                        "cross_venue_replay": False})
    for copy in _copied_codes(redemptions, kiosks, seen):
        key = (copy["device_id"], console_stats.utc_day(copy["scanned_at"]), "GRANTED")
        scans[key] = scans.get(key, 0) + 1
    rng = _rng("issued", first_day)
    for day, per in issued.items():
        for aud, n in per.items():
            per[aud] = round(n * rng.uniform(*ISSUED_PER_GRANT))
            row = db.session.get(IssuedDaily, (day, aud))
            if row is None:
                db.session.add(IssuedDaily(day=day, audience=aud, count=per[aud]))
            else:
                row.count = int(row.count) + per[aud]
    if redemptions:
        db.session.execute(insert(Redemption), redemptions)
    db.session.execute(insert(KioskScanCount), [{"device_id": d, "day": day, "status": st, "count": n,
                                                 "reported_at": now} for (d, day, st), n in scans.items()])
    _reports(kiosks, seen, waiting)
    totals = {"kiosks": sum(len(v) for v in kiosks.values()), "grants": len(redemptions),
              "refusals": sum(n for (_d, _day, st), n in scans.items() if st != "GRANTED"),
              "issued_codes": sum(sum(p.values()) for p in issued.values()),
              "replays": sum(1 for r in redemptions if r["cross_venue_replay"]) // 2}
    audit("operator", "seed-demo", AUDIT_ACTION, "demo", "activity", {**totals, "issued": issued}, now)
    db.session.commit()
    return {**totals, "first_day": first_day}


def _copied_codes(redemptions: list[dict], kiosks: dict[str, list[Device]], seen: dict[int, int]) -> list[dict]:
    """A few metro codes screenshotted and used again at the other Fuzhou station within a minute: the second
    gate grants (offline, it cannot know), and the upload flags both scans as a cross-venue replay."""
    first_gates = kiosks.get("Fuzhou Metro Line 1 - Dongjiekou gate") or []
    other_gates = kiosks.get("Fuzhou Metro Line 1 - Fuzhou Railway Station gate") or []
    if not first_gates or not other_gates:
        return []
    there = other_gates[0]
    ids = {d.id for d in first_gates}
    candidates = [r for r in redemptions if r["device_id"] in ids and r["scanned_at"] < seen[there.id] - 120]
    rng = _rng("replays", len(candidates))
    copies = []
    for first in rng.sample(candidates, min(REPLAYS, len(candidates))):
        at = first["scanned_at"] + rng.randrange(25, 70)
        first["cross_venue_replay"] = True
        copies.append({**first, "client_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                       "device_id": there.id, "venue_id": there.venue_id, "scanned_at": at,
                       "received_at": min(seen[there.id], at + 60), "cross_venue_replay": True})
    redemptions.extend(copies)
    return copies


def _last_seen(kiosks: dict[str, list[Device]], now: int) -> dict[int, int]:
    """When each demo kiosk last reported: a few minutes ago, or hours ago for the one that is offline."""
    rng = _rng("reports", console_stats.utc_day(now))
    return {d.id: now - (rng.randrange(3 * 3600, 5 * 3600) if d.name == OFFLINE_KIOSK else rng.randrange(20, 600))
            for devices in kiosks.values() for d in devices}


def _reports(kiosks: dict[str, list[Device]], seen: dict[int, int], waiting: dict[int, int]) -> None:
    """Each demo kiosk's last report: on the newest trust list, with the grants it made since waiting to upload."""
    latest = db.session.scalars(select(TrustListVersion).order_by(TrustListVersion.sequence.desc()).limit(1)).first()
    for devices in kiosks.values():
        for dev in devices:
            dev.last_seen_at = seen[dev.id]
            db.session.add(KioskReport(
                device_id=dev.id, reported_at=seen[dev.id], app_version="0.1.0", pending=waiting[dev.id],
                trust_list_seq=latest.sequence if latest else None,
                trust_list_issued_at=latest.issued_at if latest else None,
                trust_list_next_update=latest.issued_at + DAY if latest else None))
