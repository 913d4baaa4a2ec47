"""The score ledger: every point has a source, a citizen can dispute it, a person decides.

* A membership's score is the scheme's base plus the events that count, clamped to the scheme's
  range. Events are ``join`` (the base, 0 points), ``import`` (an operator's absolute import,
  recorded as the change it made) and ``point`` (a data provider's event under a point rule of
  ``assets/point-rules/<scheme>.json``). The cached ``CitizenScheme.score`` is rewritten from the
  ledger whenever an event's status changes, so band, perks and the next credential follow at once.
* Statuses: ``pending_review`` (a negative event waiting for a reviewer, per the scheme's ``review``
  policy; it does not count), ``confirmed`` (counts), ``disputed`` (under review: a record that counted
  keeps counting, a pending one still does not; a dispute never changes a score), ``reversed`` (a reviewer
  upheld a dispute), ``rejected`` (a reviewer refused a pending event) and ``withdrawn`` (the
  provider withdrew its own event, with a reason). None of the last three counts again.
* Data providers send batches idempotent by their own event id. The seed rules hold by construction: a
  provider may only send events of registered point rules, each rule about one allowed category of data
  (``assets/point-rules/categories.json``); the citizen reads the rule's title; event ids and references
  follow strict patterns; what free text remains, and every field name, goes through the one screen of
  :mod:`backend.services.screening` (forbidden categories of ``assets/point-rules/forbidden.json``, after
  Unicode normalisation): a hit refuses the whole batch with ``forbidden_data``.
* Every change is appended to the audit log (ids, statuses, points; never a phone number, a score or
  a citizen's own words).

Time (``now``) is always a parameter.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..errors import APIError
from ..extensions import db
from ..models import AuditEntry, Citizen, CitizenScheme, DataProvider, LedgerCase, Reviewer, Scheme, ScoreEvent
from . import crypto
from .perks import Catalogue, SchemeConfig, get_catalogue
from .screening import ForbiddenCategory, categories_in, find_forbidden, load_categories, screen_record

STATUSES = ("pending_review", "confirmed", "disputed", "reversed", "rejected", "withdrawn")
FINAL = ("reversed", "rejected", "withdrawn")  # never count again
REVIEW_POLICIES = ("none", "negative", "all")
RULE_RE = re.compile(r"^[A-Z][A-Z0-9-]{1,47}\Z")
PROVIDER_CODE_RE = re.compile(r"^[a-z][a-z0-9-]{1,47}\Z")
EVENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}\Z")
# A document number: capital letters and digits in up to 6 groups joined by - or /, with a digit somewhere
# (a ticket or file number, not words: "ABO-GROUP-AB-RH-NEG" is not a reference)
REFERENCE_RE = re.compile(r"^(?=[A-Z/-]*[0-9])[A-Z0-9]{1,20}(?:[-/][A-Z0-9]{1,20}){0,5}\Z")
REFERENCE_MAX = 64
CATEGORY_CODE_RE = re.compile(r"^[a-z][a-z0-9-]{1,47}\Z")
GENESIS = "0" * 64
FUTURE_LEEWAY = 300  # seconds an occurred_at may be ahead of the server clock


class PointRulesError(ValueError):
    """The point-rules configuration is invalid."""


# ---------------------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class Rule:
    code: str
    scheme: str
    title: dict
    min: int
    max: int
    category: str = ""  # the allowed category of data it is about (categories.json)

    @property
    def fixed(self) -> bool:
        return self.min == self.max

    def public(self) -> dict:
        return {"code": self.code, "title": dict(self.title), "data_category": self.category,
                "points": self.min if self.fixed else {"min": self.min, "max": self.max}}


@dataclass
class SchemeRules:
    scheme: str
    review: str
    dispute_window_days: int
    while_disputed: str
    rules: dict[str, Rule]
    about: str = ""

    def needs_review(self, points: int) -> bool:
        return self.review == "all" or (self.review == "negative" and points < 0)


@dataclass(frozen=True)
class DataCategory:
    """A category of data point rules may be about (categories.json)."""
    code: str
    label: dict


@dataclass
class PointRules:
    schemes: dict[str, SchemeRules]
    forbidden: list[ForbiddenCategory] = field(default_factory=list)
    categories: dict[str, DataCategory] = field(default_factory=dict)

    def forbidden_match(self, value) -> ForbiddenCategory | None:
        """The forbidden category a string names (a category, a field name or free text), if any."""
        return find_forbidden(value, self.forbidden)


def _need(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise PointRulesError(f"{where}: {msg}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def load_point_rules(directory: str | Path, catalogue: Catalogue, default_window: int = 10) -> PointRules:
    directory = Path(directory)
    fpath = directory / "forbidden.json"
    _need(fpath.exists(), str(directory), "needs forbidden.json (the categories of data never ingested)")
    try:
        forbidden = load_categories(json.loads(fpath.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise PointRulesError(str(exc)) from exc
    _need(bool(forbidden), "forbidden.json", "lists no categories")
    out = PointRules({}, forbidden)
    cpath = directory / "categories.json"
    _need(cpath.exists(), str(directory), "needs categories.json (the categories of data a rule may be about)")
    for i, c in enumerate(json.loads(cpath.read_text(encoding="utf-8")).get("categories") or []):
        w = f"categories.json categories[{i}]"
        _need(isinstance(c, dict) and isinstance(c.get("code"), str) and bool(CATEGORY_CODE_RE.match(c["code"])), w,
              "code must be lower-case like traffic")
        label = c.get("label")
        _need(isinstance(label, dict) and label.get("en") and label.get("zh-CN"), w, "needs label en and zh-CN")
        bad = next((b for b in (out.forbidden_match(t) for t in (c["code"], label["en"], label["zh-CN"])) if b), None)
        _need(bad is None, w, f"names a forbidden data category ({bad.code if bad else ''})")
        out.categories[c["code"]] = DataCategory(c["code"], {"en": label["en"], "zh-CN": label["zh-CN"]})
    _need(bool(out.categories), "categories.json", "lists no categories")
    for f in sorted(directory.glob("*.json")):
        if f.name in ("forbidden.json", "categories.json"):
            continue
        where = f.name
        try:
            raw = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PointRulesError(f"{where}: cannot read JSON: {exc}") from exc
        _need(isinstance(raw, dict), where, "must be an object")
        code = raw.get("scheme")
        _need(code in catalogue.schemes, where, f"unknown scheme {code!r} (not in the scheme files)")
        _need(code not in out.schemes, where, f"scheme {code!r} has two point-rule files")
        cfg: SchemeConfig = catalogue.schemes[code]
        review = raw.get("review", "negative")
        _need(review in REVIEW_POLICIES, where, f"review must be one of {', '.join(REVIEW_POLICIES)}")
        window = raw.get("dispute_window_days", default_window)
        _need(_is_int(window) and 1 <= window <= 365, where, "dispute_window_days must be 1..365")
        # A dispute is not a way to raise a score: a record that counted keeps counting until a reviewer
        # decides. "suspend" (a dispute freezing a confirmed record) is refused by construction.
        wd = raw.get("while_disputed", "count")
        _need(wd == "count", where, "while_disputed can only be 'count': a disputed record that counted keeps "
                                    "counting until a reviewer decides (a dispute must not change a score)")
        rules: dict[str, Rule] = {}
        span = cfg.max - cfg.min
        for i, r in enumerate(raw.get("rules") or []):
            w = f"{where} rules[{i}]"
            _need(isinstance(r, dict) and isinstance(r.get("code"), str) and bool(RULE_RE.match(r["code"])), w,
                  "code must be UPPER-CASE like OFFENCE-MINOR")
            _need(r["code"] not in rules, w, f"rule {r['code']} defined twice")
            title = r.get("title") if isinstance(r.get("title"), dict) else {}
            bad = next((b for b in (out.forbidden_match(t) for t in (r["code"], title.get("en", ""),
                                                                     title.get("zh-CN", ""))) if b), None)
            _need(bad is None, w, f"names a forbidden data category ({bad.code if bad else ''})")
            _need(r.get("category") in out.categories, w,
                  f"needs a category of data from categories.json ({', '.join(out.categories)})")
            pts = r.get("points")
            if _is_int(pts):
                lo = hi = pts
            else:
                _need(isinstance(pts, dict) and _is_int(pts.get("min")) and _is_int(pts.get("max")), w,
                      "points must be an integer or {min, max}")
                lo, hi = pts["min"], pts["max"]
            _need(lo <= hi and lo != 0 and hi != 0 and (lo > 0) == (hi > 0), w,
                  "points must be non-zero and all of one sign (min <= max)")
            _need(-span <= lo and hi <= span, w, "points larger than the scheme's range")
            title = r.get("title")
            _need(isinstance(title, dict) and title.get("en") and title.get("zh-CN"), w, "needs title en and zh-CN")
            rules[r["code"]] = Rule(r["code"], code, {"en": title["en"], "zh-CN": title["zh-CN"]}, lo, hi,
                                    r["category"])
        _need(bool(rules), where, "lists no rules")
        out.schemes[code] = SchemeRules(code, review, window, wd, rules, raw.get("about") or "")
    return out


def get_point_rules(app=None) -> PointRules:
    app = app or current_app
    rules = app.extensions.get("perkpass_point_rules")
    if rules is None:
        directory = app.config.get("PERKPASS_POINT_RULES_DIR") or str(
            Path(app.config["PERKPASS_SCHEMES_DIR"]).parent / "point-rules")
        rules = load_point_rules(directory, get_catalogue(app), int(app.config.get("PERKPASS_DISPUTE_WINDOW_DAYS", 10)))
        app.extensions["perkpass_point_rules"] = rules
    return rules


# ---------------------------------------------------------------------------------------- audit log

def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _entry_hash(prev: str, at: int, actor_type: str, actor_ref: str, action: str, target_type: str,
                target_ref: str, details: dict) -> str:
    return crypto.sha256_hex(_canonical([prev, at, actor_type, actor_ref, action, target_type, target_ref, details]))


def _lock_audit() -> None:
    """Serialise appends so the hash chain never forks (PostgreSQL: a transaction-scoped advisory
    lock; SQLite: the caller has already written in this transaction, so it holds the write lock)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(74060006)"))
    else:
        db.session.flush()


