"""The catalogue: the only place prose lives, and people approve it.

Rules (with their category), categories of data, data providers (their names and the registered format of
their references), source systems and reason codes are entries with labels in Chinese and English. Events,
imports and withdrawals carry only codes, numbers, dates and identifiers; what a citizen reads about them
comes from here, in their language.

An entry, or a change to one, is a :class:`~backend.models.CatalogueChange` that takes effect only when a
second, different operator approves it (four eyes). Proposals, approvals and rejections are kept (the
change rows) and appended to the hash-chained audit log (ids and codes, no text). Every label, code and
format is screened for forbidden categories of data (:mod:`backend.services.screening`, the second line: by
construction no other text reaches the ledger) before anything is stored; a hit stores nothing.

Seeds: on a fresh database :func:`seed_catalogue` (run by ``init-db``) records the point-rule files and
``assets/catalogue/`` as approved entries; later, an entry a file adds or changes becomes a pending change
proposed by ``rule-file`` for an operator to approve.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ...extensions import db
from ...models import CatalogueChange, CatalogueEntry, DataProvider
from ..errors import Conflict, Forbidden, ForbiddenData, InvalidInput, NotFound
from ..screening import find_forbidden
from . import references
from .audit import audit
from .rules import (CATEGORY_CODE_RE, RULE_RE, file_point_rules, get_point_rules, invalidate_point_rules,
                    rules_directory)

KINDS = ("category", "rule", "provider", "source_system", "reason_code")
REASON_USES = ("withdrawal", "import")
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
LOWER_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}\Z")  # the codes of backend/services/import_codes.py
PROVIDER_CODE_RE = re.compile(r"^[a-z][a-z0-9-]{1,47}\Z")
_CODE_RES = {"category": CATEGORY_CODE_RE, "rule": RULE_RE, "provider": PROVIDER_CODE_RE,
             "source_system": LOWER_CODE_RE, "reason_code": LOWER_CODE_RE}
_CODE_HELP = {"category": "lower-case like traffic", "rule": "UPPER-CASE like OFFENCE-MINOR",
              "provider": "lower-case like fuzhou-traffic-police",
              "source_system": "lower-case like fuzhou-credit-platform", "reason_code": "lower-case like sent-in-error"}
LANGS = ("en", "zh-CN")
LABEL_MAX = 200
_CTRL = re.compile(r"[\x00-\x1f\x7f]")
SEED_ACTOR, FILE_ACTOR = "seed:assets", "rule-file"


# ------------------------------------------------------------------ checks

def _labels(labels) -> dict:
    if not isinstance(labels, dict) or set(labels) != set(LANGS):
        raise InvalidInput("Labels are exactly en and zh-CN.", {"labels": ["Give en and zh-CN."]})
    out = {}
    for lang in LANGS:
        v = labels[lang]
        if not isinstance(v, str) or not v.strip() or len(v) > LABEL_MAX or _CTRL.search(v):
            raise InvalidInput(f"Label {lang}: 1 to {LABEL_MAX} characters, no control characters.",
                               {f"labels.{lang}": ["Bad label."]})
        out[lang] = v.strip()
    return out


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _data(kind: str, scope: str, data) -> dict:
    """The kind's data, checked; unknown keys refused."""
    data = data or {}
    if not isinstance(data, dict):
        raise InvalidInput("data must be an object.", {"data": ["Not an object."]})
    allowed = {"rule": {"category", "min", "max"}, "provider": {"reference_format"},
               "reason_code": {"applies_to"}, "source_system": {"schemes"}}.get(kind, set())
    extra = sorted(set(data) - allowed)
    if extra:
        raise InvalidInput(f"Unknown data fields for a {kind}.", {"data": [f"Unknown: {len(extra)} field(s)."]})
    if kind == "rule":
        files = file_point_rules()
        if scope not in files.schemes:
            raise InvalidInput("A rule belongs to a scheme with point rules.",
                               {"scope": [f"One of {', '.join(sorted(files.schemes))}."]})
        if data.get("category") not in get_point_rules().categories:
            raise InvalidInput("A rule needs an approved category of data.",
                               {"data.category": [f"One of {', '.join(get_point_rules().categories)}."]})
        lo, hi = data.get("min"), data.get("max")
        if not (isinstance(lo, int) and isinstance(hi, int) and _is_int(lo) and _is_int(hi) and lo <= hi and lo != 0
                and hi != 0 and (lo > 0) == (hi > 0)):
            raise InvalidInput("Points are non-zero integers of one sign, min <= max.", {"data.min": ["Bad points."]})
        from ..perks import get_catalogue
        cfg = get_catalogue().schemes[scope]
        span = cfg.max - cfg.min
        if lo < -span or hi > span:
            raise InvalidInput("Points larger than the scheme's range.", {"data.max": ["Too large."]})
        return {"category": data["category"], "min": lo, "max": hi}
    if kind == "provider":
        return {"reference_format": references.check_format(data.get("reference_format"))}
    if kind == "reason_code":
        uses = data.get("applies_to")
        if not (isinstance(uses, list) and uses and all(u in REASON_USES for u in uses)):
            raise InvalidInput("applies_to lists withdrawal and/or import.", {"data.applies_to": ["Bad list."]})
        return {"applies_to": sorted(set(uses))}
    if kind == "source_system":
        from ..perks import get_catalogue
        schemes = data.get("schemes")
        known = get_catalogue().schemes
        if not (isinstance(schemes, list) and schemes and all(isinstance(x, str) and x in known for x in schemes)):
            raise InvalidInput("A source system lists the schemes whose scores it may set.",
                               {"data.schemes": [f"Some of {', '.join(sorted(known))}."]})
        return {"schemes": sorted(set(schemes))}
    return {}


