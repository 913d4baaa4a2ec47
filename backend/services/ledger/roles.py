"""Who may write to the ledger: data providers (departments that send score events) and reviewers
(people who decide cases). Their bearer tokens are shown once and stored as SHA-256 only; creating,
rotating and revoking them is audited."""
from __future__ import annotations

import re

from sqlalchemy import select

from ...extensions import db
from ...models import DataProvider, Reviewer
from .. import crypto
from ..errors import Conflict, InvalidInput, NotFound
from . import catalogue
from .audit import audit
from .rules import get_point_rules
from .scoring import MAX_ID

PROVIDER_CODE_RE = re.compile(r"^[a-z][a-z0-9-]{1,47}\Z")


def create_provider(code: str, name: str, schemes: list[str], now: int, *, categories: list[str] | None = None,
                    actor: str = "cli", name_zh: str | None = None,
                    reference_format: str | None = None) -> tuple[DataProvider, str]:
    """A provider account (its token, shown once) and a *proposed* catalogue entry with its names and the
    registered format of its references. It can send nothing until a second operator approves the entry.
    A name or format naming forbidden data is refused before anything is stored."""
    code = code.strip().lower()
    if not PROVIDER_CODE_RE.match(code):
        raise InvalidInput("Provider code must be lower-case letters, digits and dashes.",
                           {"code": ["Like 'fuzhou-traffic-police'."]})
    labels = {"en": (name or "").strip(), "zh-CN": (name_zh or name or "").strip()}
    data = {"reference_format": reference_format}
    catalogue.check(kind="provider", code=code, labels=labels, data=data)  # refused: nothing stored
    rules = get_point_rules()
    unknown = [s for s in schemes if s not in rules.schemes]
    if not schemes or unknown:
        raise InvalidInput("Every scheme must have point rules (assets/point-rules/).",
                           {"schemes": [f"No point rules for {', '.join(unknown) or 'an empty list'}; "
                                        f"schemes with rules: {', '.join(sorted(rules.schemes))}."]})
    if categories:
        known = {c for s in schemes for c in rules.schemes[s].rules}
        bad = [c for c in categories if c not in known]
        if bad:
            raise InvalidInput("Unknown point-rule codes for these schemes.",
                               {"categories": [f"Unknown: {', '.join(bad)}."]})
    if db.session.scalars(select(DataProvider).where(DataProvider.code == code)).first() is not None:
        raise Conflict(f"A provider {code!r} already exists.", {"code": ["Already exists."]})
    raw = crypto.random_token("pp_dp_")
    # the names live in the catalogue; the row shows the code until the entry is approved
    p = DataProvider(code=code, name=code, name_zh=None,
                     token_hash=crypto.sha256_hex(raw), schemes=sorted(set(schemes)),
                     categories=sorted(set(categories)) if categories else None, created_at=now)
    db.session.add(p)
    db.session.flush()
    audit("operator", actor, "provider.created", "provider", code,
          {"schemes": p.schemes, "categories": p.categories}, now)
    catalogue.propose("provider", code, labels, data, actor, now, commit=False)
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
        raise NotFound(f"unknown provider {code!r}")
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
    e = catalogue.entry("provider", p.code)
    return {"code": p.code, "name": p.name, "name_zh": p.name_zh, "approved": e is not None,
            "reference_format": e.data.get("reference_format") if e is not None else None, "schemes": list(p.schemes),
            "categories": p.categories, "created_at": p.created_at, "last_seen_at": p.last_seen_at,
            "revoked_at": p.revoked_at}


def create_reviewer(name: str, now: int, actor: str = "cli") -> tuple[Reviewer, str]:
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidInput("A reviewer needs a name (up to 120 characters).", {"name": ["Required."]})
    if db.session.scalars(select(Reviewer).where(Reviewer.name == name)).first() is not None:
        raise Conflict(f"A reviewer named {name!r} already exists.", {"name": ["Already exists."]})
    raw = crypto.random_token("pp_rv_")
    r = Reviewer(name=name, token_hash=crypto.sha256_hex(raw), created_at=now)
    db.session.add(r)
    db.session.flush()
    audit("operator", actor, "reviewer.created", "reviewer", r.id, {"name": name}, now)
    db.session.commit()
    return r, raw


def reviewer_by_ref(ref: str | int) -> Reviewer:
    r = None
    if (isinstance(ref, int) or str(ref).isdigit()) and 0 < int(ref) <= MAX_ID:
        r = db.session.get(Reviewer, int(ref))
    if r is None:
        r = db.session.scalars(select(Reviewer).where(Reviewer.name == str(ref))).first()
    if r is None:
        raise NotFound(f"unknown reviewer {ref!r}")
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


def providers_by_id(ids) -> dict[int, DataProvider]:
    """The providers of these ids (None ignored), in one query."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(DataProvider).where(DataProvider.id.in_(ids)))}
