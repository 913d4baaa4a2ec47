"""The citizen's view of their ledger: why the score is what it is (every event with its source, points
and status), and disputes.

A citizen may dispute a record within the scheme's dispute window (a pending one as long as it is
pending), once; a dispute never changes a score: a record that counted keeps counting, a pending one
still does not, until a reviewer decides (:mod:`.review`)."""
from __future__ import annotations

from sqlalchemy import select, update

from ...settings import settings
from ...extensions import db
from ...models import CitizenScheme, LedgerCase, Scheme, ScoreEvent
from ..errors import Conflict, NotFound, Refused
from ..perks import get_catalogue
from . import catalogue
from .audit import audit
from .roles import providers_by_id
from .rules import SchemeRules, get_point_rules
from .scoring import MAX_ID, Line, events_of, lock_membership, recompute, replay
from .statuses import FINAL, CaseReason, CaseStatus, EventKind, EventStatus, ReviewPolicy


def dispute_window(rules: SchemeRules | None) -> int:
    """Seconds a record can be disputed after it was confirmed (the scheme's, else the configured default)."""
    days = rules.dispute_window_days if rules else settings().dispute_window_days
    return days * 86400


def _was_disputed(e: ScoreEvent) -> bool:
    """Disputed once already (a citizen disputes a record once; a reviewer decides once)."""
    return any(c.reason == CaseReason.DISPUTE or c.disputed_at is not None for c in e.cases)


def _disputable_until(e: ScoreEvent, rules: SchemeRules | None) -> int | None:
    if e.kind == EventKind.JOIN or e.status in FINAL or e.status == EventStatus.DISPUTED:
        return None
    if _was_disputed(e):
        return None
    if e.status == EventStatus.PENDING_REVIEW:
        return None  # open as long as it is pending (see can_dispute)
    return (e.confirmed_at or e.recorded_at) + dispute_window(rules)


def can_dispute(e: ScoreEvent, rules: SchemeRules | None, now: int) -> bool:
    if e.kind == EventKind.JOIN or e.status in FINAL or e.status == EventStatus.DISPUTED:
        return False
    if _was_disputed(e):
        return False
    if e.status == EventStatus.PENDING_REVIEW:
        return True
    return now <= (e.confirmed_at or e.recorded_at) + dispute_window(rules)


def _case_public(c: LedgerCase) -> dict:
    """A case as its citizen sees it (the statement is their own words). A withdrawal's reason is a code whose
    label comes from the catalogue."""
    title = None
    if c.reason_code:
        e = catalogue.entry("reason_code", c.reason_code)
        title = dict(e.labels) if e is not None else {"en": c.reason_code, "zh-CN": c.reason_code}
    return {"id": c.id, "reason": c.reason, "status": c.status, "opened_at": c.opened_at,
            "disputed_at": c.disputed_at, "statement": c.statement, "decision": c.decision,
            "decision_reason": c.decision_reason, "reason_code": c.reason_code, "reason_title": title,
            "decided_at": c.decided_at}


KIND_TITLES: dict[str, dict[str, str]] = {
    EventKind.JOIN: {"en": "You joined the scheme at its base score", "zh-CN": "加入时的基础分"},
    EventKind.IMPORT: {"en": "Score imported by the city platform", "zh-CN": "城市平台导入的分数"},
}


def kind_title(kind: str) -> dict:
    """The title of an event that is not a provider's (no point rule to name it)."""
    return dict(KIND_TITLES.get(kind, {"en": kind, "zh-CN": kind}))


