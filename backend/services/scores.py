"""Scheme rows, memberships and current scores (with a ledger entry for every change)."""
from __future__ import annotations

import time

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import delete, select

from ..extensions import db, rows_changed
from ..models import Citizen, CitizenScheme, LedgerCase, LoginCode, Redemption, Scheme, ScoreEvent
from . import auth as auth_service
from .ledger import CaseReason, CaseStatus, Decision, EventKind, EventStatus, get_point_rules
from .perks import Catalogue, get_catalogue


def sync_schemes(now: int, catalogue: Catalogue | None = None) -> dict:
    """Create or update a ``schemes`` row for every configured scheme. Returns {code: action}."""
    catalogue = catalogue or get_catalogue()
    existing = {s.code: s for s in db.session.scalars(select(Scheme))}
    actions = {}
    for code, cfg in catalogue.schemes.items():
        row = existing.get(code)
        if row is None:
            row = Scheme(code=code, updated_at=now)
            db.session.add(row)
            actions[code] = "created"
        elif row.config_sha256 != cfg.sha256:
            actions[code] = "updated"
        else:
            actions[code] = "unchanged"
            continue
        row.name_en, row.name_zh = cfg.name["en"], cfg.name["zh-CN"]
        row.min_score, row.max_score, row.base_score = cfg.min, cfg.max, cfg.base
        row.config_sha256, row.updated_at = cfg.sha256, now
    db.session.commit()
    return actions


def scheme_row(code: str) -> Scheme | None:
    return db.session.scalars(select(Scheme).where(Scheme.code == code)).first()


def set_score(citizen: Citizen, scheme_code: str, score: int, *, now: int, source: str, kind: str = EventKind.IMPORT,
              reason: str | None = None, occurred_at: int | None = None) -> tuple[CitizenScheme, bool | str]:
    """Set the current score (creating the membership if needed). Returns (membership, changed), where
    changed is True, False or "pending" (a fall held for review)."""
    scheme = scheme_row(scheme_code)
    if scheme is None:
        raise ValueError(f"unknown scheme {scheme_code!r}")
    if not scheme.min_score <= score <= scheme.max_score:
        raise ValueError(f"score must be within {scheme.min_score}..{scheme.max_score}")
    m = db.session.scalars(select(CitizenScheme).where(CitizenScheme.citizen_id == citizen.id,
                                                       CitizenScheme.scheme_id == scheme.id)).first()
    if m is None:
        m = CitizenScheme(citizen_id=citizen.id, scheme_id=scheme.id, score=score, joined_at=now, updated_at=now)
        db.session.add(m)
        db.session.flush()
        db.session.add(ScoreEvent(membership_id=m.id, kind=kind, delta=score, score_after=score, source=source,
                                  reason=reason, occurred_at=occurred_at or now, recorded_at=now, confirmed_at=now))
        return m, True
    if kind == EventKind.IMPORT:
        return _import_into(m, score, now=now, source=source, reason=reason, occurred_at=occurred_at)
    if m.score == score:
        return m, False
    db.session.add(ScoreEvent(membership_id=m.id, kind=kind, delta=score - m.score, score_after=score,
                              source=source, reason=reason, occurred_at=occurred_at or now, recorded_at=now,
                              confirmed_at=now))
    m.score, m.updated_at = score, now
    return m, True