def audit(actor_type: str, actor_ref: str, action: str, target_type: str, target_ref, details: dict, now: int) -> AuditEntry:
    """Append one entry (in the caller's transaction)."""
    return audit_many([(actor_type, actor_ref, action, target_type, target_ref, details)], now)[0]


def audit_many(items: list[tuple], now: int) -> list[AuditEntry]:
    """Append entries ``(actor_type, actor_ref, action, target_type, target_ref, details)`` in order,
    chained, with one read of the chain's head and one flush."""
    _lock_audit()
    prev = db.session.scalars(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)).first() or GENESIS
    out = []
    for actor_type, actor_ref, action, target_type, target_ref, details in items:
        details = json.loads(_canonical(details))
        entry = AuditEntry(at=now, actor_type=actor_type, actor_ref=str(actor_ref)[:64], action=action,
                           target_type=target_type, target_ref=str(target_ref)[:64], details=details, prev_hash=prev)
        entry.entry_hash = prev = _entry_hash(prev, now, actor_type, entry.actor_ref, action, target_type,
                                              entry.target_ref, details)
        out.append(entry)
    db.session.add_all(out)
    db.session.flush()
    return out


@sa_event.listens_for(ScoreEvent, "after_insert")
def _audit_import(_mapper, connection, target: ScoreEvent) -> None:
    """Operator imports (backend/services/scores.py) change scores outside this module: audit them too,
    inside the same flush. No numbers: an import's change would reveal the score."""
    if target.kind != "import":
        return
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(74060006)"))
    prev = connection.execute(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)).scalar() or GENESIS
    at = target.recorded_at
    details = {"source": (target.source or "")[:120]}
    actor_ref = "import"
    connection.execute(AuditEntry.__table__.insert().values(
        at=at, actor_type="operator", actor_ref=actor_ref, action="score.imported", target_type="score_event",
        target_ref=str(target.id), details=details, prev_hash=prev,
        entry_hash=_entry_hash(prev, at, "operator", actor_ref, "score.imported", "score_event", str(target.id), details)))


