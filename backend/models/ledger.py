"""The score ledger around :class:`~backend.models.scores.ScoreEvent`: data providers, reviewers, review
cases (pending negative events and citizens' disputes) and the append-only audit log.

See backend/services/ledger/ for the rules and docs/ledger.md for the four views (citizen, provider,
reviewer, operator).
"""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from ..extensions import db


class DataProvider(db.Model):
    """A department that sends score events (a traffic police bureau, a blood bank). Its bearer token
    is stored as SHA-256 only; it may send events for the listed schemes (and, when ``categories`` is
    set, only those point-rule codes)."""

    __tablename__ = "data_providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_zh: Mapped[str | None] = mapped_column(String(200), nullable=True)  # shown to citizens reading Chinese
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    schemes: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    categories: Mapped[list | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_seen_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Reviewer(db.Model):
    """A person who decides disputes and pending negative events. Token stored as SHA-256 only."""

    __tablename__ = "reviewers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class LedgerCase(db.Model):
    """Something a reviewer must decide about one score event.

    ``reason``: ``pending_review`` (a negative event waiting for confirmation) or ``dispute`` (the
    citizen contests it; ``statement`` is their text). ``decision``: ``confirm`` or ``reverse`` with a
    written ``decision_reason`` that the citizen sees."""

    __tablename__ = "ledger_cases"
    __table_args__ = (Index("ix_ledger_cases_status_opened", "status", "opened_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("score_events.id", ondelete="CASCADE"), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="open")
    opened_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    statement: Mapped[str | None] = mapped_column(Text, nullable=True)
    disputed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(8), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("reviewers.id", ondelete="SET NULL"), nullable=True)
    # a provider's withdrawal: a catalogue reason code (kind reason_code), never free text
    reason_code: Mapped[str | None] = mapped_column(String(48), nullable=True)
    decided_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    event = relationship("ScoreEvent", backref=backref("cases", cascade="all, delete-orphan", passive_deletes=True,
                                                       order_by="LedgerCase.id"))
    reviewer = relationship("Reviewer")


class CatalogueEntry(db.Model):
    """An approved catalogue entry: the only place prose lives (labels in Chinese and English). ``kind``:
    ``category`` (a category of data rules may be about), ``rule`` (a point rule of the scheme ``scope``:
    data has ``category``, ``min``, ``max``), ``provider`` (a data provider's name; data has the registered
    ``reference_format``), ``source_system`` (where an operator import comes from) or ``reason_code`` (why a
    record is withdrawn or imported; data has ``applies_to``). Written only by an approval
    (backend/services/ledger/catalogue.py): a second, different operator approved :class:`CatalogueChange`
    ``change_id``."""

    __tablename__ = "catalogue_entries"
    __table_args__ = (UniqueConstraint("kind", "scope", "code", name="uq_catalogue_entries_kind_scope_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    scope: Mapped[str] = mapped_column(String(32), nullable=False, default="")  # a rule's scheme; else ""
    code: Mapped[str] = mapped_column(String(48), nullable=False)
    labels: Mapped[dict] = mapped_column(JSON, nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    change_id: Mapped[int] = mapped_column(ForeignKey("catalogue_changes.id", ondelete="RESTRICT"), nullable=False)
    approved_at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class CatalogueChange(db.Model):
    """A proposed catalogue entry or change to one, and how it ended: ``pending`` until a second operator
    (not ``proposed_by``) approves or rejects it. Rows are kept: they are the catalogue's history (who
    proposed what, who decided), next to the hash-chained audit log entries that point at them."""

    __tablename__ = "catalogue_changes"
    __table_args__ = (Index("ix_catalogue_changes_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    scope: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    code: Mapped[str] = mapped_column(String(48), nullable=False)
    labels: Mapped[dict] = mapped_column(JSON, nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    proposed_by: Mapped[str] = mapped_column(String(64), nullable=False)
    proposed_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AuditEntry(db.Model):
    """Who changed what in the ledger. Append-only: rows are never updated or deleted (the ORM refuses,
    database triggers refuse, and each row carries the SHA-256 of the previous one so a gap or an edit
    shows up in ``flask --app backend ledger audit --verify``). Entries carry ids, statuses and point
    deltas, never a phone number, a citizen's score or free text written by a citizen."""

    __tablename__ = "ledger_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    actor_type: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_ref: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(48), nullable=False, index=True)
    target_type: Mapped[str] = mapped_column(String(24), nullable=False)
    target_ref: Mapped[str] = mapped_column(String(64), nullable=False)
    details: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AppendOnlyError(RuntimeError):
    """Something tried to change or delete an audit entry."""


@event.listens_for(AuditEntry, "before_update")
def _no_update(_mapper, _conn, target):  # pragma: no cover - a bug guard
    raise AppendOnlyError(f"audit entry {target.id} is append-only")


@event.listens_for(AuditEntry, "before_delete")
def _no_delete(_mapper, _conn, target):  # pragma: no cover - a bug guard
    raise AppendOnlyError(f"audit entry {target.id} is append-only")