def _event_public(line: Line, rules: SchemeRules | None, providers: dict, now: int) -> dict:
    e = line.event
    if e.kind == EventKind.POINT:
        rule = rules.rules.get(e.category) if rules and e.category else None
        title = dict(rule.title) if rule else {"en": e.category or "Point event", "zh-CN": e.category or "积分事件"}
        p = providers.get(e.provider_id)
        source = {"type": "provider", "code": p.code if p else None, "name": p.name if p else "(removed provider)",
                  "name_zh": p.name_zh if p else None}
    elif e.kind == EventKind.IMPORT:
        title, source = import_title_and_source(e)
    else:
        title = kind_title(e.kind)
        source = {"type": "citizen", "code": None, "name": "You"}
    cases = list(e.cases)
    return {"id": e.id, "kind": e.kind, "title": title, "category": e.category, "source": source,
            "points": line.points, "counts": line.counts and e.kind != EventKind.JOIN, "status": e.status,
            "description": e.reason if e.kind == EventKind.JOIN else None,
            "occurred_at": e.occurred_at,
            "recorded_at": e.recorded_at, "can_dispute": can_dispute(e, rules, now),
            "disputable_until": _disputable_until(e, rules),
            "case": _case_public(cases[-1]) if cases else None}


def import_title_and_source(e: ScoreEvent) -> tuple[dict, dict]:
    """An operator import's title and source as the citizen and the reviewer read them: the catalogue labels of
    its reason code and source system (an import carries those two codes and no text of its own)."""
    reason = catalogue.entry("reason_code", e.reason) if e.reason else None
    system = catalogue.entry("source_system", e.source) if e.source else None
    title = dict(reason.labels) if reason is not None else kind_title(e.kind)
    source = {"type": "operator", "code": e.source,
              "name": system.labels["en"] if system is not None else kind_title(e.kind)["en"],
              "name_zh": system.labels["zh-CN"] if system is not None else None}
    return title, source


def explain(m: CitizenScheme, now: int) -> dict | None:
    """The citizen's own explanation of one membership: score, band, perks and every event."""
    cfg = get_catalogue().schemes.get(m.scheme.code)
    if cfg is None:
        return None
    rules = get_point_rules().schemes.get(cfg.code)
    events = events_of(m.id, with_cases=True)
    r = replay(events, cfg, rules)
    providers = providers_by_id(e.provider_id for e in events)
    band = cfg.band_for(r.score)
    nxt = next((b for b in cfg.bands if b.min > r.score), None)
    upcoming = [{"code": p.code, "title": dict(p.title), "audience": p.audience, "points_needed": p.min_score - r.score}
                for p in cfg.perks if p.min_score > r.score]
    return {
        "scheme": cfg.code, "name": dict(cfg.name), "score": r.score, "base": cfg.base,
        "range": {"min": cfg.min, "max": cfg.max},
        "band": {"code": band.code, "label": dict(band.label)},
        "next_band": ({"code": nxt.code, "label": dict(nxt.label), "min": nxt.min, "points_needed": nxt.min - r.score}
                      if nxt else None),
        "perks": [p.public() for p in cfg.eligible(r.score)],
        "upcoming_perks": upcoming,
        "clamped": r.clamped,
        "pending_points": sum(ln.points for ln in r.lines if ln.event.status == EventStatus.PENDING_REVIEW),
        "frozen_points": sum(ln.points for ln in r.lines if ln.event.status == EventStatus.DISPUTED and not ln.counts),
        "dispute_window_days": (rules.dispute_window_days if rules else
                                settings().dispute_window_days),
        "review_policy": rules.review if rules else ReviewPolicy.NONE,
        "events": [_event_public(ln, rules, providers, now) for ln in reversed(r.lines)],
    }


def explain_citizen(citizen_id: int, now: int, scheme: str | None = None) -> list[dict]:
    stmt = (select(CitizenScheme).join(Scheme, Scheme.id == CitizenScheme.scheme_id)
            .where(CitizenScheme.citizen_id == citizen_id).order_by(Scheme.code))
    if scheme is not None:
        stmt = stmt.where(Scheme.code == scheme)
    return [x for x in (explain(m, now) for m in db.session.scalars(stmt)) if x is not None]