def audit_dict(e: AuditEntry) -> dict:
    return {"id": e.id, "at": e.at, "actor": {"type": e.actor_type, "ref": e.actor_ref}, "action": e.action,
            "target": {"type": e.target_type, "ref": e.target_ref}, "details": e.details,
            "prev_hash": e.prev_hash, "entry_hash": e.entry_hash}


def audit_page(after: int = 0, limit: int = 100, action: str | None = None, target_type: str | None = None) -> dict:
    stmt = select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(limit + 1)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    rows = list(db.session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"entries": [audit_dict(e) for e in rows], "next_after": rows[-1].id if more and rows else None}


def verify_audit() -> dict:
    """Walk the chain; report the first entry whose hash or link does not match."""
    prev, n = GENESIS, 0
    for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(500):
        n += 1
        if e.prev_hash != prev:
            return {"ok": False, "entries": n, "broken_at": e.id, "problem": "link to the previous entry is wrong (an entry was removed or inserted)"}
        expect = _entry_hash(e.prev_hash, e.at, e.actor_type, e.actor_ref, e.action, e.target_type, e.target_ref, e.details)
        if e.entry_hash != expect:
            return {"ok": False, "entries": n, "broken_at": e.id, "problem": "entry content does not match its hash (edited)"}
        prev = e.entry_hash
    return {"ok": True, "entries": n, "broken_at": None, "problem": None, "head": prev}


# ---------------------------------------------------------------------------------------- tokens & roles

def create_provider(code: str, name: str, schemes: list[str], now: int, *, categories: list[str] | None = None,
                    actor: str = "cli", name_zh: str | None = None) -> tuple[DataProvider, str]:
    code = code.strip().lower()
    if not PROVIDER_CODE_RE.match(code):
        raise APIError(400, "validation_error", "Provider code must be lower-case letters, digits and dashes.",
                       {"code": ["Like 'fuzhou-traffic-police'."]})
    rules = get_point_rules()
    unknown = [s for s in schemes if s not in rules.schemes]
    if not schemes or unknown:
        raise APIError(400, "validation_error", "Every scheme must have point rules (assets/point-rules/).",
                       {"schemes": [f"No point rules for {', '.join(unknown) or 'an empty list'}; "
                                    f"schemes with rules: {', '.join(sorted(rules.schemes))}."]})
    if categories:
        known = {c for s in schemes for c in rules.schemes[s].rules}
        bad = [c for c in categories if c not in known]
        if bad:
            raise APIError(400, "validation_error", "Unknown point-rule codes for these schemes.",
                           {"categories": [f"Unknown: {', '.join(bad)}."]})
    if db.session.scalars(select(DataProvider).where(DataProvider.code == code)).first() is not None:
        raise APIError(409, "conflict", f"A provider {code!r} already exists.", {"code": ["Already exists."]})
    raw = crypto.random_token("pp_dp_")
    p = DataProvider(code=code, name=name.strip(), name_zh=(name_zh or "").strip() or None,
                     token_hash=crypto.sha256_hex(raw), schemes=sorted(set(schemes)),
                     categories=sorted(set(categories)) if categories else None, created_at=now)
    db.session.add(p)
    db.session.flush()
    audit("operator", actor, "provider.created", "provider", code,
          {"schemes": p.schemes, "categories": p.categories}, now)
    db.session.commit()
    return p, raw


def rotate_provider_token(code: str, now: int, actor: str = "cli") -> tuple[DataProvider, str]:
    p = provider_by_code(code)
    raw = crypto.random_token("pp_dp_")
    p.token_hash = crypto.sha256_hex(raw)
    p.revoked_at = None
    audit("operator", actor, "provider.token_rotated", "provider", p.code, {}, now)
    db.session.commit()
    return p, raw


def provider_by_code(code: str) -> DataProvider:
    p = db.session.scalars(select(DataProvider).where(DataProvider.code == code)).first()
    if p is None:
        raise APIError(404, "not_found", f"unknown provider {code!r}", {})
    return p


