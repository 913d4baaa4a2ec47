"""The reviewer's side: the queue of open cases (pending negative events and citizens' disputes, first
come, first decided) and decisions. A person decides, with a written reason the citizen reads."""
from __future__ import annotations

from sqlalchemy import func, select

from ...extensions import db
from ...models import CitizenScheme, LedgerCase, Reviewer, Scheme, ScoreEvent
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from .audit import audit
from .citizen import import_title_and_source, kind_title
from .roles import providers_by_id
from .rules import get_point_rules
from .scoring import MAX_ID, lock_membership, recompute
from .statuses import REVIEWER_DECISIONS, CaseReason, CaseStatus, Decision, EventKind, EventStatus


def _case_for_reviewer(c: LedgerCase, providers: dict, schemes: dict[int, str]) -> dict:
    e = c.event
    scheme = schemes.get(e.membership_id)
    rules = get_point_rules().schemes.get(scheme) if scheme else None
    rule = rules.rules.get(e.category) if (rules and e.category) else None
    p = providers.get(e.provider_id)
    title = dict(rule.title) if rule else kind_title(e.kind)
    source = {"code": p.code, "name": p.name} if p else {"code": None, "name": e.source}
    description = e.reason
    if e.kind == EventKind.IMPORT:  # two catalogue codes: the reviewer reads their labels
        title, labelled = import_title_and_source(e)
        source, description = {"code": labelled["code"], "name": labelled["name"]}, None
    return {
        "id": c.id, "reason": c.reason, "status": c.status, "opened_at": c.opened_at,
        "disputed": c.disputed_at is not None, "disputed_at": c.disputed_at, "statement": c.statement,
        "decision": c.decision, "decision_reason": c.decision_reason, "decided_at": c.decided_at,
        "reviewer": c.reviewer.name if c.reviewer is not None else None,
        "event": {"id": e.id, "scheme": scheme, "kind": e.kind, "category": e.category,
                  "title": title, "points": e.delta, "status": e.status,
                  "description": description, "occurred_at": e.occurred_at, "recorded_at": e.recorded_at,
                  "source": source},
    }


def _scheme_of_memberships(ids) -> dict[int, str]:
    ids = set(ids)
    if not ids:
        return {}
    stmt = (select(CitizenScheme.id, Scheme.code).join(Scheme, Scheme.id == CitizenScheme.scheme_id)
            .where(CitizenScheme.id.in_(ids)))
    return {mid: code for mid, code in db.session.execute(stmt)}


def queue(*, reason: str | None = None, scheme: str | None = None, status: str = CaseStatus.OPEN,
          limit: int = 100) -> list[dict]:
    """Open cases, oldest first (disputes and pending negatives alike: first come, first decided)."""
    stmt = select(LedgerCase).where(LedgerCase.status == status)
    if status == CaseStatus.OPEN:
        stmt = stmt.order_by(LedgerCase.opened_at, LedgerCase.id)
    else:
        stmt = stmt.order_by(LedgerCase.decided_at.desc(), LedgerCase.id.desc())
    if reason == CaseReason.DISPUTE:
        stmt = stmt.where(LedgerCase.disputed_at.is_not(None))
    elif reason == CaseReason.PENDING_REVIEW:
        stmt = stmt.where(LedgerCase.reason == CaseReason.PENDING_REVIEW, LedgerCase.disputed_at.is_(None))
    if scheme:
        stmt = (stmt.join(ScoreEvent, ScoreEvent.id == LedgerCase.event_id)
                .join(CitizenScheme, CitizenScheme.id == ScoreEvent.membership_id)
                .join(Scheme, Scheme.id == CitizenScheme.scheme_id).where(Scheme.code == scheme))
    cases = list(db.session.scalars(stmt.limit(limit)))
    providers = providers_by_id(c.event.provider_id for c in cases)
    schemes = _scheme_of_memberships(c.event.membership_id for c in cases)
    return [_case_for_reviewer(c, providers, schemes) for c in cases]


def queue_counts() -> dict:
    disputed = LedgerCase.disputed_at.is_not(None)
    rows = db.session.execute(select(disputed, func.count())
                              .where(LedgerCase.status == CaseStatus.OPEN).group_by(disputed))
    out = {"disputes": 0, "pending_review": 0}
    for is_dispute, n in rows:
        out["disputes" if is_dispute else "pending_review"] += n
    return out


def get_case(case_id: int) -> dict:
    c = db.session.get(LedgerCase, case_id) if 0 < case_id <= MAX_ID else None
    if c is None:
        raise NotFound("No such case.")
    return _case_for_reviewer(c, providers_by_id([c.event.provider_id]),
                              _scheme_of_memberships([c.event.membership_id]))


def decide(case_id: int, reviewer: Reviewer, decision: str, reason: str, now: int) -> dict:
    """A person decides: ``confirm`` (the event counts) or ``reverse`` (it does not, for good)."""
    if decision not in REVIEWER_DECISIONS:
        raise InvalidInput("decision must be confirm or reverse.", {"decision": ["confirm or reverse"]})
    if len((reason or "").strip()) < 10:
        raise InvalidInput("Write the reason for the citizen (at least 10 characters).",
                           {"reason": ["At least 10 characters."]})
    if reviewer.revoked_at is not None:
        raise Forbidden("This reviewer's token has been revoked.", code="reviewer_revoked")
    c = db.session.get(LedgerCase, case_id) if 0 < case_id <= MAX_ID else None
    if c is None:
        raise NotFound("No such case.")
    m = lock_membership(c.event.membership_id)
    c = db.session.scalars(select(LedgerCase).where(LedgerCase.id == case_id).with_for_update()).one()
    db.session.refresh(c)
    if c.status != CaseStatus.OPEN:
        raise Conflict(f"Case {case_id} was already decided ({c.decision}).", code="already_decided")
    e = c.event
    db.session.refresh(e)
    before = e.status
    decision = Decision(decision)
    if decision == Decision.CONFIRM:
        e.status = EventStatus.CONFIRMED
        if e.confirmed_at is None:
            e.confirmed_at = now  # a pending event: the dispute window starts now
    else:
        refused_pending = before == EventStatus.PENDING_REVIEW and c.disputed_at is None
        e.status = EventStatus.REJECTED if refused_pending else EventStatus.REVERSED
    c.status, c.decision, c.decision_reason = CaseStatus.DECIDED, decision, reason.strip()
    c.reviewer_id, c.decided_at = reviewer.id, now
    db.session.flush()
    audit("reviewer", reviewer.name, "case.decided", "score_event", e.id,
          {"case": c.id, "decision": decision, "from": before, "to": e.status, "points": e.delta,
           "disputed": c.disputed_at is not None}, now)
    recompute(m, now)
    db.session.commit()
    return get_case(c.id)
