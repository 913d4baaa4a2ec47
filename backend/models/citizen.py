from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Citizen(db.Model):
    """A citizen who opted in. The phone number itself is never stored: only a keyed hash for
    log-in lookups and the last digits for display."""

    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    phone_hint: Mapped[str] = mapped_column(String(16), nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False, default="zh-CN")
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)

    consents = relationship("Consent", back_populates="citizen", cascade="all, delete-orphan",
                            passive_deletes=True, order_by="Consent.id")
    memberships = relationship("CitizenScheme", back_populates="citizen", cascade="all, delete-orphan",
                               passive_deletes=True)
    tokens = relationship("AccessToken", back_populates="citizen", cascade="all, delete-orphan",
                          passive_deletes=True)


class Consent(db.Model):
    """The recorded consent: which text version the citizen accepted and when."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False, index=True)
    version: Mapped[str] = mapped_column(String(32), nullable=False)
    accepted_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    text_sha256: Mapped[str] = mapped_column(String(64), nullable=False)

    citizen = relationship("Citizen", back_populates="consents")


class LoginCode(db.Model):
    """A one-time log-in code (stored as a keyed hash), tied to the hashed phone number."""

    __tablename__ = "login_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    expires_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    used_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AccessToken(db.Model):
    """A short-lived bearer token for a citizen (only its SHA-256 is stored)."""

    __tablename__ = "access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    expires_at: Mapped[int] = mapped_column(BigInteger, nullable=False)

    citizen = relationship("Citizen", back_populates="tokens")
