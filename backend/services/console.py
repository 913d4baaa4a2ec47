"""What the console shows (issue 13): overview figures, kiosks, the review queue with deadlines, keys and
the trust-list publication monitor, replays and anomalies. Views pass ``now``; nothing reads the clock.

Counts only leave this module for operators; the review queue (a citizen's records and words) only for
reviewers, and every read of it is audited by the view.
"""
from __future__ import annotations

import time

from sqlalchemy import func, select

from partner_sdk import venue_policy
from partner_sdk.trust import revoked_capacity

from ..settings import settings
from ..extensions import db
from ..models import CertificateRevocation, Device, LedgerCase, Partner, Redemption, TrustListVersion, Venue
from ..models.console import IssuedDaily, KioskReport, KioskScanCount
from . import console_stats
from .ledger import CaseStatus
from .read_conn import reports_engine
from .venue_types import get_venue_types

DAY = 86400


def online_window() -> int:
    """A kiosk seen (report or upload) within this many seconds counts as online."""
    return settings().console_kiosk_online_seconds


def days_back(now: int, days: int) -> list[str]:
    return [console_stats.utc_day(now - DAY * i) for i in range(days - 1, -1, -1)]


# ------------------------------------------------------------------------------------------ kiosk report

def record_kiosk_report(device: Device, data: dict, now: int) -> dict:
    """Store what a kiosk says about itself: status now, and whole-day scan totals by result."""
    if db.engine.dialect.name == "postgresql":  # the same rows in one statement (kiosk_reports.py)
        from .kiosk_reports import record_pg
        return record_pg(device, data, now)
    rep = db.session.get(KioskReport, device.id) or KioskReport(device_id=device.id)
    rep.reported_at = now
    if "app_version" in data:
        rep.app_version = data["app_version"]
    if data.get("trust_list") is not None:
        tl = data["trust_list"]
        rep.trust_list_seq, rep.trust_list_issued_at, rep.trust_list_next_update = (
            tl.get("seq"), tl.get("issued_at"), tl.get("next_update"))
    if "pending" in data:
        rep.pending = data["pending"]
    db.session.add(rep)
    stored = 0
    for day in data.get("scans") or []:
        for status, n in day["counts"].items():
            row = db.session.get(KioskScanCount, (device.id, day["day"], status))
            if row is None:
                db.session.add(KioskScanCount(device_id=device.id, day=day["day"], status=status, count=n,
                                              reported_at=now))
            else:
                row.count, row.reported_at = n, now
            stored += 1
    device.last_seen_at = now
    db.session.commit()
    return {"stored": stored}


# ------------------------------------------------------------------------------------------ overview