def screen_entry(kind: str, scope: str, code: str, labels: dict, data: dict) -> None:
    """The second line: refuse (422 forbidden_data) an entry whose code, label or data names a forbidden
    category of personal data, in any language or disguise the screen knows. Nothing is stored."""
    forbidden = get_point_rules().forbidden
    texts = {"code": code, "scope": scope, **{f"labels.{k}": v for k, v in labels.items()},
             **{f"data.{k}": v for k, v in data.items() if isinstance(v, str)}}
    hits: dict[str, list[str]] = {}
    for where, text_ in texts.items():
        cat = find_forbidden(text_, forbidden)
        if cat is not None:
            hits[where] = [f"Names forbidden data ({cat.code})."]
    if not hits:  # split across fields ("Blood" + "type AB"): the fields read together, in both orders
        values = [v for v in texts.values() if v]
        for joined in (" ".join(values), " ".join(reversed(values))):
            cat = find_forbidden(joined, forbidden)
            if cat is not None:
                hits["entry"] = [f"Its fields together name forbidden data ({cat.code})."]
                break
    if hits:
        cats = sorted({m.rsplit("(", 1)[1].rstrip(").") for ms in hits.values() for m in ms})
        raise ForbiddenData(f"Refused: this catalogue entry names a category of personal data that Perkpass never "
                            f"uses ({', '.join(cats)}). Nothing of it was stored.", hits)


def _checked(kind: str, scope: str, code: str, labels, data) -> tuple[str, str, dict, dict]:
    if kind not in KINDS:
        raise InvalidInput(f"kind is one of {', '.join(KINDS)}.", {"kind": ["Unknown kind."]})
    scope = scope or ""
    if kind != "rule" and scope:
        raise InvalidInput("Only a rule has a scope (its scheme).", {"scope": ["Leave empty."]})
    if not isinstance(code, str) or not _CODE_RES[kind].match(code):
        raise InvalidInput(f"A {kind} code is {_CODE_HELP[kind]}.", {"code": ["Bad code."]})
    labels = _labels(labels)
    data = _data(kind, scope, data)
    screen_entry(kind, scope, code, labels, data)
    return scope, code, labels, data


def check(*, kind: str, code: str, labels, data, scope: str = "") -> None:
    """Refuse (nothing stored) an entry that :func:`propose` would refuse, before the caller stores anything."""
    _checked(kind, scope, code, labels, data)


# ------------------------------------------------------------------ reading

def entry(kind: str, code: str, scope: str = "") -> CatalogueEntry | None:
    return db.session.scalars(select(CatalogueEntry).where(CatalogueEntry.kind == kind, CatalogueEntry.scope == scope,
                                                           CatalogueEntry.code == code)).first()


def entries(kind: str | None = None) -> list[CatalogueEntry]:
    stmt = select(CatalogueEntry).order_by(CatalogueEntry.kind, CatalogueEntry.scope, CatalogueEntry.code)
    if kind:
        stmt = stmt.where(CatalogueEntry.kind == kind)
    return list(db.session.scalars(stmt))


def reason_codes(use: str) -> dict[str, dict]:
    """Approved reason codes for ``use`` (withdrawal or import): code -> labels."""
    return {e.code: dict(e.labels) for e in entries("reason_code") if use in (e.data or {}).get("applies_to", [])}


