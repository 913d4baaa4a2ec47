"""Data that stays small: personal history older than the retention (PERKPASS_RETENTION_DAYS, default
180) is deleted in small batches, safe to run from cron while kiosks sync and citizens read.

What goes, per table, once older than the retention:
- ``redemptions``: by ``scanned_at`` (where and when a citizen's code was used);
- ``perk_certificates``: by ``not_after`` (a certificate links a citizen to the certificate id kiosks
  report; once every redemption it could name is gone, so is the link);
- ``certificate_revocations``: by ``expires_at`` (no longer in any trust list since the certificate expired);
- ``device_challenges``: by ``expires_at`` (one-time registration challenges);
- ``redemption_rejections``: by ``received_at`` (the answers to refused uploads, kept for re-sends).

Each batch is one short transaction that deletes at most ``batch_size`` rows, oldest first, so it
never holds many locks or a long snapshot; on PostgreSQL rows a concurrent sync has locked are skipped
(``SKIP LOCKED``) and taken by the next run instead of waiting for them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, select

from ..extensions import db
from ..models import CertificateRevocation, DeviceChallenge, PerkCertificate, Redemption, RedemptionRejection

DAY = 86400


@dataclass(frozen=True)
class Target:
    name: str
    model: type
    key: str      # primary-key column
    instant: str  # the column compared with the cut-off


TARGETS = (
    Target("redemptions", Redemption, "id", "scanned_at"),
    Target("perk_certificates", PerkCertificate, "cert_id", "not_after"),
    Target("certificate_revocations", CertificateRevocation, "cert_id", "expires_at"),
    Target("device_challenges", DeviceChallenge, "id", "expires_at"),
    Target("redemption_rejections", RedemptionRejection, "id", "received_at"),
)


def cutoff(now: int, days: int) -> int:
    """Rows whose instant is before this are older than the retention."""
    if int(days) < 1:
        raise ValueError("the retention must be at least 1 day")
    return int(now) - int(days) * DAY


def _delete_batch(target: Target, before: int, batch_size: int) -> int:
    key, instant = getattr(target.model, target.key), getattr(target.model, target.instant)
    # oldest first along the time index: each batch reads only rows it deletes, never the dead ones before
    pick = select(key).where(instant < before).order_by(instant, key).limit(batch_size)
    if db.engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    n = db.session.execute(delete(target.model).where(key.in_(pick.scalar_subquery()))
                           .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return n or 0


def purge(now: int, days: int, *, batch_size: int = 2000, pause: float = 0.0, max_batches: int | None = None,
          sleep=time.sleep) -> dict[str, int]:
    """Delete everything older than ``days`` before ``now``, ``batch_size`` rows per transaction with
    ``pause`` seconds between batches (to leave the database to the service). Returns rows deleted per table.
    ``max_batches`` bounds the work of one run (per table); the next run goes on where it stopped."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    before = cutoff(now, days)
    out = {}
    for target in TARGETS:
        total, batches = 0, 0
        while max_batches is None or batches < max_batches:
            n = _delete_batch(target, before, batch_size)
            total += n
            batches += 1
            if n < batch_size:
                break
            if pause:
                sleep(pause)
        out[target.name] = total
    return out


def pending(now: int, days: int) -> dict[str, int]:
    """How many rows per table are older than the retention (what ``purge`` would delete)."""
    from sqlalchemy import func
    before = cutoff(now, days)
    return {t.name: int(db.session.scalar(select(func.count()).select_from(t.model)
                                          .where(getattr(t.model, t.instant) < before)) or 0) for t in TARGETS}
