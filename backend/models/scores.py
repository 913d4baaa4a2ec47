from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Scheme(db.Model):
    """A city scheme. Its bands and perks are configuration (assets/schemes/*.json); this row
    anchors memberships and records which configuration version is loaded."""

    __tablename__ = "schemes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name_en: Mapped[str] = mapped_column(String(120), nullable=False)
    name_zh: Mapped[str] = mapped_column(String(120), nullable=False)
    min_score: Mapped[int] = mapped_column(Integer, nullable=False)
    max_score: Mapped[int] = mapped_column(Integer, nullable=False)
    base_score: Mapped[int] = mapped_column(Integer, nullable=False)
    config_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class CitizenScheme(db.Model):
    """A citizen's membership of a scheme with the current score.

    ``score`` is a cache of the ledger: every change is also written as a :class:`ScoreEvent`, so a
    later full event ledger (explanations, disputes, reviewers) only adds event kinds.
    """

    __tablename__ = "citizen_schemes"
    __table_args__ = (UniqueConstraint("citizen_id", "scheme_id", name="uq_citizen_schemes_citizen_scheme"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False, index=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id", ondelete="RESTRICT"), nullable=False, index=True)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    joined_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[int] = mapped_column(BigInteger, nullable=False)

    citizen = relationship("Citizen", back_populates="memberships")
    scheme = relationship("Scheme", lazy="joined")
    events = relationship("ScoreEvent", back_populates="membership", cascade="all, delete-orphan",
                          passive_deletes=True, order_by="ScoreEvent.id")


class ScoreEvent(db.Model):
    """One entry of a membership's ledger: ``join`` (base score), ``import`` (absolute score set by
    an operator import) and ``point`` (a data provider's event; see backend/services/ledger/ for
    statuses, disputes and reviews)."""

    __tablename__ = "score_events"
    __table_args__ = (UniqueConstraint("provider_id", "provider_event_id", name="uq_score_events_provider_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("citizen_schemes.id", ondelete="CASCADE"), nullable=False,
                                               index=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    delta: Mapped[int] = mapped_column(Integer, nullable=False)
    score_after: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(120), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    occurred_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    recorded_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # the ledger (issue 6): pending_review | confirmed | disputed | reversed | rejected
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="confirmed", server_default="confirmed",
                                        index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("data_providers.id", ondelete="SET NULL"), nullable=True,
                                                    index=True)
    provider_event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    category: Mapped[str | None] = mapped_column(String(48), nullable=True)
    payload_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confirmed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    membership = relationship("CitizenScheme", back_populates="events")