def revoke_provider(code: str, now: int, actor: str = "cli") -> DataProvider:
    p = provider_by_code(code)
    if p.revoked_at is None:
        p.revoked_at = now
        audit("operator", actor, "provider.revoked", "provider", p.code, {}, now)
        db.session.commit()
    return p


def provider_for_token(raw: str) -> DataProvider | None:
    if not raw.startswith("pp_dp_"):
        return None
    p = db.session.scalars(select(DataProvider).where(DataProvider.token_hash == crypto.sha256_hex(raw))).first()
    return p


def provider_dict(p: DataProvider) -> dict:
    return {"code": p.code, "name": p.name, "name_zh": p.name_zh, "schemes": list(p.schemes), "categories": p.categories,
            "created_at": p.created_at, "last_seen_at": p.last_seen_at, "revoked_at": p.revoked_at}


def create_reviewer(name: str, now: int, actor: str = "cli") -> tuple[Reviewer, str]:
    name = name.strip()
    if not name or len(name) > 120:
        raise APIError(400, "validation_error", "A reviewer needs a name (up to 120 characters).", {"name": ["Required."]})
    if db.session.scalars(select(Reviewer).where(Reviewer.name == name)).first() is not None:
        raise APIError(409, "conflict", f"A reviewer named {name!r} already exists.", {"name": ["Already exists."]})
    raw = crypto.random_token("pp_rv_")
    r = Reviewer(name=name, token_hash=crypto.sha256_hex(raw), created_at=now)
    db.session.add(r)
    db.session.flush()
    audit("operator", actor, "reviewer.created", "reviewer", r.id, {"name": name}, now)
    db.session.commit()
    return r, raw


def reviewer_by_ref(ref: str | int) -> Reviewer:
    r = None
    if (isinstance(ref, int) or str(ref).isdigit()) and 0 < int(ref) <= 2 ** 31 - 1:
        r = db.session.get(Reviewer, int(ref))
    if r is None:
        r = db.session.scalars(select(Reviewer).where(Reviewer.name == str(ref))).first()
    if r is None:
        raise APIError(404, "not_found", f"unknown reviewer {ref!r}", {})
    return r


def revoke_reviewer(ref, now: int, actor: str = "cli") -> Reviewer:
    r = reviewer_by_ref(ref)
    if r.revoked_at is None:
        r.revoked_at = now
        audit("operator", actor, "reviewer.revoked", "reviewer", r.id, {}, now)
        db.session.commit()
    return r


def reviewer_for_token(raw: str) -> Reviewer | None:
    if not raw.startswith("pp_rv_"):
        return None
    return db.session.scalars(select(Reviewer).where(Reviewer.token_hash == crypto.sha256_hex(raw))).first()


def reviewer_dict(r: Reviewer) -> dict:
    return {"id": r.id, "name": r.name, "created_at": r.created_at, "revoked_at": r.revoked_at}


# ---------------------------------------------------------------------------------------- the arithmetic

@dataclass
class Line:
    event: ScoreEvent
    points: int      # what the event contributes when it counts
    counts: bool


@dataclass
class Replay:
    base: int
    total: int       # before clamping
    score: int
    lines: list[Line]

    @property
    def clamped(self) -> bool:
        return self.total != self.score


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, v))


def replay(events: list[ScoreEvent], cfg: SchemeConfig, rules: SchemeRules | None) -> Replay:
    """Score = base + the events that count, clamped to the range. An operator import is recorded as
    the change it made to the score shown at the time, so the running total is clamped at each import
    (keeping imports exact) and at the end. Events are taken in recording order."""
    total, lines = cfg.base, []
    for i, e in enumerate(events):
        if e.kind == "join":
            lines.append(Line(e, 0, True))
            continue
        points = (e.score_after - cfg.base) if (e.kind == "import" and i == 0) else e.delta
        # a disputed record counts exactly when it counted before the dispute (it had been confirmed):
        # the citizen's dispute neither raises nor lowers the score; the reviewer's decision does
        counts = e.status == "confirmed" or (e.status == "disputed" and e.confirmed_at is not None)
        if counts:
            if e.kind == "import" and i > 0:
                total = _clamp(total, cfg.min, cfg.max)
            total += points
        lines.append(Line(e, points, counts))
    return Replay(cfg.base, total, _clamp(total, cfg.min, cfg.max), lines)


def _events(membership_id: int, with_cases: bool = False) -> list[ScoreEvent]:
    stmt = select(ScoreEvent).where(ScoreEvent.membership_id == membership_id).order_by(ScoreEvent.id)
    if with_cases:
        stmt = stmt.options(selectinload(ScoreEvent.cases))
    return list(db.session.scalars(stmt))


def _lock_membership(membership_id: int) -> CitizenScheme:
    return db.session.scalars(select(CitizenScheme).where(CitizenScheme.id == membership_id)
                              .with_for_update(of=CitizenScheme)).one()


def recompute(m: CitizenScheme, now: int) -> tuple[int, int]:
    """Rewrite the cached score from the ledger. Returns (old, new). The caller commits."""
    cfg = get_catalogue().schemes[m.scheme.code]
    r = replay(_events(m.id), cfg, get_point_rules().schemes.get(cfg.code))
    old = m.score
    if r.score != old:
        m.score, m.updated_at = r.score, now
    return old, r.score


