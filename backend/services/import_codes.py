"""The codes an operator score import may carry instead of prose (issue 19): **reason codes** (why a score is
set: annual recalculation, correction after a dispute, migration from a legacy system, …) and **source
systems** (where the scores come from, each with the schemes it may set).

An import row names one of each by code; what a citizen or a reviewer reads about the change is the code's
label, in their language. Free text cannot get in through an import because there is no field for it.

:func:`import_codes` is the one reader. Today the definitions are ``reason-codes.json`` and
``source-systems.json`` in the point-rules folder (``assets/point-rules/``); when the catalogue (approved
entries with four-eyes approval, issue 19) holds them, only this function changes.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from .perks import get_catalogue
from .screening import ForbiddenCategory, find_forbidden

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}\Z")
LANGUAGES = ("en", "zh-CN")
IMPORT = "import"  # reason codes whose applies_to names this may be given by an import


class ImportCodesError(ValueError):
    """A reason-code or source-system definition is unusable (the backend refuses to start with it)."""


@dataclass(frozen=True)
class ReasonCode:
    code: str
    label: Mapping[str, str]  # {"en": …, "zh-CN": …}


@dataclass(frozen=True)
class SourceSystem:
    code: str
    label: Mapping[str, str]
    schemes: frozenset[str]  # the schemes whose scores it may set


@dataclass(frozen=True)
class ImportCodes:
    reasons: Mapping[str, ReasonCode]
    sources: Mapping[str, SourceSystem]

    def label(self, code: str | None, language: str = "en") -> str | None:
        """The label of a reason code or source system in ``language`` (English if it has none)."""
        entry = self.reasons.get(code or "") or self.sources.get(code or "")
        if entry is None:
            return None
        return entry.label.get(language) or entry.label["en"]


def _label(raw, where: str, forbidden: Iterable[ForbiddenCategory]) -> dict[str, str]:
    if not isinstance(raw, dict) or any(not isinstance(raw.get(lang), str) or not raw[lang].strip()
                                        for lang in LANGUAGES):
        raise ImportCodesError(f"{where}: needs a label in {' and '.join(LANGUAGES)}")
    for lang in LANGUAGES:
        # the second line behind "codes, not prose": a label is prose people read, so it is screened too
        cat = find_forbidden(raw[lang], forbidden)
        if cat is not None:
            raise ImportCodesError(f"{where}: the {lang} label names forbidden data ({cat.code})")
    return {lang: raw[lang] for lang in LANGUAGES}


def _code(raw, where: str, seen: set[str]) -> str:
    if not isinstance(raw, str) or not CODE_RE.match(raw):
        raise ImportCodesError(f"{where}: code must be lower-case letters, digits and hyphens (at most 48)")
    if raw in seen:
        raise ImportCodesError(f"{where}: code {raw} is defined twice")
    seen.add(raw)
    return raw


def load_import_codes(directory: str | Path, schemes: Iterable[str],
                      forbidden: Iterable[ForbiddenCategory]) -> ImportCodes:
    """Read and check ``reason-codes.json`` and ``source-systems.json`` in ``directory``."""
    directory, schemes, forbidden = Path(directory), set(schemes), tuple(forbidden)
    try:
        reasons_raw = json.loads((directory / "reason-codes.json").read_text(encoding="utf-8"))["reason_codes"]
        sources_raw = json.loads((directory / "source-systems.json").read_text(encoding="utf-8"))["source_systems"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ImportCodesError(f"{directory}: reason-codes.json and source-systems.json are needed ({exc})") from exc
    seen: set[str] = set()  # one code space: a code names one thing, a reason or a source
    reasons: dict[str, ReasonCode] = {}
    for i, r in enumerate(reasons_raw):
        where = f"reason-codes.json entry {i + 1}"
        code = _code(r.get("code"), where, seen)
        if IMPORT in (r.get("applies_to") or []):
            reasons[code] = ReasonCode(code, _label(r.get("label"), where, forbidden))
    sources: dict[str, SourceSystem] = {}
    for i, s in enumerate(sources_raw):
        where = f"source-systems.json entry {i + 1}"
        code = _code(s.get("code"), where, seen)
        served = s.get("schemes")
        if not isinstance(served, list) or not served or not set(served) <= schemes:
            raise ImportCodesError(f"{where}: schemes must list configured schemes ({', '.join(sorted(schemes))})")
        sources[code] = SourceSystem(code, _label(s.get("label"), where, forbidden), frozenset(served))
    if not reasons or not sources:
        raise ImportCodesError(f"{directory}: at least one import reason code and one source system are needed")
    return ImportCodes(reasons, sources)


def import_codes(app=None) -> ImportCodes:
    """The reason codes and source systems an import may name (loaded once per app)."""
    app = app or current_app
    codes = app.extensions.get("perkpass_import_codes")
    if codes is None:
        from .ledger import get_point_rules  # the forbidden categories, and the folder they share
        directory = app.config.get("PERKPASS_POINT_RULES_DIR") or str(
            Path(app.config["PERKPASS_SCHEMES_DIR"]).parent / "point-rules")
        codes = load_import_codes(directory, get_catalogue(app).schemes, get_point_rules(app).forbidden)
        app.extensions["perkpass_import_codes"] = codes
    return codes
