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

import json
import re
from dataclasses import dataclass

from sqlalchemy import Integer, String, any_, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Citizen, CitizenScheme, DataProvider, LedgerCase, Scheme, ScoreEvent
from .. import auth as auth_service
from .. import certificates, crypto
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, Refused
from . import references
from .audit import audit, audit_many, canonical_json
from .catalogue import provider_formats, reason_codes
from ..perks import get_catalogue
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


def _in(column, values: list):
    """The conditions ``column IN values`` for a batch's lookups, one statement each. PostgreSQL: one
    condition, ``column = ANY(array)`` with the values as one array parameter; a thousand-value IN list
    costs more to render and parse (SQLAlchemy expands it, psycopg parses a statement too long to cache)
    than the database spends answering it. SQLite: IN lists of 500 (its limit on bound parameters)."""
    if not values:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        element = Integer() if isinstance(values[0], int) else String()
        return [column == any_(bindparam(None, values, type_=ARRAY(element)))]
    return [column.in_(chunk) for chunk in _chunks(values)]


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
    for cond in _in(Citizen.phone_hash, sorted(hashes)):
        for cid, hsh in db.session.execute(select(Citizen.id, Citizen.phone_hash).where(cond)):
            found[("phone", hsh)] = cid
    for cond in _in(Citizen.public_id, sorted(publics)):
        for cid, pub in db.session.execute(select(Citizen.id, Citizen.public_id).where(cond)):
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
    keys = references.reference_keys()
    for ev in events:
        # stored under the newest key; found under any (an event recorded before a key rotation)
        under_each_key = references.digests(keys, provider.code, ev["reference"])
        ev["reference_digest"], ev["earlier_digests"] = under_each_key[0], under_each_key[1:]
    for attempt in range(3):
        try:
            return _ingest_once(provider, events, rules, now)
        except IntegrityError:  # a concurrent batch recorded the same reference: redo, it is a duplicate now
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class _Member:
    """A locked membership as the batch needs it (plain values: no ORM object per membership)."""
    citizen_id: int
    scheme: str
    score: int