def recompute_many(ms: list[CitizenScheme], now: int) -> None:
    """:func:`recompute` for many memberships with one query for all their events."""
    if not ms:
        return
    by_m: dict[int, list[ScoreEvent]] = {m.id: [] for m in ms}
    ids = list(by_m)
    for i in range(0, len(ids), 500):
        for e in db.session.scalars(select(ScoreEvent).where(ScoreEvent.membership_id.in_(ids[i:i + 500]))
                                    .order_by(ScoreEvent.id)):
            by_m[e.membership_id].append(e)
    catalogue, rules = get_catalogue(), get_point_rules()
    for m in ms:
        cfg = catalogue.schemes[m.scheme.code]
        r = replay(by_m[m.id], cfg, rules.schemes.get(cfg.code))
        if r.score != m.score:
            m.score, m.updated_at = r.score, now


def recompute_all(now: int) -> dict:
    """Rebuild every cached score from the ledger (after a change of a scheme's base or rules)."""
    changed = checked = 0
    for m in db.session.scalars(select(CitizenScheme).order_by(CitizenScheme.id)):
        if m.scheme.code not in get_catalogue().schemes:
            continue
        checked += 1
        old, new = recompute(m, now)
        if old != new:
            changed += 1
    if changed:
        audit("system", "recompute", "scores.recomputed", "membership", "*", {"checked": checked, "changed": changed}, now)
    db.session.commit()
    return {"checked": checked, "changed": changed}


# ---------------------------------------------------------------------------------------- ingestion

@dataclass
class IngestResult:
    results: list[dict]

    def counts(self) -> dict:
        out = {"accepted": 0, "duplicate": 0, "not_enrolled": 0, "conflict": 0}
        for r in self.results:
            out[r["status"]] += 1
        return out