def source_systems() -> dict[str, dict]:
    """Approved source systems: code -> labels."""
    return {e.code: dict(e.labels) for e in entries("source_system")}


def provider_formats(provider_codes) -> dict[str, str]:
    """The approved reference format of each of these providers (missing: not approved, so it cannot send)."""
    codes = sorted(set(provider_codes))
    if not codes:
        return {}
    rows = db.session.scalars(select(CatalogueEntry).where(CatalogueEntry.kind == "provider",
                                                           CatalogueEntry.code.in_(codes)))
    return {e.code: e.data["reference_format"] for e in rows}


def provider_labels(provider_codes) -> dict[str, dict]:
    codes = sorted(set(c for c in provider_codes if c))
    if not codes:
        return {}
    rows = db.session.scalars(select(CatalogueEntry).where(CatalogueEntry.kind == "provider",
                                                           CatalogueEntry.code.in_(codes)))
    return {e.code: dict(e.labels) for e in rows}


def entry_dict(e: CatalogueEntry) -> dict:
    return {"kind": e.kind, "scope": e.scope, "code": e.code, "labels": dict(e.labels), "data": dict(e.data or {}),
            "change_id": e.change_id, "approved_at": e.approved_at}


def change_dict(c: CatalogueChange, viewer: str | None = None) -> dict:
    current = entry(c.kind, c.code, c.scope)
    return {"id": c.id, "kind": c.kind, "scope": c.scope, "code": c.code, "labels": dict(c.labels),
            "data": dict(c.data or {}), "status": c.status, "proposed_by": c.proposed_by, "proposed_at": c.proposed_at,
            "decided_by": c.decided_by, "decided_at": c.decided_at,
            "current": entry_dict(current) if current is not None else None,
            "can_decide": viewer is not None and c.status == PENDING and viewer != c.proposed_by}


def changes(status: str | None = PENDING, limit: int = 200) -> list[CatalogueChange]:
    stmt = select(CatalogueChange).order_by(CatalogueChange.id.desc() if status != PENDING else CatalogueChange.id)
    if status:
        stmt = stmt.where(CatalogueChange.status == status)
    return list(db.session.scalars(stmt.limit(limit)))


# ------------------------------------------------------------------ changing

def propose(kind: str, code: str, labels, data, actor: str, now: int, *, scope: str = "",
            commit: bool = True) -> CatalogueChange:
    """Record a proposed entry or change (pending). Refused, with nothing stored, when invalid or when it
    names forbidden data; 409 when a change of the same entry is already waiting."""
    scope, code, labels, data = _checked(kind, scope, code, labels, data)
    waiting = db.session.scalars(select(CatalogueChange).where(
        CatalogueChange.kind == kind, CatalogueChange.scope == scope, CatalogueChange.code == code,
        CatalogueChange.status == PENDING)).first()
    if waiting is not None:
        raise Conflict(f"A change of this {kind} is already waiting for approval (change {waiting.id}).",
                       {"code": ["Pending change exists."]}, code="change_pending")
    c = CatalogueChange(kind=kind, scope=scope, code=code, labels=labels, data=data, status=PENDING,
                        proposed_by=actor[:64], proposed_at=now)
    db.session.add(c)
    db.session.flush()
    audit("operator", actor, "catalogue.proposed", "catalogue_change", c.id,
          {"kind": kind, "scope": scope, "code": code}, now)
    if commit:
        db.session.commit()
    return c


def _apply(c: CatalogueChange, now: int) -> CatalogueEntry:
    e = entry(c.kind, c.code, c.scope)
    if e is None:
        e = CatalogueEntry(kind=c.kind, scope=c.scope, code=c.code, labels=c.labels, data=c.data, change_id=c.id,
                           approved_at=now)
        db.session.add(e)
    else:
        e.labels, e.data, e.change_id, e.approved_at = dict(c.labels), dict(c.data or {}), c.id, now
    if c.kind == "provider":  # the provider row's names follow its approved entry (what the console lists)
        p = db.session.scalars(select(DataProvider).where(DataProvider.code == c.code)).first()
        if p is not None:
            p.name, p.name_zh = c.labels["en"], c.labels["zh-CN"]
    return e


