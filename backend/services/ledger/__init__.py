"""The score ledger: every point has a source, a citizen can dispute it, a person decides.

* A membership's score is the scheme's base plus the events that count, clamped to the scheme's
  range. Events are ``join`` (the base, 0 points), ``import`` (an operator's absolute import,
  recorded as the change it made) and ``point`` (a data provider's event under a point rule of
  ``assets/point-rules/<scheme>.json``). The cached ``CitizenScheme.score`` is rewritten from the
  ledger whenever an event's status changes, so band, perks and the next credential follow at once.
* Statuses (:class:`EventStatus`): ``pending_review`` (a negative event waiting for a reviewer, per the
  scheme's ``review`` policy; it does not count), ``confirmed`` (counts), ``disputed`` (under review: a
  record that counted keeps counting, a pending one still does not; a dispute never changes a score),
  ``reversed`` (a reviewer upheld a dispute), ``rejected`` (a reviewer refused a pending event) and
  ``withdrawn`` (the provider withdrew its own event, with a reason). None of the last three counts again.
* Data providers send batches idempotent by their reference; an event is a rule code, numbers, a date and
  identifiers, never text (:mod:`.ingestion`); the reference matches the provider's registered format and is
  stored as a keyed digest (:mod:`.references`). What people read comes from the catalogue, approved by two
  operators (:mod:`.catalogue`); the forbidden-data screen is its second line.
* Every change is appended to the hash-chained audit log (ids, statuses, points; never a phone number,
  a score or a citizen's own words), by one function (:func:`.audit.append`).
* A request that cannot be met raises a domain error (:mod:`backend.services.errors`); the HTTP API and
  the command line map it.

Time (``now``) is always a parameter. The rooms, each importing only those above it:

    statuses   the words: event kinds and statuses, case reasons and statuses, decisions (StrEnums)
    references providers' reference formats and the keyed digest stored instead of a reference
    rules      point rules in effect (approved catalogue entries), the files, forbidden categories
    audit      the append-only, hash-chained audit log: the one way to append, reading, verifying
    catalogue  the only place prose lives: entries, four-eyes proposals and approvals, seeds
    scoring    the arithmetic: replay and recompute of cached scores
    roles      data providers and reviewers: tokens, creation, revocation
    ingestion  providers' batches and withdrawals
    citizen    the citizen's explanation of a score, and disputes
    review     the reviewers' queue and decisions

Callers import from this package (``from backend.services import ledger``), not from its modules.
"""
from __future__ import annotations

from .audit import GENESIS, append, audit, audit_dict, audit_many, audit_page, entry_hash, verify_audit
from .citizen import (KIND_TITLES, can_dispute, dispute_window, explain, explain_citizen, explain_event,
                      forget_statements, kind_title, open_dispute)
from .catalogue import (KINDS as CATALOGUE_KINDS, change_dict, changes as catalogue_changes, decide_change,
                        entries as catalogue_entries, entry as catalogue_entry, entry_dict, propose, provider_formats,
                        reason_codes, seed_approved, seed_catalogue, source_systems)
from .ingestion import (FUTURE_LEEWAY, IngestResult, check_events, ingest, provider_event_status, provider_format,
                        withdraw)
from .review import decide, get_case, queue, queue_counts
from .roles import (PROVIDER_CODE_RE, create_provider, create_reviewer, provider_by_code, provider_dict,
                    provider_for_token, providers_by_id, reviewer_by_ref, reviewer_dict, reviewer_for_token,
                    revoke_provider, revoke_reviewer, rotate_provider_token)
from .references import check_format as check_reference_format
from .references import digest as reference_digest
from .references import matches as reference_matches
from .references import reference_key
from .rules import (CATEGORY_CODE_RE, RULE_RE, DataCategory, PointRules, PointRulesError, Rule, SchemeRules,
                    file_point_rules, get_point_rules, invalidate_point_rules, load_point_rules)
from .scoring import MAX_ID, Line, Replay, lock_membership, recompute, recompute_all, recompute_many, replay
from .statuses import (FINAL, REVIEW_POLICIES, REVIEWER_DECISIONS, STATUSES, CaseReason, CaseStatus, Decision,
                       EventKind, EventStatus, IngestOutcome, ReviewPolicy)

__all__ = [
    # statuses
    "FINAL", "REVIEW_POLICIES", "REVIEWER_DECISIONS", "STATUSES", "CaseReason", "CaseStatus", "Decision",
    "EventKind", "EventStatus", "IngestOutcome", "ReviewPolicy",
    # rules
    "CATEGORY_CODE_RE", "RULE_RE", "DataCategory", "PointRules", "PointRulesError", "Rule", "SchemeRules",
    "file_point_rules", "get_point_rules", "invalidate_point_rules", "load_point_rules",
    # references
    "check_reference_format", "reference_digest", "reference_key", "reference_matches",
    # catalogue
    "CATALOGUE_KINDS", "catalogue_changes", "catalogue_entries", "catalogue_entry", "change_dict", "decide_change",
    "entry_dict", "propose", "provider_formats", "reason_codes", "seed_approved", "seed_catalogue", "source_systems",
    # audit
    "GENESIS", "append", "audit", "audit_dict", "audit_many", "audit_page", "entry_hash", "verify_audit",
    # scoring
    "MAX_ID", "Line", "Replay", "lock_membership", "recompute", "recompute_all", "recompute_many", "replay",
    # roles
    "PROVIDER_CODE_RE", "create_provider", "create_reviewer", "provider_by_code", "provider_dict",
    "provider_for_token", "providers_by_id", "reviewer_by_ref", "reviewer_dict", "reviewer_for_token",
    "revoke_provider", "revoke_reviewer", "rotate_provider_token",
    # ingestion
    "FUTURE_LEEWAY", "IngestResult", "check_events", "ingest", "provider_event_status", "provider_format", "withdraw",
    # citizen
    "KIND_TITLES", "can_dispute", "dispute_window", "explain", "explain_citizen", "explain_event",
    "forget_statements", "kind_title", "open_dispute",
    # review
    "decide", "get_case", "queue", "queue_counts",
]
