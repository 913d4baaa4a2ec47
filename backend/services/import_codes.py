"""The codes an operator score import may carry instead of prose (issue 19): **reason codes** (why a score is
set: annual recalculation, correction after a dispute, migration from a legacy system, …) and **source
systems** (where the scores come from, each with the schemes it may set).

An import row names one of each by code; what a citizen or a reviewer reads about the change is the code's
label, in their language. Free text cannot get in through an import because there is no field for it.

:func:`import_codes` is the one reader: the **approved catalogue entries** (backend/services/ledger/catalogue.py,
four eyes) of kind ``reason_code`` whose ``applies_to`` names ``import``, and of kind ``source_system`` with
the ``schemes`` they serve. ``assets/point-rules/reason-codes.json`` and ``source-systems.json`` only seed a
fresh catalogue (``init-db``); a code added to a file later waits for a second operator's approval.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .ledger import catalogue_entries

IMPORT = "import"  # reason codes whose applies_to names this may be given by an import


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


def import_codes() -> ImportCodes:
    """The reason codes and source systems an import may name now (read once per import: an approval takes
    effect for the next one)."""
    reasons = {e.code: ReasonCode(e.code, dict(e.labels)) for e in catalogue_entries("reason_code")
               if IMPORT in (e.data or {}).get("applies_to", [])}
    sources = {e.code: SourceSystem(e.code, dict(e.labels), frozenset((e.data or {}).get("schemes") or []))
               for e in catalogue_entries("source_system")}
    return ImportCodes(reasons, sources)
