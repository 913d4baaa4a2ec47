"""The city's venue types as data: ``assets/venue-types.json`` (``PERKPASS_VENUE_TYPES_FILE``), issue 20.

One entry per venue type (the credential audience): its labels, its icon, its order on the citizen page, how
long a stale verifier keeps granting and what "once per visit" means there. Everything that shows or applies
a venue type reads it from here: the perk catalogue refuses a perk for a venue type not listed, venues are
created only for listed types, the citizen page and the console take labels, icons and order from the
catalogue API, and verifiers learn the policy from the trust list (``trust_list_member``), never from their
own code. Nothing outside ``assets/``, tests and demo data names a venue type.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partner_sdk import venue_policy

from ..settings import settings_of
from .perks import AUDIENCE_RE, CatalogueError

_TOP_KEYS = frozenset({"about", "venue_types"})
_ENTRY_KEYS = frozenset({"code", "label", "icon", "grace_after_next_update", "reuse_interval", "why"})
# SVG path data: commands, numbers, separators; nothing a browser could read as markup or a URL
_PATH_RE = re.compile(r"[MmLlHhVvCcSsQqTtAaZz0-9 .,\-]{1,600}")


@dataclass(frozen=True)
class VenueType:
    code: str
    label: dict[str, str]
    icon: tuple[str, ...]
    grace_after_next_update: int
    reuse_interval: int
    why: str

    def public(self) -> dict[str, Any]:
        """What the citizen page and the console read (the catalogue API)."""
        return {"code": self.code, "label": dict(self.label), "icon": list(self.icon)}


def _need(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise CatalogueError(f"{where}: {msg}")


def _seconds(value: Any, limit: int, where: str) -> int:
    _need(type(value) is int and 0 <= value <= limit, where, f"must be a whole number of seconds, 0..{limit}")
    return int(value)


def parse_registry(raw: Any, where: str) -> list[VenueType]:
    _need(type(raw) is dict and not set(raw) - _TOP_KEYS, where, "must be an object with 'venue_types'")
    entries = raw.get("venue_types")
    _need(type(entries) is list and bool(entries), where, "needs a non-empty venue_types list")
    out: list[VenueType] = []
    seen: set[str] = set()
    for i, e in enumerate(entries):
        w = f"{where} venue_types[{i}]"
        _need(type(e) is dict, w, "must be an object")
        unknown = set(e) - _ENTRY_KEYS
        _need(not unknown, w, f"unknown fields {sorted(unknown)} (allowed: {sorted(_ENTRY_KEYS)})")
        code = e.get("code")
        _need(type(code) is str and bool(AUDIENCE_RE.match(code)), w, "code must be lower-case like 'museum'")
        _need(code not in seen, w, f"venue type {code!r} listed twice")
        seen.add(code)
        w = f"{where} venue type {code!r}"
        label = e.get("label")
        _need(type(label) is dict and set(label) == set(venue_policy.LANGUAGES)
              and all(type(v) is str and 0 < len(v) <= venue_policy.MAX_LABEL_CHARS for v in label.values()),
              w, f"label needs 'en' and 'zh-CN', 1..{venue_policy.MAX_LABEL_CHARS} characters each")
        icon = e.get("icon")
        _need(type(icon) is list and 0 < len(icon) <= 8 and all(type(d) is str and _PATH_RE.fullmatch(d) for d in icon),
              w, "icon must be 1..8 SVG path strings (24x24 grid, drawn as strokes)")
        why = e.get("why", "")
        _need(type(why) is str, w, "why must be text")
        out.append(VenueType(
            code, {k: label[k] for k in venue_policy.LANGUAGES}, tuple(icon),
            _seconds(e.get("grace_after_next_update"), venue_policy.MAX_GRACE, w + " grace_after_next_update"),
            _seconds(e.get("reuse_interval"), venue_policy.MAX_REUSE_INTERVAL, w + " reuse_interval"), why))
    return out


class VenueTypes:
    """The registry, in display order."""

    def __init__(self, types: list[VenueType]):
        self.types = list(types)
        self.by_code = {t.code: t for t in self.types}

    @classmethod
    def load(cls, path: str | Path) -> VenueTypes:
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CatalogueError(f"{path.name}: cannot read JSON: {exc}") from exc
        return cls(parse_registry(raw, path.name))

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    @property
    def codes(self) -> list[str]:
        return [t.code for t in self.types]

    def label(self, code: str, language: str = "en") -> str:
        t = self.by_code.get(code)
        return t.label[language] if t is not None else code

    def public(self) -> list[dict[str, Any]]:
        return [t.public() for t in self.types]

    def policy(self, code: str) -> venue_policy.VenuePolicy:
        """The policy the backend's own views (console, trust-list monitor) apply: what the trust list says,
        and for a venue type not listed, what a verifier would fall back to."""
        t = self.by_code.get(code)
        if t is None:
            return venue_policy.policy_for({}, code)
        return venue_policy.VenuePolicy(code, t.grace_after_next_update, t.reuse_interval)

    def trust_list_member(self, perk_reuse: dict[str, dict[str, int]]) -> dict[str, Any]:
        """The trust list's ``venue_types`` member: each type's policy and the usage rules of its perks
        (``perk_reuse``: venue type -> perk code -> seconds, only perks that have a rule)."""
        return {t.code: {"label": dict(t.label), "grace_after_next_update": t.grace_after_next_update,
                         "reuse_interval": t.reuse_interval,
                         "perks": {p: {"reuse_interval": s} for p, s in sorted(perk_reuse.get(t.code, {}).items())}}
                for t in self.types}


def get_venue_types(app=None) -> VenueTypes:
    from flask import current_app
    app = app or current_app
    reg = app.extensions.get("perkpass_venue_types")
    if reg is None:
        reg = VenueTypes.load(str(settings_of(app).venue_types_file))
        app.extensions["perkpass_venue_types"] = reg
    return reg