def forbidden_error(hits: dict[str, list[str]], what: str = "this batch") -> APIError:
    return APIError(422, "forbidden_data",
                    f"Refused: {what} carries a category of personal data that Perkpass never ingests "
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
    except APIError as exc:
        cats = categories_in(exc.fields)
        db.session.rollback()
        audit("provider", provider.code, "batch.refused_forbidden", "provider", provider.code,
              {"categories": cats, "events": len(raw_events) if isinstance(raw_events, list) else 0}, now)
        db.session.commit()
        raise


def _validate_semantics(provider: DataProvider, events: list[dict], rules: PointRules, now: int) -> None:
    errors: dict[str, list[str]] = {}
    for i, ev in enumerate(events):
        def err(k, msg):
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
        raise APIError(422, "invalid_events", "Some events are invalid; nothing of the batch was stored.", errors)


def _payload_hash(citizen_id: int, ev: dict) -> str:
    return crypto.sha256_hex(_canonical({"citizen": citizen_id, "scheme": ev["scheme"], "category": ev["category"],
                                         "points": ev["points"], "occurred_at": ev["occurred_at"],
                                         "reference": ev.get("reference"), "description": ev.get("description")}))


def _chunks(seq: list, n: int = 500):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _resolve_citizens(events: list[dict]) -> list[int | None]:
    """The citizen id of each event (None when nobody with that phone or id has opted in), in a
    few queries whatever the batch size."""
    from . import auth as auth_service
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


def ingest(provider: DataProvider, events: list[dict], now: int) -> IngestResult:
    """Record a provider's batch. All-or-nothing for invalid input; per event: ``accepted``,
    ``duplicate`` (same id, same content: nothing changes), ``conflict`` (same id, different
    content: nothing changes) or ``not_enrolled`` (no such member of the scheme: nothing stored)."""
    rules = get_point_rules()
    check_forbidden(events, rules)
    if provider.revoked_at is not None:
        raise APIError(403, "provider_revoked", "This provider's token has been revoked.", {})
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
    wanted = {(c, scheme_ids.get(ev["scheme"])) for ev, c in zip(events, citizen_ids) if c is not None}
    member_of: dict[tuple[int, int], int] = {}
    for chunk in _chunks(sorted({c for c, _ in wanted})):
        for mid, cid, sid in db.session.execute(select(CitizenScheme.id, CitizenScheme.citizen_id, CitizenScheme.scheme_id)
                                                .where(CitizenScheme.citizen_id.in_(chunk))):
            member_of[(cid, sid)] = mid
    plan = [(ev, member_of.get((c, scheme_ids.get(ev["scheme"]))) if c is not None else None, c)
            for ev, c in zip(events, citizen_ids)]
    # lock the memberships this batch touches, in id order (no deadlock between concurrent batches)
    memberships: dict[int, CitizenScheme] = {}
    for chunk in _chunks(sorted({mid for _, mid, _ in plan if mid is not None})):
        for m in db.session.scalars(select(CitizenScheme).where(CitizenScheme.id.in_(chunk)).order_by(CitizenScheme.id)
                                    .with_for_update(of=CitizenScheme)):
            memberships[m.id] = m
    existing: dict[str, ScoreEvent] = {}
    for chunk in _chunks([ev["id"] for ev, _, _ in plan]):
        for row in db.session.scalars(select(ScoreEvent).where(ScoreEvent.provider_id == provider.id,
                                                               ScoreEvent.provider_event_id.in_(chunk))):
            existing[row.provider_event_id] = row
    results: list[dict] = []
    new_rows: list[ScoreEvent] = []
    for ev, m_id, c_id in plan:
        if m_id is None or m_id not in memberships:
            results.append({"id": ev["id"], "status": "not_enrolled", "event_status": None})
            continue
        digest = _payload_hash(c_id, ev)
        prior = existing.get(ev["id"])
        if prior is not None:
            results.append({"id": ev["id"], "status": "duplicate" if prior.payload_sha256 == digest else "conflict",
                            "event_status": prior.status})
            continue
        pending = rules.schemes[ev["scheme"]].needs_review(ev["points"])
        row = ScoreEvent(membership_id=m_id, kind="point", delta=ev["points"], score_after=memberships[m_id].score,
                         source=f"provider:{provider.code}"[:120], reason=ev.get("description"),
                         occurred_at=ev["occurred_at"], recorded_at=now,
                         status="pending_review" if pending else "confirmed", provider_id=provider.id,
                         provider_event_id=ev["id"], category=ev["category"], reference=ev.get("reference"),
                         payload_sha256=digest, confirmed_at=None if pending else now)
        existing[ev["id"]] = row
        new_rows.append(row)
        results.append({"id": ev["id"], "status": "accepted", "event_status": row.status})
    if new_rows:
        db.session.add_all(new_rows)
        db.session.flush()  # one batch of inserts; ids assigned
        db.session.add_all([LedgerCase(event_id=r.id, reason="pending_review", status="open", opened_at=now)
                            for r in new_rows if r.status == "pending_review"])
        audit_many([("provider", provider.code, "event.recorded", "score_event", r.id,
                      {"scheme": memberships[r.membership_id].scheme.code, "category": r.category, "points": r.delta,
                       "status": r.status}) for r in new_rows], now)  # no provider event id: it names a person at the provider
        touched = sorted({r.membership_id for r in new_rows if r.status == "confirmed"})
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
        raise APIError(404, "not_found", "No event with this id from this provider (or the citizen opted out).", {})
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
        raise APIError(404, "not_found", "No event with this id from this provider (or the citizen opted out).", {})
    m = _lock_membership(row.membership_id)
    db.session.refresh(row)
    if row.status in FINAL:
        raise APIError(409, "not_withdrawable", f"The event no longer counts (status {row.status}).", {})
    before = row.status
    text_ = f"{provider.name}: {reason.strip()}"
    case = next((c for c in row.cases if c.status == "open"), None)
    if case is None:
        case = LedgerCase(event_id=row.id, reason="withdrawal", status="decided", opened_at=now)
        db.session.add(case)
    case.status, case.decision, case.decision_reason, case.decided_at = "decided", "withdraw", text_, now
    row.status = "withdrawn"
    db.session.flush()
    audit("provider", provider.code, "event.withdrawn", "score_event", row.id,
          {"case": case.id, "from": before, "to": "withdrawn", "points": row.delta}, now)
    recompute(m, now)
    db.session.commit()
    return provider_event_status(provider, provider_event_id)


# ---------------------------------------------------------------------------------------- citizen view

def _window(rules: SchemeRules | None) -> int:
    days = rules.dispute_window_days if rules else int(current_app.config.get("PERKPASS_DISPUTE_WINDOW_DAYS", 10))
    return days * 86400


def _disputable_until(e: ScoreEvent, rules: SchemeRules | None) -> int | None:
    if e.kind == "join" or e.status in FINAL or e.status == "disputed":
        return None
    if any(c.reason == "dispute" or c.disputed_at is not None for c in e.cases):
        return None
    if e.status == "pending_review":
        return None  # open as long as it is pending (see can_dispute)
    return (e.confirmed_at or e.recorded_at) + _window(rules)


def can_dispute(e: ScoreEvent, rules: SchemeRules | None, now: int) -> bool:
    if e.kind == "join" or e.status in FINAL or e.status == "disputed":
        return False
    if any(c.reason == "dispute" or c.disputed_at is not None for c in e.cases):
        return False
    if e.status == "pending_review":
        return True
    return now <= (e.confirmed_at or e.recorded_at) + _window(rules)


def _providers_by_id(ids) -> dict[int, DataProvider]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(DataProvider).where(DataProvider.id.in_(ids)))}


def _case_public(c: LedgerCase) -> dict:
    return {"id": c.id, "reason": c.reason, "status": c.status, "opened_at": c.opened_at,
            "disputed_at": c.disputed_at, "statement": c.statement, "decision": c.decision,
            "decision_reason": c.decision_reason, "decided_at": c.decided_at}


_KIND_TITLES = {
    "join": {"en": "You joined the scheme at its base score", "zh-CN": "加入时的基础分"},
    "import": {"en": "Score imported by the city platform", "zh-CN": "城市平台导入的分数"},
}


def _event_public(line: Line, rules: SchemeRules | None, providers: dict, now: int) -> dict:
    e = line.event
    if e.kind == "point":
        rule = rules.rules.get(e.category) if rules else None
        title = dict(rule.title) if rule else {"en": e.category or "Point event", "zh-CN": e.category or "积分事件"}
        p = providers.get(e.provider_id)
        source = {"type": "provider", "code": p.code if p else None, "name": p.name if p else "(removed provider)",
                  "name_zh": p.name_zh if p else None}
    else:
        title = dict(_KIND_TITLES.get(e.kind, {"en": e.kind, "zh-CN": e.kind}))
        source = {"type": "citizen" if e.kind == "join" else "operator", "code": None,
                  "name": "You" if e.kind == "join" else e.source}
    cases = list(e.cases)
    return {"id": e.id, "kind": e.kind, "title": title, "category": e.category, "source": source,
            "points": line.points, "counts": line.counts and e.kind != "join", "status": e.status,
            "reference": e.reference, "description": e.reason, "occurred_at": e.occurred_at,
            "recorded_at": e.recorded_at, "can_dispute": can_dispute(e, rules, now),
            "disputable_until": _disputable_until(e, rules),
            "case": _case_public(cases[-1]) if cases else None}


