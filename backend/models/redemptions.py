from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Redemption(db.Model):
    """A perk granted at a kiosk, synced later. Idempotent by (device, client id).
    Venues only ever know the pairwise pseudonym, never the citizen."""

    __tablename__ = "redemptions"
    __table_args__ = (
        # also serves lookups and cascades by device (its leading column): no separate device_id index
        UniqueConstraint("device_id", "client_id", name="uq_redemptions_device_client"),
        # the replay report walks only flagged rows (0.1 % of the table), newest first (docs/deploy.md)
        Index("ix_redemptions_replay_recent", "scanned_at", "id", postgresql_where=text("cross_venue_replay"),
              sqlite_where=text("cross_venue_replay")),
        Index("ix_redemptions_scanned_at", "scanned_at"),  # retention deletes by scan time in batches
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), nullable=False)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), nullable=False)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"), nullable=False, index=True)
    audience: Mapped[str] = mapped_column(String(32), nullable=False)
    jti: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    pseudonym: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    perk: Mapped[str] = mapped_column(String(40), nullable=False)
    scanned_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    received_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cross_venue_replay: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    device = relationship("Device")
    venue = relationship("Venue")


class RedemptionRejection(db.Model):
    """A synced item the backend refused (wrong venue, made-up id, impossible time). Only the answer is kept,
    so a re-sent item gets the same answer; nothing of the item itself, so it can never reach a citizen."""

    __tablename__ = "redemption_rejections"
    __table_args__ = (UniqueConstraint("device_id", "client_id", name="uq_redemption_rejections_device_client"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), nullable=False)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(String(40), nullable=False)
    received_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
