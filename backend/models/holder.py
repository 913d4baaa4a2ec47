"""Citizens' phones as PP2 holders: device keys, their registration challenges, perk certificates and the
revocation list that goes into the trust list."""
from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class HolderDevice(db.Model):
    """A public key the citizen page made with WebCrypto (non-extractable, kept in the phone's IndexedDB).
    The private half never reaches us; possession was proved by signing a fresh challenge."""

    __tablename__ = "holder_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False, index=True)
    key_type: Mapped[int] = mapped_column(Integer, nullable=False)  # partner_sdk.pp2.KEY_ED25519 / KEY_P256
    public_key: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)  # base64url, certificate form
    label: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_certified_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DeviceChallenge(db.Model):
    """A one-time challenge a device signs to register (stored as its SHA-256)."""

    __tablename__ = "device_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False, index=True)
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    expires_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    used_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class PerkCertificate(db.Model):
    """A PP2 perk certificate handed to a device. Kept so the citizen's history can find redemptions made
    under its (fresh, random) certificate id, and so it can be revoked when the perk is lost."""

    __tablename__ = "perk_certificates"

    cert_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False, index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("holder_devices.id", ondelete="SET NULL"), nullable=True,
                                                  index=True)
    audience: Mapped[str] = mapped_column(String(32), nullable=False)
    scheme: Mapped[str] = mapped_column(String(32), nullable=False)
    perks: Mapped[str] = mapped_column(String(300), nullable=False)  # comma-separated, sorted
    raw: Mapped[str] = mapped_column(String(400), nullable=False)  # base64url certificate (public, signed)
    not_before: Mapped[int] = mapped_column(BigInteger, nullable=False)
    not_after: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class CertificateRevocation(db.Model):
    """A withdrawn certificate id until its certificate expires. No link to a citizen: it survives opt-out."""

    __tablename__ = "certificate_revocations"

    cert_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    revoked_at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class Pp3Issuance(db.Model):
    """That a citizen was given a PP3 certificate for a venue type and scheme on a UTC day: at most one, since
    each certificate holds its own pseudonym secret and a second one would pass a gate's quota twice. The
    certificate itself is not kept (the issuer never saw its secret, so it names nothing a venue sees)."""

    __tablename__ = "pp3_issuances"
    __table_args__ = (UniqueConstraint("citizen_id", "audience", "scheme", "day", name="uq_pp3_issuance"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False, index=True)
    audience: Mapped[str] = mapped_column(String(32), nullable=False)
    scheme: Mapped[str] = mapped_column(String(32), nullable=False)
    day: Mapped[int] = mapped_column(Integer, nullable=False)
    issued_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
