"""The operator and reviewer console (issue 13): accounts, their sessions, and what kiosks report
about themselves (status and daily scan counts by result; never a code, a pseudonym or a citizen).

See backend/services/console_auth.py for the rules and docs/console.md for the screens.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class ConsoleAccount(db.Model):
    """A person who signs in to /console/: an ``operator`` (kiosks, keys, trust list, replays, accounts)
    or a ``reviewer`` (the review queue only). Password hashed with Argon2id; the TOTP secret is
    encrypted at rest like the signing keys. A reviewer account decides cases as its ``reviewer`` row,
    so the ledger's decisions and audit entries name the person."""

    __tablename__ = "console_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    totp_secret: Mapped[str] = mapped_column(Text, nullable=False)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("reviewers.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_login_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    disabled_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    reviewer = relationship("Reviewer")


class ConsoleSession(db.Model):
    """A signed-in browser. Cookie value and CSRF token are stored as SHA-256 only. A session ends at
    ``expires_at`` (absolute), after ``idle`` seconds without a request, or at sign-out."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("console_accounts.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    csrf_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_seen_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    expires_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    account = relationship("ConsoleAccount")


class KioskReport(db.Model):
    """The latest state a kiosk reported (POST /api/v1/kiosk/report): app version, trust-list sequence
    and times, uploads waiting. One row per device, replaced at each report."""

    __tablename__ = "kiosk_reports"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    reported_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    app_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    trust_list_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    trust_list_issued_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    trust_list_next_update: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    pending: Mapped[int | None] = mapped_column(Integer, nullable=True)


class KioskScanCount(db.Model):
    """How many scans a kiosk answered on one of its local days, by result (a partner_sdk Status name:
    GRANTED, REPLAYED, EXPIRED, ...; one GRANTED per perk granted). Counts only: no code, no pseudonym.
    The kiosk sends whole-day totals, so a re-sent report replaces the row instead of adding to it."""

    __tablename__ = "kiosk_scan_counts"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    reported_at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class IssuedDaily(db.Model):
    """Codes issued per UTC day and venue type (a counter for the overview; no citizen, no code).
    Workers count in memory and add their counts here every few seconds (services/console_stats.py)."""

    __tablename__ = "console_issued_daily"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    audience: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
