"""Operator API tokens (created on the command line, stored hashed)."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import OperatorToken
from . import crypto


def create_token(name: str, now: int) -> str:
    raw = crypto.random_token("pp_op_")
    db.session.add(OperatorToken(name=name, token_hash=crypto.sha256_hex(raw), created_at=now))
    db.session.commit()
    return raw


def operator_for_token(raw: str) -> OperatorToken | None:
    row = db.session.scalars(select(OperatorToken).where(OperatorToken.token_hash == crypto.sha256_hex(raw))).first()
    if row is None or row.revoked_at is not None:
        return None
    return row


def revoke(token_id: int, now: int) -> bool:
    row = db.session.get(OperatorToken, token_id)
    if row is None:
        return False
    row.revoked_at = now
    db.session.commit()
    return True


def listing() -> list[dict]:
    return [{"id": r.id, "name": r.name, "created_at": r.created_at, "revoked_at": r.revoked_at}
            for r in db.session.scalars(select(OperatorToken).order_by(OperatorToken.id))]
