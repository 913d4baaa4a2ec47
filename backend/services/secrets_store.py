"""Named random secrets kept encrypted in the database (pseudonym secret, phone pepper).

They must survive restarts and be shared by every worker, so they live in the database,
encrypted with ``PERKPASS_KEY_PASSPHRASE`` like the signing keys.
"""
from __future__ import annotations

import os
import threading

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..settings import settings
from ..extensions import db
from ..models import IssuerSecret
from . import crypto

PSEUDONYM = "pseudonym-secret"
PHONE_PEPPER = "phone-pepper"
CODE_PEPPER = "code-pepper"
_lock = threading.Lock()


def _cache() -> dict:
    return current_app.extensions.setdefault("perkpass_secrets", {})


def get_secret(name: str, now: int | None = None) -> bytes:
    cache = _cache()
    value = cache.get(name)
    if value is not None:
        return value
    with _lock:
        passphrase = settings().key_passphrase
        row = db.session.get(IssuerSecret, name)
        if row is None:
            import time
            value = os.urandom(32)
            row = IssuerSecret(name=name, encrypted_value=crypto.encrypt(passphrase, value, aad=name.encode(),
                                                                       cost=settings().kdf_cost),
                               created_at=int(now if now is not None else time.time()))
            db.session.add(row)
            try:
                db.session.commit()
            except IntegrityError:  # another worker created it first
                db.session.rollback()
                row = db.session.get_one(IssuerSecret, name)
                value = crypto.decrypt(passphrase, row.encrypted_value, aad=name.encode())
        else:
            value = crypto.decrypt(passphrase, row.encrypted_value, aad=name.encode())
        cache[name] = value
        return value


def ensure_all(now: int | None = None) -> None:
    """Create every named secret (init-db), so workers only ever decrypt them."""
    for name in (PSEUDONYM, PHONE_PEPPER, CODE_PEPPER):
        get_secret(name, now)
