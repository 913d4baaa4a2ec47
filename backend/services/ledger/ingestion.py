"""Data providers' events: batches idempotent by the provider's reference, and withdrawals by reason code.

Provider events carry no prose, by construction. An event is a registered rule code (an approved catalogue
rule of the scheme), the time it happened, the citizen (phone or citizen id, used to find them and not
stored) and the provider's reference, which must match the provider's approved reference format
(:mod:`.references`: fixed prefix and digits) and is stored only as a keyed digest. The schema refuses unknown
fields, nested objects and any description; a withdrawal names an approved reason code. What a citizen reads
about an event (the rule's title, the provider's name, the reason) comes from the catalogue in their
language. A negative event may wait for a reviewer (the scheme's ``review`` policy) in a ``pending_review``
case."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Citizen, CitizenScheme, DataProvider, LedgerCase, Scheme, ScoreEvent
from .. import auth as auth_service
from .. import crypto
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, Refused
from . import references
from .audit import audit, audit_many, canonical_json
from .catalogue import provider_formats, reason_codes
from .rules import PointRules, get_point_rules
from .scoring import lock_membership, recompute, recompute_many
from .statuses import FINAL, CaseReason, CaseStatus, Decision, EventKind, EventStatus, IngestOutcome

FUTURE_LEEWAY = 300  # seconds an occurred_at may be ahead of the server clock
SCHEME_RE = re.compile(r"^[a-z][a-z0-9-]{1,31}\Z")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{5,24}\Z")
CITIZEN_ID_RE = re.compile(r"^c_[0-9a-f]{24}\Z")


@dataclass
class IngestResult:
    results: list[dict]

    def counts(self) -> dict:
        out = {o.value: 0 for o in IngestOutcome}
        for r in self.results:
            out[r["status"]] += 1
        return out


def provider_format(provider: DataProvider) -> str:
    """The provider's approved reference format; a provider without an approved catalogue entry sends
    nothing (fail closed)."""
    fmt = provider_formats([provider.code]).get(provider.code)
    if fmt is None:
        raise Forbidden("This provider's catalogue entry (its name and reference format) has not been approved by "
                        "a second operator yet; nothing can be recorded.", code="provider_not_approved")
    return fmt


def _validate_semantics(provider: DataProvider, events: list[dict], rules: PointRules, fmt: str, now: int) -> None:
    errors: dict[str, list[str]] = {}
    pattern = references.compile_format(fmt)
    for i, ev in enumerate(events):
        def err(k, msg, i=i):
            errors.setdefault(f"events.{i}.{k}", []).append(msg)
        if not pattern.match(ev["reference"]):
            err("reference", f"Must match this provider's registered reference format {fmt} (# is a digit).")
        scheme = ev["scheme"]
        if scheme not in provider.schemes:
            err("scheme", f"This provider may not send events for this scheme ({', '.join(provider.schemes)}).")
            continue
        srules = rules.schemes.get(scheme)
        if srules is None:
            err("scheme", "This scheme has no point rules.")
            continue
        rule = srules.rules.get(ev["rule"])
        if rule is None:
            err("rule", f"Not an approved rule of {scheme}; use one of {', '.join(srules.rules)}.")
            continue
        if provider.categories and rule.code not in provider.categories:
            err("rule", "This provider may not send this rule.")
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
    if errors:
        raise Refused("Some events are invalid; nothing of the batch was stored.", errors, code="invalid_events")


def _payload_hash(citizen_id: int, ev: dict) -> str:
    return crypto.sha256_hex(canonical_json({"citizen": citizen_id, "scheme": ev["scheme"], "rule": ev["rule"],
                                             "points": ev["points"], "occurred_at": ev["occurred_at"]}))


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


def check_events(provider: DataProvider, events: list[dict], now: int) -> None:
    """Refuse (nothing stored) what :func:`ingest` would refuse as a whole: a revoked or unapproved provider,
    an event that does not fit its rule, scheme or the provider's reference format."""
    if provider.revoked_at is not None:
        raise Forbidden("This provider's token has been revoked.", code="provider_revoked")
    _validate_semantics(provider, events, get_point_rules(), provider_format(provider), now)