def _ingest_once(provider: DataProvider, events: list[dict], rules: PointRules, now: int) -> IngestResult:
    """One batch in a few set-based statements: look up citizens, memberships (locked) and earlier events in
    chunks, insert the new events and cases in one statement each, append the audit entries, update the scores
    in one statement."""
    scheme_ids = {code: sid for sid, code in db.session.execute(select(Scheme.id, Scheme.code))}
    scheme_codes = {sid: code for code, sid in scheme_ids.items()}
    citizen_ids = _resolve_citizens(events)
    member_of: dict[tuple[int, int | None], int] = {}
    for cond in _in(CitizenScheme.citizen_id, sorted({c for c in citizen_ids if c is not None})):
        for mid, cid, sid in db.session.execute(select(CitizenScheme.id, CitizenScheme.citizen_id,
                                                       CitizenScheme.scheme_id).where(cond)):
            member_of[(cid, sid)] = mid
    plan = [(ev, member_of.get((c, scheme_ids.get(ev["scheme"]))) if c is not None else None, c)
            for ev, c in zip(events, citizen_ids, strict=True)]
    # lock the memberships this batch touches, in id order (no deadlock between concurrent batches)
    members: dict[int, _Member] = {}
    for cond in _in(CitizenScheme.id, sorted({mid for _, mid, _ in plan if mid is not None})):
        for mid, cid, sid, score in db.session.execute(
                select(CitizenScheme.id, CitizenScheme.citizen_id, CitizenScheme.scheme_id, CitizenScheme.score)
                .where(cond).order_by(CitizenScheme.id).with_for_update()):
            members[mid] = _Member(cid, scheme_codes[sid], score)
    existing: dict[str, tuple[str | None, str]] = {}  # reference digest (newest key) -> (payload hash, status)
    newest = {d: ev["reference_digest"] for ev, _, _ in plan for d in (ev["reference_digest"], *ev["earlier_digests"])}
    for cond in _in(ScoreEvent.provider_event_id, list(newest)):
        for ref, payload, status in db.session.execute(
                select(ScoreEvent.provider_event_id, ScoreEvent.payload_sha256, ScoreEvent.status)
                .where(ScoreEvent.provider_id == provider.id, cond)):
            existing[newest[str(ref)]] = (payload, status)
    results: list[dict] = []
    new_rows: list[dict] = []
    for ev, m_id, c_id in plan:
        if m_id is None or m_id not in members:
            results.append({"reference": ev["reference"], "status": IngestOutcome.NOT_ENROLLED, "event_status": None})
            continue
        assert c_id is not None  # a membership was found, so the citizen was
        digest = _payload_hash(c_id, ev)
        prior = existing.get(ev["reference_digest"])
        if prior is not None:
            same = prior[0] == digest
            results.append({"reference": ev["reference"],
                            "status": IngestOutcome.DUPLICATE if same else IngestOutcome.CONFLICT,
                            "event_status": prior[1]})
            continue
        pending = rules.schemes[ev["scheme"]].needs_review(ev["points"])
        status = EventStatus.PENDING_REVIEW if pending else EventStatus.CONFIRMED
        # no readable reference, no text: the rule code, the numbers and the reference's keyed digest
        new_rows.append({"membership_id": m_id, "kind": str(EventKind.POINT), "delta": ev["points"], "score_after": 0,
                         "source": f"provider:{provider.code}"[:120], "occurred_at": ev["occurred_at"],
                         "recorded_at": now, "status": str(status), "provider_id": provider.id,
                         "provider_event_id": ev["reference_digest"], "category": ev["rule"],
                         "payload_sha256": digest, "confirmed_at": None if pending else now})
        existing[ev["reference_digest"]] = (digest, status)
        results.append({"reference": ev["reference"], "status": IngestOutcome.ACCEPTED, "event_status": status})
    if new_rows:
        _record(provider, new_rows, members, now)
    provider.last_seen_at = now
    db.session.commit()
    return IngestResult(results)


_EVENT_COLUMNS = ("membership_id", "kind", "delta", "score_after", "source", "occurred_at", "recorded_at", "status",
                  "provider_id", "provider_event_id", "category", "payload_sha256", "confirmed_at")
_PG_EVENTS = text(
    f"INSERT INTO score_events ({', '.join(_EVENT_COLUMNS)}) SELECT {', '.join(_EVENT_COLUMNS)} "
    "FROM json_to_recordset(CAST(:rows AS json)) AS x(membership_id integer, kind text, delta integer, "
    "score_after integer, source text, occurred_at bigint, recorded_at bigint, status text, provider_id integer, "
    "provider_event_id text, category text, payload_sha256 text, confirmed_at bigint) "
    "RETURNING id, provider_event_id")
_PG_CASES = text(
    "INSERT INTO ledger_cases (event_id, reason, status, opened_at) SELECT event_id, reason, status, opened_at "
    "FROM json_to_recordset(CAST(:rows AS json)) AS x(event_id integer, reason text, status text, opened_at bigint)")

_PG_SCORES = text(
    "UPDATE citizen_schemes AS m SET score = x.score, updated_at = x.now "
    "FROM json_to_recordset(CAST(:rows AS json)) AS x(mid integer, score integer, now bigint) WHERE m.id = x.mid")


def _insert_events(rows: list[dict]) -> list[int]:
    """Insert the batch's events; their ids in the order of ``rows``. PostgreSQL: one statement with the rows
    as one JSON parameter (a thousand rows' VALUES list costs more to build and parse than to write); elsewhere
    one multi-row INSERT ... RETURNING. Rows come back in any order: each is matched by its reference digest
    (unique for the provider)."""
    if db.session.connection().dialect.name == "postgresql":
        got = db.session.execute(_PG_EVENTS, {"rows": json.dumps(rows)})
    else:
        table = ScoreEvent.__table__
        got = db.session.execute(insert(table).returning(table.c.id, table.c.provider_event_id), rows)
    by_ref = {ref: i for i, ref in got}
    return [by_ref[r["provider_event_id"]] for r in rows]


