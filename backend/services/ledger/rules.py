"""Point rules. The files ``assets/point-rules/<scheme>.json`` (each scheme's review policy and dispute window,
and its rules), ``categories.json`` (the categories of data a rule may be about) and ``forbidden.json`` (the
categories never ingested) are loaded once per app; a bad file fails loudly. The rules and categories *in
effect* are the approved catalogue entries (:mod:`.catalogue`): the files only seed the catalogue, and a rule
added to a file later waits for a second operator's approval like any other change."""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from ...settings import settings_of
from ...extensions import db
from ...models import CatalogueEntry
from ..perks import Catalogue, SchemeConfig, get_catalogue
from ..screening import ForbiddenCategory, find_forbidden, load_categories
from .statuses import REVIEW_POLICIES, ReviewPolicy

RULE_RE = re.compile(r"^[A-Z][A-Z0-9-]{1,47}\Z")
CATEGORY_CODE_RE = re.compile(r"^[a-z][a-z0-9-]{1,47}\Z")
# files of the folder that seed other catalogue entries (reason codes, source systems), not a scheme's rules
NOT_SCHEME_FILES = ("reason-codes.json", "withdrawal-reasons.json", "source-systems.json")


class PointRulesError(ValueError):
    """The point-rules configuration is invalid."""


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
    review: ReviewPolicy
    dispute_window_days: int
    while_disputed: str
    rules: dict[str, Rule]
    about: str = ""

    def needs_review(self, points: int) -> bool:
        return self.review == ReviewPolicy.ALL or (self.review == ReviewPolicy.NEGATIVE and points < 0)


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
        _need(isinstance(label, dict) and bool(label.get("en") and label.get("zh-CN")), w, "needs label en and zh-CN")
        bad = next((b for b in (out.forbidden_match(t) for t in (c["code"], label["en"], label["zh-CN"])) if b), None)
        _need(bad is None, w, f"names a forbidden data category ({bad.code if bad else ''})")
        out.categories[c["code"]] = DataCategory(c["code"], {"en": label["en"], "zh-CN": label["zh-CN"]})
    _need(bool(out.categories), "categories.json", "lists no categories")
    for f in sorted(directory.glob("*.json")):
        if f.name in ("forbidden.json", "categories.json") or f.name in NOT_SCHEME_FILES:
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
        review = raw.get("review", ReviewPolicy.NEGATIVE)
        _need(review in REVIEW_POLICIES, where, f"review must be one of {', '.join(REVIEW_POLICIES)}")
        review = ReviewPolicy(review)
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
            _need(isinstance(title, dict) and bool(title.get("en") and title.get("zh-CN")), w,
                  "needs title en and zh-CN")
            rules[r["code"]] = Rule(r["code"], code, {"en": title["en"], "zh-CN": title["zh-CN"]}, lo, hi,
                                    r["category"])
        _need(bool(rules), where, "lists no rules")
        out.schemes[code] = SchemeRules(code, review, window, wd, rules, raw.get("about") or "")
    return out


def rules_directory(app=None) -> Path:
    return settings_of(app or current_app).point_rules_dir


def file_point_rules(app=None) -> PointRules:
    """The point-rule files as loaded (the catalogue's seeds and the schemes' review settings)."""
    app = app or current_app
    rules = app.extensions.get("perkpass_point_rule_files")
    if rules is None:
        directory = rules_directory(app)
        rules = load_point_rules(directory, get_catalogue(app), settings_of(app).dispute_window_days)
        app.extensions["perkpass_point_rule_files"] = rules
    return rules


CACHE_SECONDS = 2.0  # another instance's approval takes effect here within this long


def invalidate_point_rules(app=None) -> None:
    """Forget the effective rules (after an approval in this process)."""
    (app or current_app).extensions.pop("perkpass_point_rules", None)


def _generation() -> tuple[int, int]:
    row = db.session.execute(select(func.max(CatalogueEntry.change_id), func.count(CatalogueEntry.id))).one()
    return int(row[0] or 0), int(row[1] or 0)


def _from_catalogue(files: PointRules) -> PointRules:
    """The rules in effect: the schemes' settings from the files, the rules and categories from the approved
    catalogue entries only (a rule in a file that no second operator approved does not count)."""
    out = PointRules({}, files.forbidden)
    entries = list(db.session.scalars(select(CatalogueEntry).where(CatalogueEntry.kind.in_(("rule", "category")))
                                      .order_by(CatalogueEntry.id)))
    for e in entries:
        if e.kind == "category":
            out.categories[e.code] = DataCategory(e.code, {"en": e.labels.get("en", ""),
                                                           "zh-CN": e.labels.get("zh-CN", "")})
    for code, sr in files.schemes.items():
        out.schemes[code] = SchemeRules(code, sr.review, sr.dispute_window_days, sr.while_disputed, {}, sr.about)
    for e in entries:
        if e.kind != "rule" or e.scope not in out.schemes:
            continue
        d = e.data or {}
        out.schemes[e.scope].rules[e.code] = Rule(e.code, e.scope, {"en": e.labels.get("en", ""),
                                                                   "zh-CN": e.labels.get("zh-CN", "")},
                                                  int(d["min"]), int(d["max"]), str(d.get("category") or ""))
    return out


def get_point_rules(app=None) -> PointRules:
    """The point rules in effect (:func:`_from_catalogue`), re-read when an approval changed the catalogue
    (checked at most every :data:`CACHE_SECONDS`)."""
    app = app or current_app
    files = file_point_rules(app)
    cached = app.extensions.get("perkpass_point_rules")
    t = time.monotonic()
    if cached is not None and cached[0] > t:
        return cached[2]
    gen = _generation()
    if cached is not None and cached[1] == gen:
        rules = cached[2]
    else:
        rules = _from_catalogue(files)
    app.extensions["perkpass_point_rules"] = (t + CACHE_SECONDS, gen, rules)
    return rules
