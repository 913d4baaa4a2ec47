"""Schemes and perks as configuration (assets/schemes/*.json), and the eligibility rules.

A perk rule is a threshold, ``{"min_score": N}`` or ``{"min_band": "CODE"}`` of its scheme, optionally closed
above by ``"max_band": "CODE"`` (a band range: a perk for those still building credit, say). A perk's
``usage`` says how often one citizen may use it at one venue: ``"visit"`` (the default: the venue type's
reuse interval), ``"day"`` or ``"month"``; verifiers learn it from the trust list (``usage_rules``) and
enforce what they can offline (docs/partner-sdk.md, "Usage rules"). Every perk's ``audience`` must be a venue
type of ``assets/venue-types.json``. Rules are public policy; a citizen's score never leaves the backend: only
perk codes (and, for perks that declare ``discloses_band``, the band code) go into a credential.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from collections.abc import Collection
from pathlib import Path
from typing import Any
from ..settings import settings_of

AUDIENCE_RE = re.compile(r"^[a-z][a-z0-9-]{1,31}\Z")
PERK_RE = re.compile(r"^[A-Z][A-Z0-9-]{1,31}\Z")
SCHEME_RE = re.compile(r"^[a-z][a-z0-9-]{1,31}\Z")
BAND_RE = re.compile(r"^[A-Z][A-Z0-9-]{0,23}\Z")
# a perk's usage rule -> seconds a verifier refuses the same citizen the same perk after a grant at one gate
# (0: the venue type's own reuse interval, "once per visit")
USAGE_SECONDS = {"visit": 0, "day": 86_400, "month": 30 * 86_400}
_RULE_KEYS = frozenset({"min_score", "min_band", "max_band"})


class CatalogueError(ValueError):
    """The scheme configuration is invalid."""


@dataclass(frozen=True)
class Band:
    code: str
    min: int
    label: dict


@dataclass(frozen=True)
class Perk:
    code: str
    audience: str
    scheme: str
    title: dict
    min_score: int
    rule: dict
    discloses_band: bool = False
    max_score: int | None = None   # a band range's top (inclusive); None: no upper bound
    usage: str = "visit"

    def applies_to(self, score: int) -> bool:
        return score >= self.min_score and (self.max_score is None or score <= self.max_score)

    def public(self) -> dict:
        return {"code": self.code, "audience": self.audience, "scheme": self.scheme, "title": dict(self.title),
                "usage": self.usage}


@dataclass
class SchemeConfig:
    code: str
    name: dict
    city: dict
    min: int
    max: int
    base: int
    bands: list[Band]
    perks: list[Perk]
    sha256: str
    raw: dict = field(repr=False, default_factory=dict)

    def band_for(self, score: int) -> Band:
        current = self.bands[0]
        for band in self.bands:
            if score >= band.min:
                current = band
        return current

    def eligible(self, score: int, audience: str | None = None) -> list[Perk]:
        return [p for p in self.perks if p.applies_to(score) and (audience is None or p.audience == audience)]


def _need(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise CatalogueError(f"{where}: {msg}")


def _title(value, where) -> dict:
    _need(isinstance(value, dict) and isinstance(value.get("en"), str) and isinstance(value.get("zh-CN"), str)
          and value["en"] and value["zh-CN"], where, "needs non-empty 'en' and 'zh-CN' strings")
    return {"en": value["en"], "zh-CN": value["zh-CN"]}


def parse_scheme(raw: dict, where: str) -> SchemeConfig:
    _need(isinstance(raw, dict), where, "must be an object")
    # values straight from JSON: Any until _need has checked them
    code: Any = raw.get("code")
    _need(isinstance(code, str) and bool(SCHEME_RE.match(code)), where, "code must be lower-case like 'moli'")
    rng: dict[str, Any] = raw.get("range") or {}
    lo: Any = rng.get("min")
    hi: Any = rng.get("max")
    base: Any = raw.get("base")
    _need(all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi, base)), where,
          "range.min, range.max and base must be integers")
    _need(lo < hi and lo <= base <= hi, where, "needs range.min < range.max and base within the range")
    bands_raw: Any = raw.get("bands")
    _need(isinstance(bands_raw, list) and bool(bands_raw), where, "needs a non-empty bands list")
    bands: list[Band] = []
    for i, b in enumerate(bands_raw):
        w = f"{where} bands[{i}]"
        _need(isinstance(b, dict) and isinstance(b.get("code"), str) and bool(BAND_RE.match(b["code"])), w,
              "band code must be upper-case")
        _need(isinstance(b.get("min"), int) and lo <= b["min"] <= hi, w, "band min must be an integer within the range")
        if bands:
            _need(b["min"] > bands[-1].min, w, "bands must be listed from lowest to highest")
        bands.append(Band(b["code"], b["min"], _title(b.get("label"), w + " label")))
    _need(bands[0].min == lo, where, "the first band must start at range.min")
    band_min = {b.code: b.min for b in bands}
    perks: list[Perk] = []
    for i, p in enumerate(raw.get("perks") or []):
        w = f"{where} perks[{i}]"
        _need(isinstance(p, dict), w, "must be an object")
        pc = p.get("code")
        _need(isinstance(pc, str) and bool(PERK_RE.match(pc)), w,
              "code must be short and UPPER-CASE, e.g. MOLI-METRO20")
        aud = p.get("audience")
        _need(isinstance(aud, str) and bool(AUDIENCE_RE.match(aud)), w, "audience must be a venue type code")
        rule = p.get("rule")
        _need(isinstance(rule, dict) and not set(rule) - _RULE_KEYS and ("min_score" in rule) != ("min_band" in rule),
              w, "rule must be {'min_score': N} or {'min_band': 'CODE'}, optionally with 'max_band': 'CODE'")
        if "min_score" in rule:
            ms = rule["min_score"]
            _need(isinstance(ms, int) and not isinstance(ms, bool) and lo <= ms <= hi, w,
                  "min_score must be within the scheme range")
        else:
            _need(rule["min_band"] in band_min, w, f"unknown band {rule['min_band']!r}")
            ms = band_min[rule["min_band"]]
        top = None
        if "max_band" in rule:
            _need(rule["max_band"] in band_min, w, f"unknown band {rule['max_band']!r}")
            above = [b.min for b in bands if b.min > band_min[rule["max_band"]]]
            top = above[0] - 1 if above else hi
            _need(top >= ms, w, "max_band must not be below the rule's lowest score")
        usage = p.get("usage", "visit")
        _need(usage in USAGE_SECONDS, w, f"usage must be one of {sorted(USAGE_SECONDS)}")
        db_flag = p.get("discloses_band", False)
        _need(isinstance(db_flag, bool), w, "discloses_band must be true or false")
        unknown = set(p) - {"code", "audience", "rule", "title", "usage", "discloses_band"}
        _need(not unknown, w, f"unknown fields {sorted(unknown)}")
        perks.append(Perk(pc, aud, code, _title(p.get("title"), w + " title"), ms, dict(rule), db_flag, top, usage))
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return SchemeConfig(code, _title(raw.get("name"), where + " name"), raw.get("city") or {}, lo, hi, base,
                        bands, perks, digest, raw)


class Catalogue:
    def __init__(self, schemes: list[SchemeConfig], venue_types: Collection[str] | None = None):
        """``venue_types``: the registry's codes; a perk for any other venue type is refused (None: unchecked,
        for tools that read scheme files alone)."""
        self.schemes: dict[str, SchemeConfig] = {}
        self.perks: dict[str, Perk] = {}
        for s in schemes:
            if s.code in self.schemes:
                raise CatalogueError(f"scheme {s.code!r} defined twice")
            self.schemes[s.code] = s
            for p in s.perks:
                if p.code in self.perks:
                    raise CatalogueError(f"perk {p.code!r} defined twice")
                if venue_types is not None and p.audience not in venue_types:
                    raise CatalogueError(f"perk {p.code!r}: venue type {p.audience!r} is not in the venue type "
                                         f"registry (assets/venue-types.json)")
                self.perks[p.code] = p

    @classmethod
    def load(cls, directory: str | Path, venue_types: Collection[str] | None = None) -> Catalogue:
        directory = Path(directory)
        files = sorted(directory.glob("*.json"))
        if not files:
            raise CatalogueError(f"no scheme files (*.json) in {directory}")
        schemes = []
        for f in files:
            try:
                raw = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CatalogueError(f"{f.name}: cannot read JSON: {exc}") from exc
            schemes.append(parse_scheme(raw, f.name))
        return cls(schemes, venue_types)

    @property
    def audiences(self) -> list[str]:
        return sorted({p.audience for p in self.perks.values()})

    def trust_list_perks(self) -> dict:
        """The perk catalogue published in the trust list: code -> audience and titles only."""
        return {code: {"audience": p.audience, "title": dict(p.title)} for code, p in sorted(self.perks.items())}

    def usage_rules(self) -> dict[str, dict[str, int]]:
        """Venue type -> perk code -> seconds, for perks whose usage rule is longer than a visit (trust list)."""
        out: dict[str, dict[str, int]] = {}
        for code, p in sorted(self.perks.items()):
            if USAGE_SECONDS[p.usage]:
                out.setdefault(p.audience, {})[code] = USAGE_SECONDS[p.usage]
        return out


def get_catalogue(app=None) -> Catalogue:
    from flask import current_app
    app = app or current_app
    cat = app.extensions.get("perkpass_catalogue")
    if cat is None:
        from .venue_types import get_venue_types  # it imports this module's rules
        cat = Catalogue.load(str(settings_of(app).schemes_dir), get_venue_types(app).codes)
        app.extensions["perkpass_catalogue"] = cat
    return cat