def _record(provider: DataProvider, new_rows: list[dict], members: dict[int, _Member], now: int) -> None:
    """Insert the new events, their review cases and audit entries, and update the scores they change. A new
    score is the exact running total plus the batch's counted points, clamped (:func:`.scoring.replay` clamps
    only at imports and at the end, so a cached score strictly inside the range is the exact total); a
    membership at an edge of its range may be clamped, so it is replayed in full."""
    catalogue = get_catalogue()
    counted: dict[int, int] = {}
    for r in new_rows:
        if r["status"] == EventStatus.CONFIRMED:
            counted[r["membership_id"]] = counted.get(r["membership_id"], 0) + r["delta"]
    final: dict[int, int] = {}
    replay_needed: list[int] = []
    for mid, points in counted.items():
        cfg = catalogue.schemes[members[mid].scheme]
        if cfg.min < members[mid].score < cfg.max:
            final[mid] = max(cfg.min, min(cfg.max, members[mid].score + points))
        else:
            replay_needed.append(mid)
    for r in new_rows:
        r["score_after"] = final.get(r["membership_id"], members[r["membership_id"]].score)
    ids = _insert_events(new_rows)
    cases = [{"event_id": i, "reason": str(CaseReason.PENDING_REVIEW), "status": str(CaseStatus.OPEN),
              "opened_at": now}
             for i, r in zip(ids, new_rows, strict=True) if r["status"] == EventStatus.PENDING_REVIEW]
    if cases and db.session.connection().dialect.name == "postgresql":
        db.session.execute(_PG_CASES, {"rows": json.dumps(cases)})
    elif cases:
        db.session.execute(insert(LedgerCase.__table__), cases)
    # no reference in the log, not even its digest: it would link the entry to the provider's file
    audit_many([("provider", provider.code, "event.recorded", "score_event", i,
                 {"scheme": members[r["membership_id"]].scheme, "category": r["category"], "points": r["delta"],
                  "status": r["status"]}) for i, r in zip(ids, new_rows, strict=True)], now)
    changed = [{"mid": mid, "score": score, "now": now} for mid, score in final.items()
               if score != members[mid].score]
    if changed:
        if db.session.connection().dialect.name == "postgresql":
            db.session.execute(_PG_SCORES, {"rows": json.dumps(changed)})
        else:
            table = CitizenScheme.__table__
            db.session.execute(update(table).where(table.c.id == bindparam("mid"))
                               .values(score=bindparam("score"), updated_at=bindparam("now")), changed)
        # a score changed by a statement, not through the ORM: the PP2 certificates it no longer justifies go
        certificates.recheck_certificates(db.session.connection(), [members[c["mid"]].citizen_id for c in changed],
                                          now)
    if replay_needed:  # a membership at an edge of its range: the full replay, then its rows' score_after
        ms = list(db.session.scalars(select(CitizenScheme).where(CitizenScheme.id.in_(replay_needed))))
        recompute_many(ms, now)
        db.session.flush()
        for m in ms:
            mine = [i for i, r in zip(ids, new_rows, strict=True) if r["membership_id"] == m.id]
            db.session.execute(update(ScoreEvent).where(ScoreEvent.id.in_(mine)).values(score_after=m.score)
                               .execution_options(synchronize_session=False))


def _event_by_reference(provider: DataProvider, reference: str) -> ScoreEvent:
    fmt = provider_format(provider)
    if not references.matches(fmt, reference):  # it cannot have been recorded
        raise NotFound(f"No event with this reference from this provider (its references look like {fmt}).")
    digests = references.digests(references.reference_keys(), provider.code, reference)
    row = db.session.scalars(select(ScoreEvent).where(ScoreEvent.provider_id == provider.id,
                                                      ScoreEvent.provider_event_id.in_(digests))).first()
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
