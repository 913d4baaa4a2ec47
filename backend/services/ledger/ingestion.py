"""Data providers' events: batches idempotent by the provider's own event id, and withdrawals.

The seed rules hold by construction: a provider may only send events of registered point rules, each
rule about one allowed category of data; the citizen reads the rule's title; event ids and references
follow strict patterns; what free text remains, and every field name, goes through the one screen of
:mod:`backend.services.screening` (forbidden categories of ``assets/point-rules/forbidden.json``, after
Unicode normalisation): a hit refuses the whole batch with ``forbidden_data``. A negative event may wait
for a reviewer (the scheme's ``review`` policy) in a ``pending_review`` case."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Citizen, CitizenScheme, DataProvider, LedgerCase, Scheme, ScoreEvent
from .. import auth as auth_service
from .. import crypto
from ..errors import Conflict, Forbidden, ForbiddenData, NotFound, Refused
from ..screening import categories_in, screen_record
from .audit import audit, audit_many, canonical_json
from .rules import PointRules, get_point_rules
from .scoring import lock_membership, recompute, recompute_many
from .statuses import FINAL, CaseReason, CaseStatus, Decision, EventKind, EventStatus, IngestOutcome

EVENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}\Z")
# A document number: capital letters and digits in up to 6 groups joined by - or /, with a digit somewhere
# (a ticket or file number, not words: "ABO-GROUP-AB-RH-NEG" is not a reference)
REFERENCE_RE = re.compile(r"^(?=[A-Z/-]*[0-9])[A-Z0-9]{1,20}(?:[-/][A-Z0-9]{1,20}){0,5}\Z")
REFERENCE_MAX = 64
FUTURE_LEEWAY = 300  # seconds an occurred_at may be ahead of the server clock


@dataclass
class IngestResult:
    results: list[dict]

    def counts(self) -> dict:
        out = {o.value: 0 for o in IngestOutcome}
        for r in self.results:
            out[r["status"]] += 1
        return out


def forbidden_error(hits: dict[str, list[str]], what: str = "this batch") -> ForbiddenData:
    return ForbiddenData(f"Refused: {what} carries a category of personal data that Perkpass never ingests "
                         f"({', '.join(categories_in(hits))}). Nothing of it was stored.", hits)


def check_forbidden(raw_events, rules: PointRules | None = None) -> None:
    """Refuse (422 forbidden_data) a batch in which any field name or text value (id, category, reference,
    description, anything) names a forbidden category of data, however disguised (screening.screen_record).
    Runs on the raw JSON, before anything else, so nothing of it is stored."""
    rules = rules or get_point_rules()
    if not isinstance(raw_events, list):
        return
    hits: dict[str, list[str]] = {}
    for i, ev in enumerate(raw_events):
        if isinstance(ev, dict):
            hits.update(screen_record(ev, rules.forbidden, f"events.{i}."))
    if hits:
        raise forbidden_error(hits)


def screen_batch(provider: DataProvider, raw_events, now: int) -> None:
    """:func:`check_forbidden` for a provider's batch; a refusal is recorded in the audit log (the
    category names only, never the data) before the error propagates."""
    try:
        check_forbidden(raw_events)
    except ForbiddenData as exc:
        cats = categories_in(exc.details)
        db.session.rollback()
        audit("provider", provider.code, "batch.refused_forbidden", "provider", provider.code,
              {"categories": cats, "events": len(raw_events) if isinstance(raw_events, list) else 0}, now)
        db.session.commit()
        raise


def _validate_semantics(provider: DataProvider, events: list[dict], rules: PointRules, now: int) -> None:
    errors: dict[str, list[str]] = {}
    for i, ev in enumerate(events):
        def err(k, msg, i=i):
            errors.setdefault(f"events.{i}.{k}", []).append(msg)
        scheme = ev["scheme"]
        if scheme not in provider.schemes:
            err("scheme", f"This provider may not send events for {scheme!r} (allowed: {', '.join(provider.schemes)}).")
            continue
        srules = rules.schemes.get(scheme)
        if srules is None:
            err("scheme", f"{scheme!r} has no point rules.")
            continue
        rule = srules.rules.get(ev["category"])
        if rule is None:
            err("category", f"Unknown point rule for {scheme}; use one of {', '.join(srules.rules)}.")
            continue
        if provider.categories and rule.code not in provider.categories:
            err("category", "This provider may not send this category.")
        pts = ev.get("points")
        if pts is None:
            if not rule.fixed:
                err("points", f"{rule.code} needs points between {rule.min} and {rule.max}.")
            else:
                ev["points"] = rule.min
        elif not rule.min <= pts <= rule.max:
            err("points", f"{rule.code} allows {rule.min}" + ("" if rule.fixed else f" to {rule.max}") + " points.")
        if ev["occurred_at"] > now + FUTURE_LEEWAY:
            err("occurred_at", "Is in the future.")
        if bool(ev.get("phone")) == bool(ev.get("citizen_id")):
            err("phone", "Give exactly one of phone or citizen_id.")
        if not EVENT_ID_RE.match(ev["id"]):
            err("id", "Letters, digits and . _ : / - only (up to 64).")
        ref = ev.get("reference")
        if ref is not None and (len(ref) > REFERENCE_MAX or not REFERENCE_RE.match(ref)):
            err("reference", "A document number: capital letters and digits in up to 6 groups joined by - or /, "
                             "with at least one digit (like FZ-TP-2026-118204), up to 64 characters.")
    if errors:
        raise Refused("Some events are invalid; nothing of the batch was stored.", errors, code="invalid_events")


def _payload_hash(citizen_id: int, ev: dict) -> str:
    return crypto.sha256_hex(canonical_json({"citizen": citizen_id, "scheme": ev["scheme"], "category": ev["category"],
                                         "points": ev["points"], "occurred_at": ev["occurred_at"],
                                         "reference": ev.get("reference"), "description": ev.get("description")}))


def _chunks(seq: list, n: int = 500):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _resolve_citizens(events: list[dict]) -> list[int | None]:
    """The citizen id of each event (None when nobody with that phone or id has opted in), in a
    few queries whatever the batch size."""
    keys: list[tuple[str, str] | None] = []
    hashes, publics = set(), set()
    for ev in events:
        if ev.get("citizen_id"):
            keys.append(("public", ev["citizen_id"]))
            publics.add(ev["citizen_id"])
            continue
        norm = auth_service.normalise_phone(ev["phone"])
        if norm is None:
            keys.append(None)
            continue
        hsh = auth_service.phone_hash(norm)
        keys.append(("phone", hsh))
        hashes.add(hsh)
    found: dict[tuple[str, str], int] = {}
    for chunk in _chunks(sorted(hashes)):
        for cid, hsh in db.session.execute(select(Citizen.id, Citizen.phone_hash).where(Citizen.phone_hash.in_(chunk))):
            found[("phone", hsh)] = cid
    for chunk in _chunks(sorted(publics)):
        for cid, pub in db.session.execute(select(Citizen.id, Citizen.public_id).where(Citizen.public_id.in_(chunk))):
            found[("public", pub)] = cid
    return [found.get(k) if k is not None else None for k in keys]


def ingest(provider: DataProvider, events: list[dict], now: int, *, screened: bool = False) -> IngestResult:
    """Record a provider's batch. All-or-nothing for invalid input; per event: ``accepted``,
    ``duplicate`` (same id, same content: nothing changes), ``conflict`` (same id, different
    content: nothing changes) or ``not_enrolled`` (no such member of the scheme: nothing stored).

    The batch is screened for forbidden data first, unless ``screened``: the caller passed the raw batch
    these events were loaded from through :func:`screen_batch` (the screen judges each field on its own, and
    loading only keeps or refuses fields, never changes a value, so a second screen could find nothing new;
    it was half of a batch's time)."""
    rules = get_point_rules()
    if not screened:
        check_forbidden(events, rules)
    if provider.revoked_at is not None:
        raise Forbidden("This provider's token has been revoked.", code="provider_revoked")
    _validate_semantics(provider, events, rules, now)
    for attempt in range(3):
        try:
            return _ingest_once(provider, events, rules, now)
        except IntegrityError:  # a concurrent batch recorded the same provider event id: redo, it is a duplicate now
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _ingest_once(provider: DataProvider, events: list[dict], rules: PointRules, now: int) -> IngestResult:
    scheme_ids = {s.code: s.id for s in db.session.scalars(select(Scheme))}
    citizen_ids = _resolve_citizens(events)
    wanted = {(c, scheme_ids.get(ev["scheme"])) for ev, c in zip(events, citizen_ids, strict=True)
              if c is not None}
    member_of: dict[tuple[int, int | None], int] = {}
    for chunk in _chunks(sorted({c for c, _ in wanted})):
        for mid, cid, sid in db.session.execute(select(CitizenScheme.id, CitizenScheme.citizen_id,
                                                       CitizenScheme.scheme_id)
                                                .where(CitizenScheme.citizen_id.in_(chunk))):
            member_of[(cid, sid)] = mid
    plan = [(ev, member_of.get((c, scheme_ids.get(ev["scheme"]))) if c is not None else None, c)
            for ev, c in zip(events, citizen_ids, strict=True)]
    # lock the memberships this batch touches, in id order (no deadlock between concurrent batches)
    memberships: dict[int, CitizenScheme] = {}
    for chunk in _chunks(sorted({mid for _, mid, _ in plan if mid is not None})):
        for m in db.session.scalars(select(CitizenScheme).where(CitizenScheme.id.in_(chunk)).order_by(CitizenScheme.id)
                                    .with_for_update(of=CitizenScheme)):
            memberships[m.id] = m
    existing: dict[str | None, ScoreEvent] = {}
    for chunk in _chunks([ev["id"] for ev, _, _ in plan]):
        for row in db.session.scalars(select(ScoreEvent).where(ScoreEvent.provider_id == provider.id,
                                                               ScoreEvent.provider_event_id.in_(chunk))):
            existing[row.provider_event_id] = row
    results: list[dict] = []
    new_rows: list[ScoreEvent] = []
    for ev, m_id, c_id in plan:
        if m_id is None or m_id not in memberships:
            results.append({"id": ev["id"], "status": IngestOutcome.NOT_ENROLLED, "event_status": None})
            continue
        assert c_id is not None  # a membership was found, so the citizen was
        digest = _payload_hash(c_id, ev)
        prior = existing.get(ev["id"])
        if prior is not None:
            same = prior.payload_sha256 == digest
            results.append({"id": ev["id"], "status": IngestOutcome.DUPLICATE if same else IngestOutcome.CONFLICT,
                            "event_status": prior.status})
            continue
        pending = rules.schemes[ev["scheme"]].needs_review(ev["points"])
        row = ScoreEvent(membership_id=m_id, kind=EventKind.POINT, delta=ev["points"],
                         score_after=memberships[m_id].score,
                         source=f"provider:{provider.code}"[:120], reason=ev.get("description"),
                         occurred_at=ev["occurred_at"], recorded_at=now,
                         status=EventStatus.PENDING_REVIEW if pending else EventStatus.CONFIRMED,
                         provider_id=provider.id,
                         provider_event_id=ev["id"], category=ev["category"], reference=ev.get("reference"),
                         payload_sha256=digest, confirmed_at=None if pending else now)
        existing[ev["id"]] = row
        new_rows.append(row)
        results.append({"id": ev["id"], "status": IngestOutcome.ACCEPTED, "event_status": row.status})
    if new_rows:
        db.session.add_all(new_rows)
        db.session.flush()  # one batch of inserts; ids assigned
        db.session.add_all([LedgerCase(event_id=r.id, reason=CaseReason.PENDING_REVIEW, status=CaseStatus.OPEN,
                                       opened_at=now)
                            for r in new_rows if r.status == EventStatus.PENDING_REVIEW])
        # no provider event id in the log: it names a person at the provider
        audit_many([("provider", provider.code, "event.recorded", "score_event", r.id,
                      {"scheme": memberships[r.membership_id].scheme.code, "category": r.category, "points": r.delta,
                       "status": r.status}) for r in new_rows], now)
        touched = sorted({r.membership_id for r in new_rows if r.status == EventStatus.CONFIRMED})
        recompute_many([memberships[mid] for mid in touched], now)
        for r in new_rows:
            r.score_after = memberships[r.membership_id].score
    provider.last_seen_at = now
    db.session.commit()
    return IngestResult(results)


def provider_event_status(provider: DataProvider, provider_event_id: str) -> dict:
    row = db.session.scalars(select(ScoreEvent).where(ScoreEvent.provider_id == provider.id,
                                                      ScoreEvent.provider_event_id == provider_event_id)).first()
    if row is None:
        raise NotFound("No event with this id from this provider (or the citizen opted out).")
    case = row.cases[-1] if row.cases else None
    return {"id": row.provider_event_id, "status": row.status, "recorded_at": row.recorded_at,
            "decided_at": case.decided_at if case is not None else None}


def withdraw(provider: DataProvider, provider_event_id: str, reason: str, now: int) -> dict:
    """The provider withdraws one of its own events (a cancelled ticket, a record sent for the wrong
    person). It stops counting at once; an open review case is closed; the citizen sees the reason."""
    hits = screen_record({"reason": reason}, get_point_rules().forbidden)
    if hits:  # the reason is shown to the citizen: the same screen as an event's text
        raise forbidden_error(hits, "this withdrawal")
    row = db.session.scalars(select(ScoreEvent).where(ScoreEvent.provider_id == provider.id,
                                                      ScoreEvent.provider_event_id == provider_event_id)).first()
    if row is None:
        raise NotFound("No event with this id from this provider (or the citizen opted out).")
    m = lock_membership(row.membership_id)
    db.session.refresh(row)
    if row.status in FINAL:
        raise Conflict(f"The event no longer counts (status {row.status}).", code="not_withdrawable")
    before = row.status
    text_ = f"{provider.name}: {reason.strip()}"
    case = next((c for c in row.cases if c.status == CaseStatus.OPEN), None)
    if case is None:
        case = LedgerCase(event_id=row.id, reason=CaseReason.WITHDRAWAL, status=CaseStatus.DECIDED, opened_at=now)
        db.session.add(case)
    case.status, case.decision = CaseStatus.DECIDED, Decision.WITHDRAW
    case.decision_reason, case.decided_at = text_, now
    row.status = EventStatus.WITHDRAWN
    db.session.flush()
    audit("provider", provider.code, "event.withdrawn", "score_event", row.id,
          {"case": case.id, "from": before, "to": EventStatus.WITHDRAWN, "points": row.delta}, now)
    recompute(m, now)
    db.session.commit()
    return provider_event_status(provider, provider_event_id)