def explain(m: CitizenScheme, now: int) -> dict | None:
    """The citizen's own explanation of one membership: score, band, perks and every event."""
    cfg = get_catalogue().schemes.get(m.scheme.code)
    if cfg is None:
        return None
    rules = get_point_rules().schemes.get(cfg.code)
    events = _events(m.id, with_cases=True)
    r = replay(events, cfg, rules)
    providers = _providers_by_id(e.provider_id for e in events)
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
        "pending_points": sum(ln.points for ln in r.lines if ln.event.status == "pending_review"),
        "frozen_points": sum(ln.points for ln in r.lines if ln.event.status == "disputed" and not ln.counts),
        "dispute_window_days": (rules.dispute_window_days if rules else
                                int(current_app.config.get("PERKPASS_DISPUTE_WINDOW_DAYS", 10))),
        "review_policy": rules.review if rules else "none",
        "events": [_event_public(ln, rules, providers, now) for ln in reversed(r.lines)],
    }


def explain_citizen(citizen_id: int, now: int, scheme: str | None = None) -> list[dict]:
    stmt = (select(CitizenScheme).join(Scheme, Scheme.id == CitizenScheme.scheme_id)
            .where(CitizenScheme.citizen_id == citizen_id).order_by(Scheme.code))
    if scheme is not None:
        stmt = stmt.where(Scheme.code == scheme)
    return [x for x in (explain(m, now) for m in db.session.scalars(stmt)) if x is not None]


MAX_ID = 2 ** 31 - 1  # INTEGER primary keys: a larger id cannot exist (and would overflow the query)


def _citizen_event(citizen_id: int, event_id: int, lock: bool = False) -> ScoreEvent:
    if not 0 < event_id <= MAX_ID:
        raise APIError(404, "not_found", "No such event in your ledger.", {})
    stmt = (select(ScoreEvent).join(CitizenScheme, CitizenScheme.id == ScoreEvent.membership_id)
            .where(ScoreEvent.id == event_id, CitizenScheme.citizen_id == citizen_id))
    if lock:
        stmt = stmt.with_for_update(of=ScoreEvent)
    e = db.session.scalars(stmt).first()
    if e is None:  # someone else's event looks exactly like a missing one
        raise APIError(404, "not_found", "No such event in your ledger.", {})
    return e


def open_dispute(citizen_id: int, citizen_public_id: str, event_id: int, statement: str, now: int) -> dict:
    e = _citizen_event(citizen_id, event_id)
    m = _lock_membership(e.membership_id)
    db.session.refresh(e)
    rules = get_point_rules().schemes.get(m.scheme.code)
    if e.kind == "join":
        raise APIError(409, "not_disputable", "Joining at the base score is not a record that can be disputed.", {})
    if e.status in FINAL:
        raise APIError(409, "not_disputable", "This record no longer counts; there is nothing to dispute.", {})
    if e.status == "disputed" or any(c.reason == "dispute" or c.disputed_at is not None for c in e.cases):
        raise APIError(409, "already_disputed", "You have already disputed this record; a reviewer decides once.", {})
    if not can_dispute(e, rules, now):
        until = _disputable_until(e, rules)
        raise APIError(422, "dispute_window_closed",
                       f"Records can be disputed within {_window(rules) // 86400} days; this one could be "
                       "disputed until the time in fields.disputable_until.",
                       {"disputable_until": [str(until)]})
    before = e.status
    open_case = next((c for c in e.cases if c.status == "open"), None)
    if open_case is not None:  # a pending negative: the citizen's words join the case already open
        open_case.statement, open_case.disputed_at = statement, now
        case = open_case
    else:
        case = LedgerCase(event_id=e.id, reason="dispute", status="open", opened_at=now, statement=statement,
                          disputed_at=now)
        db.session.add(case)
    e.status = "disputed"
    db.session.flush()
    # the audit log outlives an opt-out, so it names no citizen (the event id points at nothing once
    # the ledger is deleted) and carries no points of the citizen's own
    audit("citizen", "owner", "event.disputed", "score_event", e.id,
          {"case": case.id, "from": before, "to": "disputed"}, now)
    recompute(m, now)
    db.session.commit()
    return explain_event(citizen_id, e.id, now)


def explain_event(citizen_id: int, event_id: int, now: int) -> dict:
    e = _citizen_event(citizen_id, event_id)
    m = db.session.get(CitizenScheme, e.membership_id)
    cfg = get_catalogue().schemes[m.scheme.code]
    rules = get_point_rules().schemes.get(cfg.code)
    r = replay(_events(m.id), cfg, rules)
    line = next(ln for ln in r.lines if ln.event.id == e.id)
    out = _event_public(line, rules, _providers_by_id([e.provider_id]), now)
    out["scheme"] = cfg.code
    return out


# ---------------------------------------------------------------------------------------- reviewer view