def _citizen_event(citizen_id: int, event_id: int, lock: bool = False) -> ScoreEvent:
    if not 0 < event_id <= MAX_ID:
        raise NotFound("No such event in your ledger.")
    stmt = (select(ScoreEvent).join(CitizenScheme, CitizenScheme.id == ScoreEvent.membership_id)
            .where(ScoreEvent.id == event_id, CitizenScheme.citizen_id == citizen_id))
    if lock:
        stmt = stmt.with_for_update(of=ScoreEvent)
    e = db.session.scalars(stmt).first()
    if e is None:  # someone else's event looks exactly like a missing one
        raise NotFound("No such event in your ledger.")
    return e


def open_dispute(citizen_id: int, citizen_public_id: str, event_id: int, statement: str, now: int) -> dict:
    e = _citizen_event(citizen_id, event_id)
    m = lock_membership(e.membership_id)
    db.session.refresh(e)
    rules = get_point_rules().schemes.get(m.scheme.code)
    if e.kind == EventKind.JOIN:
        raise Conflict("Joining at the base score is not a record that can be disputed.", code="not_disputable")
    if e.status in FINAL:
        raise Conflict("This record no longer counts; there is nothing to dispute.", code="not_disputable")
    if e.status == EventStatus.DISPUTED or _was_disputed(e):
        raise Conflict("You have already disputed this record; a reviewer decides once.", code="already_disputed")
    if not can_dispute(e, rules, now):
        until = _disputable_until(e, rules)
        raise Refused(f"Records can be disputed within {dispute_window(rules) // 86400} days; this one could be "
                      "disputed until the time in fields.disputable_until.",
                      {"disputable_until": [str(until)]}, code="dispute_window_closed")
    before = e.status
    open_case = next((c for c in e.cases if c.status == CaseStatus.OPEN), None)
    if open_case is not None:  # a pending negative: the citizen's words join the case already open
        open_case.statement, open_case.disputed_at = statement, now
        case = open_case
    else:
        case = LedgerCase(event_id=e.id, reason=CaseReason.DISPUTE, status=CaseStatus.OPEN, opened_at=now,
                          statement=statement, disputed_at=now)
        db.session.add(case)
    e.status = EventStatus.DISPUTED
    db.session.flush()
    # the audit log outlives an opt-out, so it names no citizen (the event id points at nothing once
    # the ledger is deleted) and carries no points of the citizen's own
    audit("citizen", "owner", "event.disputed", "score_event", e.id,
          {"case": case.id, "from": before, "to": EventStatus.DISPUTED}, now)
    recompute(m, now)
    db.session.commit()
    return explain_event(citizen_id, e.id, now)


def forget_statements(now: int, days: int, batch_size: int = 2000) -> int:
    """Delete the citizen's own words of cases decided more than ``days`` ago (the statement is theirs: kept
    for the reviewer while the case is open and for the retention after the decision, never used for
    scoring), ``batch_size`` cases per transaction. Returns how many statements were deleted."""
    if days < 1 or batch_size < 1:
        raise ValueError("days and batch_size must be at least 1")
    cutoff = int(now) - int(days) * 86400
    total = 0
    while True:
        due = (select(LedgerCase.id).where(LedgerCase.statement.is_not(None), LedgerCase.status == CaseStatus.DECIDED,
                                           LedgerCase.decided_at < cutoff).order_by(LedgerCase.id).limit(batch_size))
        ids = list(db.session.scalars(due))
        if ids:
            db.session.execute(update(LedgerCase).where(LedgerCase.id.in_(ids)).values(statement=None)
                               .execution_options(synchronize_session=False))
        db.session.commit()
        total += len(ids)
        if len(ids) < batch_size:
            return total


def explain_event(citizen_id: int, event_id: int, now: int) -> dict:
    e = _citizen_event(citizen_id, event_id)
    m = db.session.get_one(CitizenScheme, e.membership_id)
    cfg = get_catalogue().schemes[m.scheme.code]
    rules = get_point_rules().schemes.get(cfg.code)
    r = replay(events_of(m.id), cfg, rules)
    line = next(ln for ln in r.lines if ln.event.id == e.id)
    out = _event_public(line, rules, providers_by_id([e.provider_id]), now)
    out["scheme"] = cfg.code
    return out