def _import_into(m: CitizenScheme, score: int, *, now: int, source: str, reason: str | None,
                 occurred_at: int | None) -> tuple[CitizenScheme, bool | str]:
    """An imported absolute score for an existing membership. A computer never lowers a score alone
    (Suzhou): a decrease waits for a reviewer like a negative provider event (``pending_review``, a
    review case; the citizen sees it pending), an increase applies at once. A later import supersedes
    imports still waiting (the newest import is the platform's word); re-importing the score that is
    already waiting changes nothing. Returns (membership, True | "pending" | False)."""
    waiting = list(db.session.scalars(select(ScoreEvent).where(
        ScoreEvent.membership_id == m.id, ScoreEvent.kind == EventKind.IMPORT,
        ScoreEvent.status == EventStatus.PENDING_REVIEW)))
    if any(m.score + e.delta == score for e in waiting):
        return m, False
    if m.score == score and not waiting:
        return m, False
    for e in waiting:
        e.status = EventStatus.WITHDRAWN
        for c in e.cases:
            if c.status == CaseStatus.OPEN:
                c.status, c.decision, c.decided_at = CaseStatus.DECIDED, Decision.WITHDRAW, now
                c.decision_reason = "Superseded by a later import from the city platform."
    if m.score == score:
        return m, True
    pending = score < m.score
    ev = ScoreEvent(membership_id=m.id, kind=EventKind.IMPORT, delta=score - m.score,
                    score_after=m.score if pending else score,
                    source=source, reason=reason, occurred_at=occurred_at or now, recorded_at=now,
                    status=EventStatus.PENDING_REVIEW if pending else EventStatus.CONFIRMED,
                    confirmed_at=None if pending else now)
    db.session.add(ev)
    if pending:
        db.session.flush()
        db.session.add(LedgerCase(event_id=ev.id, reason=CaseReason.PENDING_REVIEW, status=CaseStatus.OPEN,
                                  opened_at=now))
        return m, "pending"
    m.score, m.updated_at = score, now
    return m, True


def join(citizen: Citizen, scheme_code: str, now: int) -> CitizenScheme:
    """A citizen joins a scheme voluntarily and starts at its base score."""
    scheme = scheme_row(scheme_code)
    if scheme is None:
        raise ValueError(f"unknown scheme {scheme_code!r}")
    m = db.session.scalars(select(CitizenScheme).where(CitizenScheme.citizen_id == citizen.id,
                                                       CitizenScheme.scheme_id == scheme.id)).first()
    if m is not None:
        return m
    m, _ = set_score(citizen, scheme_code, scheme.base_score, now=now, source="citizen", kind=EventKind.JOIN,
                     reason="joined the scheme at its base score")
    db.session.commit()
    return m


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    pending_review: int = 0  # decreases waiting for a reviewer (a computer never lowers a score alone)
    skipped_not_enrolled: int = 0
    errors: list = field(default_factory=list)
    applied: bool = False

    def to_dict(self) -> dict:
        return {"rows": self.rows, "imported": self.imported, "unchanged": self.unchanged,
                "pending_review": self.pending_review,
                "skipped_not_enrolled": self.skipped_not_enrolled, "errors": self.errors, "applied": self.applied}


def _forbidden_in(record: dict) -> list[str]:
    """The one screen of every entry path (backend.services.screening), over a row's column names and text:
    a CSV column named ``religion`` or a reason "worships at the mosque" is refused like a provider event."""
    from .screening import screen_record
    hits = screen_record(record, get_point_rules().forbidden)
    return [f"{name} {msg[0].lower()}{msg[1:-1]}; such data is never ingested"
            for name, msgs in hits.items() for msg in msgs]