def _case_for_reviewer(c: LedgerCase, providers: dict, schemes: dict[int, str]) -> dict:
    e = c.event
    scheme = schemes.get(e.membership_id)
    rules = get_point_rules().schemes.get(scheme) if scheme else None
    rule = rules.rules.get(e.category) if (rules and e.category) else None
    p = providers.get(e.provider_id)
    return {
        "id": c.id, "reason": c.reason, "status": c.status, "opened_at": c.opened_at,
        "disputed": c.disputed_at is not None, "disputed_at": c.disputed_at, "statement": c.statement,
        "decision": c.decision, "decision_reason": c.decision_reason, "decided_at": c.decided_at,
        "reviewer": c.reviewer.name if c.reviewer is not None else None,
        "event": {"id": e.id, "scheme": scheme, "kind": e.kind, "category": e.category,
                  "title": dict(rule.title) if rule else _KIND_TITLES.get(e.kind, {"en": e.kind, "zh-CN": e.kind}),
                  "points": e.delta, "status": e.status, "reference": e.reference, "description": e.reason,
                  "occurred_at": e.occurred_at, "recorded_at": e.recorded_at,
                  "source": {"code": p.code, "name": p.name} if p else {"code": None, "name": e.source}},
    }


def _scheme_of_memberships(ids) -> dict[int, str]:
    ids = set(ids)
    if not ids:
        return {}
    stmt = (select(CitizenScheme.id, Scheme.code).join(Scheme, Scheme.id == CitizenScheme.scheme_id)
            .where(CitizenScheme.id.in_(ids)))
    return {mid: code for mid, code in db.session.execute(stmt)}


def queue(*, reason: str | None = None, scheme: str | None = None, status: str = "open", limit: int = 100) -> list[dict]:
    """Open cases, oldest first (disputes and pending negatives alike: first come, first decided)."""
    stmt = select(LedgerCase).where(LedgerCase.status == status)
    if status == "open":
        stmt = stmt.order_by(LedgerCase.opened_at, LedgerCase.id)
    else:
        stmt = stmt.order_by(LedgerCase.decided_at.desc(), LedgerCase.id.desc())
    if reason == "dispute":
        stmt = stmt.where(LedgerCase.disputed_at.is_not(None))
    elif reason == "pending_review":
        stmt = stmt.where(LedgerCase.reason == "pending_review", LedgerCase.disputed_at.is_(None))
    if scheme:
        stmt = (stmt.join(ScoreEvent, ScoreEvent.id == LedgerCase.event_id)
                .join(CitizenScheme, CitizenScheme.id == ScoreEvent.membership_id)
                .join(Scheme, Scheme.id == CitizenScheme.scheme_id).where(Scheme.code == scheme))
    cases = list(db.session.scalars(stmt.limit(limit)))
    providers = _providers_by_id(c.event.provider_id for c in cases)
    schemes = _scheme_of_memberships(c.event.membership_id for c in cases)
    return [_case_for_reviewer(c, providers, schemes) for c in cases]


def queue_counts() -> dict:
    rows = db.session.execute(select(LedgerCase.disputed_at.is_not(None), func.count())
                              .where(LedgerCase.status == "open").group_by(LedgerCase.disputed_at.is_not(None)))
    out = {"disputes": 0, "pending_review": 0}
    for disputed, n in rows:
        out["disputes" if disputed else "pending_review"] += n
    return out


def get_case(case_id: int) -> dict:
    c = db.session.get(LedgerCase, case_id) if 0 < case_id <= MAX_ID else None
    if c is None:
        raise APIError(404, "not_found", "No such case.", {})
    return _case_for_reviewer(c, _providers_by_id([c.event.provider_id]), _scheme_of_memberships([c.event.membership_id]))


def decide(case_id: int, reviewer: Reviewer, decision: str, reason: str, now: int) -> dict:
    """A person decides: ``confirm`` (the event counts) or ``reverse`` (it does not, for good)."""
    if decision not in ("confirm", "reverse"):
        raise APIError(400, "validation_error", "decision must be confirm or reverse.", {"decision": ["confirm or reverse"]})
    if len((reason or "").strip()) < 10:
        raise APIError(400, "validation_error", "Write the reason for the citizen (at least 10 characters).",
                       {"reason": ["At least 10 characters."]})
    if reviewer.revoked_at is not None:
        raise APIError(403, "reviewer_revoked", "This reviewer's token has been revoked.", {})
    c = db.session.get(LedgerCase, case_id) if 0 < case_id <= MAX_ID else None
    if c is None:
        raise APIError(404, "not_found", "No such case.", {})
    m = _lock_membership(c.event.membership_id)
    c = db.session.scalars(select(LedgerCase).where(LedgerCase.id == case_id).with_for_update()).one()
    db.session.refresh(c)
    if c.status != "open":
        raise APIError(409, "already_decided", f"Case {case_id} was already decided ({c.decision}).", {})
    e = c.event
    db.session.refresh(e)
    before = e.status
    if decision == "confirm":
        e.status = "confirmed"
        if e.confirmed_at is None:
            e.confirmed_at = now  # a pending event: the dispute window starts now
    else:
        e.status = "rejected" if (before == "pending_review" and c.disputed_at is None) else "reversed"
    c.status, c.decision, c.decision_reason = "decided", decision, reason.strip()
    c.reviewer_id, c.decided_at = reviewer.id, now
    db.session.flush()
    audit("reviewer", reviewer.name, "case.decided", "score_event", e.id,
          {"case": c.id, "decision": decision, "from": before, "to": e.status, "points": e.delta,
           "disputed": c.disputed_at is not None}, now)
    recompute(m, now)
    db.session.commit()
    return get_case(c.id)