def decide_change(change_id: int, approve: bool, actor: str, now: int) -> CatalogueChange:
    """A second operator approves (the entry takes effect at once) or rejects a pending change. The
    proposer cannot decide their own change (403 four_eyes)."""
    c = db.session.get(CatalogueChange, change_id) if 0 < change_id < 2 ** 31 else None
    if c is None:
        raise NotFound("No such catalogue change.")
    if c.status != PENDING:
        raise Conflict(f"This change was already {c.status}.", code="already_decided")
    if actor == c.proposed_by:
        raise Forbidden("Four eyes: a change takes effect only when a different operator approves it.",
                        code="four_eyes")
    if approve:
        # what it relies on may have changed since it was proposed (a rule's category): check again
        _checked(c.kind, c.scope, c.code, c.labels, c.data)
        _apply(c, now)
    c.status, c.decided_by, c.decided_at = (APPROVED if approve else REJECTED), actor[:64], now
    audit("operator", actor, "catalogue.approved" if approve else "catalogue.rejected", "catalogue_change", c.id,
          {"kind": c.kind, "scope": c.scope, "code": c.code}, now)
    db.session.commit()
    invalidate_point_rules()
    return c


# ------------------------------------------------------------------ seeds

def _read(path: Path, key: str) -> list[dict]:
    if not path.exists():
        return []
    return list(json.loads(path.read_text(encoding="utf-8")).get(key) or [])


def seed_items(directory: Path | None = None) -> list[tuple[str, str, str, dict, dict]]:
    """(kind, scope, code, labels, data) of the point-rule files (categories, rules, reason codes, source
    systems)."""
    directory = directory or rules_directory()
    files = file_point_rules()
    out: list[tuple[str, str, str, dict, dict]] = []
    for c in files.categories.values():
        out.append(("category", "", c.code, dict(c.label), {}))
    for scheme, sr in sorted(files.schemes.items()):
        for r in sr.rules.values():
            out.append(("rule", scheme, r.code, dict(r.title), {"category": r.category, "min": r.min, "max": r.max}))
    for s in _read(directory / "source-systems.json", "source_systems"):
        out.append(("source_system", "", s["code"], dict(s["label"]), {"schemes": sorted(s.get("schemes") or [])}))
    for name in ("reason-codes.json", "withdrawal-reasons.json"):
        for rc in _read(directory / name, "reason_codes"):
            out.append(("reason_code", "", rc["code"], dict(rc["label"]), {"applies_to": sorted(rc["applies_to"])}))
    return out


def seed_catalogue(now: int, directory: Path | None = None) -> dict:
    """A fresh catalogue gets the files' entries as approved (recorded as proposed by ``seed:assets``). On a
    catalogue that has entries, what a file adds or changes becomes a pending change proposed by
    ``rule-file`` (any operator approves it); nothing takes effect by editing a file. Idempotent."""
    fresh = db.session.scalars(select(CatalogueEntry.id).limit(1)).first() is None
    approved = proposed = 0
    items = seed_items(directory)
    for kind, scope, code, labels, data in sorted(items, key=lambda i: KINDS.index(i[0])):
        e = entry(kind, code, scope)
        if e is not None and e.labels == labels and (e.data or {}) == data:
            continue
        waiting = db.session.scalars(select(CatalogueChange).where(
            CatalogueChange.kind == kind, CatalogueChange.scope == scope, CatalogueChange.code == code,
            CatalogueChange.status == PENDING)).first()
        if waiting is not None:
            continue
        if fresh:
            seed_approved(kind, code, labels, data, now, scope=scope)
            approved += 1
        else:
            propose(kind, code, labels, data, FILE_ACTOR, now, scope=scope, commit=False)
            proposed += 1
    db.session.commit()
    invalidate_point_rules()
    return {"approved": approved, "proposed": proposed}


def seed_approved(kind: str, code: str, labels, data, now: int, *, scope: str = "",
                  actor: str = SEED_ACTOR) -> CatalogueEntry:
    """An entry recorded as approved without a second person: only for the shipped seeds (the files of a
    fresh database, the demo's providers). The caller commits."""
    scope, code, labels, data = _checked(kind, scope, code, labels, data)
    c = CatalogueChange(kind=kind, scope=scope, code=code, labels=labels, data=data, status=APPROVED,
                        proposed_by=actor, proposed_at=now, decided_by=actor, decided_at=now)
    db.session.add(c)
    db.session.flush()
    e = _apply(c, now)
    audit("system", actor, "catalogue.seeded", "catalogue_change", c.id, {"kind": kind, "scope": scope, "code": code},
          now)
    invalidate_point_rules(current_app)
    return e
