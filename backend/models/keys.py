from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class SigningKey(db.Model):
    """An Ed25519 key, private part encrypted at rest with the configured passphrase.

    role ``signing`` keys sign credentials; the single ``root`` key signs the trust list.
    A signing key is published from ``created_at``; it signs from ``activates_at`` until
    ``signs_until`` (set when a successor activates or it is retired); it stays published until
    ``not_after`` = ``signs_until`` + credential lifetime + leeway.
    """

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    public_x: Mapped[str] = mapped_column(String(64), nullable=False)
    encrypted_private: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    activates_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    signs_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    not_after: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    retired_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # signing keys: from this instant on every code the key signed is refused (key compromise drill)
    compromised_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # root keys after the first: the statement by which the previous root announced this one
    root_statement: Mapped[str | None] = mapped_column(Text, nullable=True)


class IssuerSecret(db.Model):
    """Named random secrets (pseudonym secret, phone pepper), encrypted like the keys."""

    __tablename__ = "issuer_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    encrypted_value: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class TrustListVersion(db.Model):
    """Every trust list ever published, with a monotonic sequence (rollback protection in the SDK)."""

    __tablename__ = "trust_list_versions"

    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    jws: Mapped[str] = mapped_column(Text, nullable=False)
    issued_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    expires_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