def ingest(provider: DataProvider, events: list[dict], now: int) -> IngestResult:
    """Record a provider's batch (events as loaded by the strict schema). All-or-nothing for invalid input;
    per event: ``accepted``, ``duplicate`` (same reference, same content: nothing changes), ``conflict`` (same
    reference, different content: nothing changes) or ``not_enrolled`` (no such member of the scheme:
    nothing stored)."""
    if provider.revoked_at is not None:
        raise Forbidden("This provider's token has been revoked.", code="provider_revoked")
    fmt = provider_format(provider)
    rules = get_point_rules()
    _validate_semantics(provider, events, rules, fmt, now)
    key = references.reference_key()
    for ev in events:
        ev["reference_digest"] = references.digest(key, provider.code, ev["reference"])
    for attempt in range(3):
        try:
            return _ingest_once(provider, events, rules, now)
        except IntegrityError:  # a concurrent batch recorded the same reference: redo, it is a duplicate now
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
    for chunk in _chunks([ev["reference_digest"] for ev, _, _ in plan]):
        for row in db.session.scalars(select(ScoreEvent).where(ScoreEvent.provider_id == provider.id,
                                                               ScoreEvent.provider_event_id.in_(chunk))):
            existing[row.provider_event_id] = row
    results: list[dict] = []
    new_rows: list[ScoreEvent] = []
    for ev, m_id, c_id in plan:
        if m_id is None or m_id not in memberships:
            results.append({"reference": ev["reference"], "status": IngestOutcome.NOT_ENROLLED, "event_status": None})
            continue
        assert c_id is not None  # a membership was found, so the citizen was
        digest = _payload_hash(c_id, ev)
        prior = existing.get(ev["reference_digest"])
        if prior is not None:
            same = prior.payload_sha256 == digest
            results.append({"reference": ev["reference"],
                            "status": IngestOutcome.DUPLICATE if same else IngestOutcome.CONFLICT,
                            "event_status": prior.status})
            continue
        pending = rules.schemes[ev["scheme"]].needs_review(ev["points"])
        # no readable reference, no text: the rule code, the numbers and the reference's keyed digest
        row = ScoreEvent(membership_id=m_id, kind=EventKind.POINT, delta=ev["points"],
                         score_after=memberships[m_id].score, source=f"provider:{provider.code}"[:120], reason=None,
                         occurred_at=ev["occurred_at"], recorded_at=now,
                         status=EventStatus.PENDING_REVIEW if pending else EventStatus.CONFIRMED,
                         provider_id=provider.id, provider_event_id=ev["reference_digest"], category=ev["rule"],
                         reference=None, payload_sha256=digest, confirmed_at=None if pending else now)
        existing[ev["reference_digest"]] = row
        new_rows.append(row)
        results.append({"reference": ev["reference"], "status": IngestOutcome.ACCEPTED, "event_status": row.status})
    if new_rows:
        db.session.add_all(new_rows)
        db.session.flush()  # one batch of inserts; ids assigned
        db.session.add_all([LedgerCase(event_id=r.id, reason=CaseReason.PENDING_REVIEW, status=CaseStatus.OPEN,
                                       opened_at=now)
                            for r in new_rows if r.status == EventStatus.PENDING_REVIEW])
        # no reference in the log, not even its digest: it would link the entry to the provider's file
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


def _event_by_reference(provider: DataProvider, reference: str) -> ScoreEvent:
    fmt = provider_format(provider)
    if not references.matches(fmt, reference):  # it cannot have been recorded
        raise NotFound(f"No event with this reference from this provider (its references look like {fmt}).")
    digest = references.digest(references.reference_key(), provider.code, reference)
    row = db.session.scalars(select(ScoreEvent).where(ScoreEvent.provider_id == provider.id,
                                                      ScoreEvent.provider_event_id == digest)).first()
    if row is None:
        raise NotFound("No event with this reference from this provider (or the citizen opted out).")
    return row


def _status(row: ScoreEvent, reference: str) -> dict:
    case = row.cases[-1] if row.cases else None
    return {"reference": reference, "status": row.status, "recorded_at": row.recorded_at,
            "decided_at": case.decided_at if case is not None else None}


def provider_event_status(provider: DataProvider, reference: str) -> dict:
    """The status of the provider's event with this reference (recomputed to its digest)."""
    return _status(_event_by_reference(provider, reference), reference)


def withdraw(provider: DataProvider, reference: str, reason_code: str, now: int) -> dict:
    """The provider withdraws one of its own events (a cancelled decision, a record sent for the wrong
    person), giving an approved reason code. It stops counting at once; an open review case is closed; the
    citizen reads the reason's label from the catalogue."""
    codes = reason_codes("withdrawal")
    if reason_code not in codes:
        raise InvalidInput("The reason is an approved withdrawal reason code.",
                           {"reason": [f"One of {', '.join(sorted(codes))}."]})
    row = _event_by_reference(provider, reference)
    m = lock_membership(row.membership_id)
    db.session.refresh(row)
    if row.status in FINAL:
        raise Conflict(f"The event no longer counts (status {row.status}).", code="not_withdrawable")
    before = row.status
    case = next((c for c in row.cases if c.status == CaseStatus.OPEN), None)
    if case is None:
        case = LedgerCase(event_id=row.id, reason=CaseReason.WITHDRAWAL, status=CaseStatus.DECIDED, opened_at=now)
        db.session.add(case)
    case.status, case.decision = CaseStatus.DECIDED, Decision.WITHDRAW
    case.decision_reason, case.reason_code, case.decided_at = None, reason_code, now
    row.status = EventStatus.WITHDRAWN
    db.session.flush()
    audit("provider", provider.code, "event.withdrawn", "score_event", row.id,
          {"case": case.id, "from": before, "to": EventStatus.WITHDRAWN, "points": row.delta, "reason": reason_code},
          now)
    recompute(m, now)
    db.session.commit()
    return _status(row, reference)
