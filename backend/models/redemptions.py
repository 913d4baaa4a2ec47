from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Redemption(db.Model):
    """A perk granted at a kiosk, synced later. Idempotent by (device, client id).
    Venues only ever know the pairwise pseudonym, never the citizen."""

    __tablename__ = "redemptions"
    __table_args__ = (UniqueConstraint("device_id", "client_id", name="uq_redemptions_device_client"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), nullable=False)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), nullable=False, index=True)
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