def import_rows(rows: list[dict], *, now: int, source: str, partial: bool = False) -> ImportReport:
    """Import absolute scores. Each row: ``phone`` or ``citizen_id``, ``scheme``, ``score``, optional
    ``reason``. Rows for people who have not opted in are skipped and never stored. Unless
    ``partial``, any invalid row aborts the whole import (nothing is applied). Every column name and text
    value, and ``source``, go through the forbidden-data screen; a forbidden ``source`` aborts even a
    partial import (it would be recorded with every row)."""
    catalogue = get_catalogue()
    report = ImportReport(rows=len(rows))
    bad_source = _forbidden_in({"source": source})
    if bad_source:  # row 0: the import as a whole
        report.errors.append({"row": 0, "errors": bad_source})
    plan = []
    by_phone: dict[str, Citizen | None] = {}
    by_public: dict[str, Citizen | None] = {}
    for i, r in enumerate(rows, start=1):
        line_errors = []
        scheme = (r.get("scheme") or "").strip()
        cfg = catalogue.schemes.get(scheme)
        if cfg is None:
            line_errors.append(f"unknown scheme {scheme!r}")
        raw_score = r.get("score")
        try:
            is_int = isinstance(raw_score, int) and not isinstance(raw_score, bool)
            score = raw_score if is_int else int(str(raw_score).strip())
            if isinstance(raw_score, bool):
                raise ValueError
        except (TypeError, ValueError):
            score = None
            line_errors.append("score must be an integer")
        if cfg is not None and score is not None and not cfg.min <= score <= cfg.max:
            line_errors.append(f"score must be within {cfg.min}..{cfg.max} for {scheme}")
        reason = r.get("reason") or None
        if reason is not None and len(reason) > 500:
            line_errors.append("reason is longer than 500 characters")
        line_errors.extend(_forbidden_in(r))
        citizen = None
        phone, cid = (r.get("phone") or "").strip(), (r.get("citizen_id") or "").strip()
        if cid:
            if cid not in by_public:
                by_public[cid] = db.session.scalars(select(Citizen).where(Citizen.public_id == cid)).first()
            citizen = by_public[cid]
        elif phone:
            norm = auth_service.normalise_phone(phone)
            if norm is None:
                line_errors.append("phone is not a valid phone number")
            else:
                if norm not in by_phone:
                    by_phone[norm] = db.session.scalars(select(Citizen).where(
                        Citizen.phone_hash == auth_service.phone_hash(norm))).first()
                citizen = by_phone[norm]
        else:
            line_errors.append("each row needs a phone or a citizen_id")
        if line_errors:
            report.errors.append({"row": i, "errors": line_errors})
            continue
        if citizen is None:
            report.skipped_not_enrolled += 1
            continue
        assert score is not None  # else line_errors said so above
        plan.append((citizen, scheme, score, reason))
    if report.errors and (not partial or bad_source):
        return report
    for citizen, scheme, score, reason in plan:
        _m, changed = set_score(citizen, scheme, score, now=now, source=source, reason=reason)
        if changed == "pending":
            report.pending_review += 1
        elif changed:
            report.imported += 1
        else:
            report.unchanged += 1
    db.session.commit()
    report.applied = True
    return report


def parse_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "scheme" not in reader.fieldnames or "score" not in reader.fieldnames:
        raise ValueError("the CSV needs a header with scheme, score and phone or citizen_id columns")
    if "phone" not in reader.fieldnames and "citizen_id" not in reader.fieldnames:
        raise ValueError("the CSV needs a phone or a citizen_id column")
    return [{k: (v or "") for k, v in row.items() if k} for row in reader]


def opt_out(citizen: Citizen) -> dict:
    """Delete everything personal: memberships, score events, consents, tokens, the account, and
    the redemptions recorded under the citizen's pseudonyms."""
    from flask import current_app

    from .issuance import pseudonyms_of
    from ..models import Venue
    audiences = set(get_catalogue().audiences) | {a for (a,) in db.session.execute(select(Venue.audience).distinct())}
    # every daily pseudonym the citizen can have redemptions under (older redemptions are purged anyway)
    days = int(current_app.config.get("PERKPASS_RETENTION_DAYS", 180)) + 1
    pseudonyms = pseudonyms_of(citizen.public_id, audiences, int(time.time()), days)
    # PP2: revoke the phone's certificates, forget its devices; redemptions under those certificate ids go too
    from .certificates import forget_citizen
    pseudonyms += forget_citizen(citizen.id, int(time.time()))
    n_red = rows_changed(delete(Redemption).where(Redemption.pseudonym.in_(pseudonyms)))
    # log-in codes carry the phone's keyed hash: they go too, so nothing links to the person afterwards
    db.session.execute(delete(LoginCode).where(LoginCode.phone_hash == citizen.phone_hash))
    n_mem = len(citizen.memberships)
    db.session.delete(citizen)  # cascades to consents, memberships (and their events), tokens
    db.session.commit()
    return {"memberships": n_mem, "redemptions": n_red or 0}