def _review_summary(now: int) -> dict:
    from .ledger import queue_counts
    counts = queue_counts()
    oldest = db.session.scalar(select(func.min(LedgerCase.opened_at)).where(LedgerCase.status == CaseStatus.OPEN))
    return {"disputes": counts["disputes"], "pending_review": counts["pending_review"],
            "open": counts["disputes"] + counts["pending_review"], "oldest_opened_at": oldest,
            "oldest_age_days": None if oldest is None else (now - oldest) // DAY}


def overview(now: int, days: int = 14) -> dict:
    console_stats.flush()
    labels = days_back(now, days)
    since_day = labels[0]
    since_ts = int(time.mktime(time.strptime(since_day, "%Y-%m-%d"))) - 2 * DAY  # generous; bucketed below
    idx = {d: i for i, d in enumerate(labels)}
    audiences: set[str] = set()

    issued: dict[str, list[int]] = {}
    reports = {"bind": reports_engine()}  # the charts read the replica when there is one (read_conn.py)
    for day, aud, n in db.session.execute(select(IssuedDaily.day, IssuedDaily.audience, IssuedDaily.count)
                                          .where(IssuedDaily.day >= since_day), bind_arguments=reports):
        issued.setdefault(aud, [0] * days)
        if day in idx:
            issued[aud][idx[day]] += int(n)
        audiences.add(aud)

    grants: dict[str, list[int]] = {}
    rows = db.session.execute(select(Redemption.scanned_at, Redemption.audience)
                              .where(Redemption.scanned_at >= since_ts), bind_arguments=reports)
    for ts, aud in rows:
        d = console_stats.utc_day(ts)
        if d not in idx:
            continue
        grants.setdefault(aud, [0] * days)[idx[d]] += 1
        audiences.add(aud)
    per_day = console_stats.replays_per_day(labels)  # a copied code's later uses, as the charts count them
    replays = [per_day[d] for d in labels]

    refusals_by_reason: dict[str, int] = {}
    refusals_by_audience: dict[str, int] = {}
    refusals_per_day = [0] * days
    for day, status, n, aud in db.session.execute(
            select(KioskScanCount.day, KioskScanCount.status, KioskScanCount.count, Venue.audience)
            .join(Device, Device.id == KioskScanCount.device_id).join(Venue, Venue.id == Device.venue_id)
            .where(KioskScanCount.day >= since_day), bind_arguments=reports):
        if status == "GRANTED" or day not in idx:
            continue
        refusals_by_reason[status] = refusals_by_reason.get(status, 0) + n
        refusals_by_audience[aud] = refusals_by_audience.get(aud, 0) + n
        refusals_per_day[idx[day]] += n

    kiosks = kiosk_list(now)
    live = [k for k in kiosks if not k["revoked"]]
    return {
        "days": labels,
        "issued": {"per_day": [sum(v[i] for v in issued.values()) for i in range(days)], "by_audience": issued},
        "grants": {"per_day": [sum(v[i] for v in grants.values()) for i in range(days)], "by_audience": grants},
        "refusals": {"per_day": refusals_per_day,
                     "by_reason": dict(sorted(refusals_by_reason.items(), key=lambda kv: -kv[1])),
                     "by_audience": dict(sorted(refusals_by_audience.items(), key=lambda kv: -kv[1]))},
        "replays": {"per_day": replays},
        "audiences": sorted(audiences),
        "kiosks": {"online": sum(1 for k in live if k["online"]), "offline": sum(1 for k in live if not k["online"]),
                   "revoked": len(kiosks) - len(live)},
        "review": _review_summary(now),
        "totals": {"issued": sum(sum(v) for v in issued.values()), "grants": sum(sum(v) for v in grants.values()),
                   "refusals": sum(refusals_per_day), "replays": sum(replays)},
    }


# ------------------------------------------------------------------------------------------ kiosks

def kiosk_list(now: int) -> list[dict]:
    rows = db.session.execute(
        select(Device, Venue, Partner, KioskReport).join(Venue, Venue.id == Device.venue_id)
        .join(Partner, Partner.id == Venue.partner_id)
        .outerjoin(KioskReport, KioskReport.device_id == Device.id).order_by(Venue.name, Device.id)).all()
    tl_exp = settings().trust_list_valid_for
    registry = get_venue_types()
    out = []
    for d, v, p, rep in rows:
        seen = d.last_seen_at
        tl = None
        if rep is not None and rep.trust_list_issued_at:
            nu = rep.trust_list_next_update or rep.trust_list_issued_at + DAY
            pol = venue_policy.evaluate(get_venue_types().policy(v.audience), nu, rep.trust_list_issued_at + tl_exp,
                                        now)
            tl = {"seq": rep.trust_list_seq, "issued_at": rep.trust_list_issued_at, "next_update": nu,
                  "age_seconds": now - rep.trust_list_issued_at, "policy_state": pol.state.value,
                  "grants_until": pol.stop_at}
        out.append({
            "device_id": d.public_id, "name": d.name,
            "venue": {"id": v.id, "name": v.name, "audience": v.audience,
                      "audience_label": dict(registry.by_code[v.audience].label) if v.audience in registry else None},
            "partner": p.name, "created_at": d.created_at, "last_seen_at": seen,
            "online": d.revoked_at is None and seen is not None and now - seen < online_window(),
            "revoked": d.revoked_at is not None, "revoked_at": d.revoked_at,
            "app_version": rep.app_version if rep else None, "pending": rep.pending if rep else None,
            "reported_at": rep.reported_at if rep else None, "trust_list": tl,
        })
    return out


def venue_list() -> list[dict]:
    rows = db.session.execute(select(Venue, Partner).join(Partner, Partner.id == Venue.partner_id)
                              .where(Venue.active.is_(True)).order_by(Venue.name)).all()
    return [{"id": v.id, "name": v.name, "audience": v.audience, "partner": p.name} for v, p in rows]


# ------------------------------------------------------------------------------------------ keys, trust list

def trust_monitor(now: int) -> dict:
    """Is the newest published trust list fresh enough? Levels: ok, warning (it should have been re-signed:
    verifiers are stale), critical (within 12 hours of the first venue type that stops granting, or of
    expiry), expired (some venue type has stopped granting). Read-only: it never signs."""
    latest = db.session.scalars(select(TrustListVersion).order_by(TrustListVersion.sequence.desc()).limit(1)).first()
    if latest is None:
        return {"level": "critical", "message": "No trust list has ever been published.", "sequence": None}
    next_update = latest.issued_at + settings().trust_list_next_update
    registry = get_venue_types()
    audiences = sorted(set(registry.codes) | {a for (a,) in db.session.execute(select(Venue.audience).distinct())})
    stops = {a: venue_policy.stop_at(registry.policy(a), next_update, latest.expires_at) for a in audiences}
    first_aud = min(stops, key=lambda a: (stops[a], a))
    first_stop = stops[first_aud]
    critical_margin = settings().trust_monitor_critical_seconds
    if now >= first_stop:
        level, msg = "expired", (f"Verifiers at {first_aud} venues stopped granting: the newest trust list "
                                 f"(#{latest.sequence}) is too old. Publish one now.")
    elif now >= first_stop - critical_margin:
        level, msg = "critical", (f"Verifiers at {first_aud} venues stop granting in "
                                  f"{(first_stop - now) // 3600} h unless a newer trust list is published.")
    elif now >= next_update:
        level, msg = "warning", (f"Trust list #{latest.sequence} is past its next_update: verifiers are stale. "
                                 "It should have been re-signed.")
    else:
        level, msg = "ok", f"Trust list #{latest.sequence} is fresh."
    # Withdrawn PP2 certificates against what one list can carry (issue 18.3): past capacity the issuer signs
    # no new list (the kiosks keep the old one and go stale), so say so before it happens.
    withdrawn = db.session.scalar(select(func.count()).select_from(CertificateRevocation)
                                  .where(CertificateRevocation.expires_at > now)) or 0
    capacity = revoked_capacity(latest.jws)
    if withdrawn > capacity:
        level, msg = ("expired" if level == "expired" else "critical"), (
            f"{withdrawn:,} withdrawn certificates are live, more than the {capacity:,} a trust list can carry: "
            "no new list can be signed until some expire (at most one certificate lifetime). " + msg)
    elif withdrawn >= 0.8 * capacity:
        level = level if level in ("critical", "expired") else "warning"
        msg = (f"{withdrawn:,} withdrawn certificates are live, {withdrawn / capacity:.0%} of the {capacity:,} a "
               "trust list can carry. " + msg)
    return {"level": level, "message": msg, "sequence": latest.sequence, "issued_at": latest.issued_at,
            "next_update": next_update, "expires_at": latest.expires_at, "first_stop": first_stop,
            "first_stop_audience": first_aud, "stops": stops, "checked_at": now,
            "withdrawn_certificates": withdrawn, "withdrawn_capacity": capacity}


MONITOR_EXIT = {"ok": 0, "warning": 1, "critical": 2, "expired": 2}


def keys_view(now: int) -> dict:
    from . import keys as key_service
    keys = key_service.listing(now)
    signing = [k for k in keys if k["role"] == "signing"]
    return {
        "active": [k for k in signing if k["state"] == "active"],
        "next": [k for k in signing if k["state"] == "pending"],
        "retired": [k for k in signing if k["state"] in ("retiring", "expired", "superseded")],
        "root": [k for k in keys if k["role"] == "root"],
        "monitor": trust_monitor(now),
        "policy": [{"audience": t.code, "label": t.label, "grace_seconds": t.grace_after_next_update,
                    "reuse_seconds": t.reuse_interval} for t in get_venue_types().types],
        "versions": [{"sequence": r.sequence, "issued_at": r.issued_at, "expires_at": r.expires_at}
                     for r in db.session.scalars(select(TrustListVersion)
                                                 .order_by(TrustListVersion.sequence.desc()).limit(10))],
    }


# ------------------------------------------------------------------------------------------ replays, anomalies

def anomalies(now: int, *, baseline_days: int = 7, min_scans: int = 10, factor: float = 2.0,
              min_rate: float = 0.2) -> list[dict]:
    """Kiosks whose refusal rate on their latest reported day jumps: at least ``min_scans`` scans, a rate of
    at least ``min_rate`` and ``factor`` times the kiosk's own rate over the ``baseline_days`` before."""
    since = console_stats.utc_day(now - (baseline_days + 2) * DAY)
    per: dict[int, dict[str, list[int]]] = {}
    reports = {"bind": reports_engine()}  # the replica when there is one (read_conn.py)
    for dev, day, status, n in db.session.execute(
            select(KioskScanCount.device_id, KioskScanCount.day, KioskScanCount.status, KioskScanCount.count)
            .where(KioskScanCount.day >= since), bind_arguments=reports):
        g_r = per.setdefault(dev, {}).setdefault(day, [0, 0])
        g_r[0 if status == "GRANTED" else 1] += n
    out = []
    for dev, days in per.items():
        latest = max(days)
        g, r = days[latest]
        if g + r < min_scans:
            continue
        rate = r / (g + r)
        base_g = sum(v[0] for d, v in days.items() if d < latest)
        base_r = sum(v[1] for d, v in days.items() if d < latest)
        base = base_r / (base_g + base_r) if base_g + base_r else 0.0
        if rate >= min_rate and rate >= factor * base:
            d = db.session.get_one(Device, dev)
            reasons = dict(db.session.execute(select(KioskScanCount.status, KioskScanCount.count).where(
                KioskScanCount.device_id == dev, KioskScanCount.day == latest,
                KioskScanCount.status != "GRANTED"), bind_arguments=reports).all())
            out.append({"device_id": d.public_id, "name": d.name, "venue": d.venue.name, "audience": d.venue.audience,
                        "day": latest, "scans": g + r, "refusals": r, "rate": round(rate, 3),
                        "baseline_rate": round(base, 3),
                        "reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1]))})
    return sorted(out, key=lambda a: -a["rate"])


# ------------------------------------------------------------------------------------------ review

def review_queue(now: int, status: CaseStatus = CaseStatus.OPEN, limit: int = 200) -> list[dict]:
    """The ledger's queue with what a reviewer needs on one screen: the rule and the days left before
    the scheme's review deadline (its dispute window, counted from when the case was opened)."""
    from . import ledger
    rules = ledger.get_point_rules()
    cases = ledger.queue(status=status, limit=limit)
    for c in cases:
        _decorate_case(c, rules, now)
    return cases


def _decorate_case(c: dict, rules, now: int) -> dict:
    from .ledger import dispute_window
    sr = rules.schemes.get(c["event"]["scheme"]) if c["event"]["scheme"] else None
    rule = sr.rules.get(c["event"]["category"]) if (sr and c["event"]["category"]) else None
    c["rule"] = rule.public() if rule else None
    c["review_policy"] = sr.review if sr else None
    start = c["disputed_at"] or c["opened_at"]
    deadline = start + dispute_window(sr)
    c["deadline"] = deadline
    c["days_left"] = (deadline - now) // DAY if c["status"] == CaseStatus.OPEN else None
    return c


def review_case(case_id: int, now: int) -> dict:
    from . import ledger
    return _decorate_case(ledger.get_case(case_id), ledger.get_point_rules(), now)
