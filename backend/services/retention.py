"""Data that stays small: personal history older than the retention (PERKPASS_RETENTION_DAYS, default
180) is deleted in small batches, safe to run from cron while kiosks sync and citizens read.

What goes, per table, once older than the retention:
- ``redemptions``: by ``scanned_at`` (where and when a citizen's code was used);
- ``perk_certificates``: by ``not_after`` (a certificate links a citizen to the certificate id kiosks
  report; once every redemption it could name is gone, so is the link);
- ``certificate_revocations``: by ``expires_at`` (no longer in any trust list since the certificate expired);
- ``device_challenges``: by ``expires_at`` (one-time registration challenges);
- ``redemption_rejections``: by ``received_at`` (the answers to refused uploads, kept for re-sends);
- a dispute's statement (the citizen's own words), ``statement_days`` (PERKPASS_DISPUTE_STATEMENT_DAYS) after
  its case was decided: the column is emptied, the case stays.

And sooner: a PP2 certificate that no redemption names goes ``UNUSED_CERTIFICATE_GRACE`` (30 days) after it
expired (``unused_perk_certificates``). A phone renews its certificates every day, so keeping each one for
the whole retention would keep ~2 rows per citizen per day; only those a kiosk reported are needed for the
citizen's history. 30 days covers a kiosk that syncs late (an unknown certificate is refused at upload).

Each batch is one short transaction that deletes at most ``batch_size`` rows, oldest first, so it
never holds many locks or a long snapshot; on PostgreSQL rows a concurrent sync has locked are skipped
(``SKIP LOCKED``) and taken by the next run instead of waiting for them.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select

from ..extensions import db, rows_changed
from ..models import CertificateRevocation, DeviceChallenge, PerkCertificate, Redemption, RedemptionRejection

DAY = 86400


@dataclass(frozen=True)
class Target:
    name: str
    model: type
    key: str      # primary-key column
    instant: str  # the column compared with the cut-off
    unused_only: bool = False  # certificates no redemption names, UNUSED_CERTIFICATE_GRACE after expiry


TARGETS = (
    Target("redemptions", Redemption, "id", "scanned_at"),
    Target("perk_certificates", PerkCertificate, "cert_id", "not_after"),
    Target("certificate_revocations", CertificateRevocation, "cert_id", "expires_at"),
    Target("device_challenges", DeviceChallenge, "id", "expires_at"),
    Target("redemption_rejections", RedemptionRejection, "id", "received_at"),
    Target("unused_perk_certificates", PerkCertificate, "cert_id", "not_after", unused_only=True),
)
UNUSED_CERTIFICATE_GRACE = 30 * DAY


def _where(target: Target, now: int, days: int):
    """The rows of ``target`` that go now."""
    instant = getattr(target.model, target.instant)
    if not target.unused_only:
        return [instant < cutoff(now, days)]
    named = select(Redemption.id).where(Redemption.pseudonym == PerkCertificate.cert_id)
    # older ones are the retention's (above); these are the expired certificates nobody reported
    return [instant >= cutoff(now, days), instant < int(now) - UNUSED_CERTIFICATE_GRACE, ~named.exists()]


def cutoff(now: int, days: int) -> int:
    """Rows whose instant is before this are older than the retention."""
    if int(days) < 1:
        raise ValueError("the retention must be at least 1 day")
    return int(now) - int(days) * DAY


def _delete_batch(target: Target, now: int, days: int, batch_size: int) -> int:
    key, instant = getattr(target.model, target.key), getattr(target.model, target.instant)
    # oldest first along the time index: each batch reads only rows it deletes, never the dead ones before
    pick = select(key).where(*_where(target, now, days)).order_by(instant, key).limit(batch_size)
    if db.engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    n = rows_changed(delete(target.model).where(key.in_(pick.scalar_subquery()))
                     .execution_options(synchronize_session=False))
    db.session.commit()
    return n or 0


def purge(now: int, days: int, *, batch_size: int = 2000, pause: float = 0.0, max_batches: int | None = None,
          sleep=time.sleep, on_batch: Callable[[int], None] | None = None,
          statement_days: int | None = None) -> dict[str, int]:
    """Delete everything older than ``days`` before ``now``, ``batch_size`` rows per transaction with
    ``pause`` seconds between batches (to leave the database to the service). Returns rows deleted per table.
    ``max_batches`` bounds the work of one run (per table); the next run goes on where it stopped.
    ``on_batch(rows)`` is told each committed batch's size (the command's progress display)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cutoff(now, days)  # validates days
    out = {}
    for target in TARGETS:
        total, batches = 0, 0
        while max_batches is None or batches < max_batches:
            n = _delete_batch(target, now, days, batch_size)
            total += n
            if on_batch is not None:
                on_batch(n)
            batches += 1
            if n < batch_size:
                break
            if pause:
                sleep(pause)
        out[target.name] = total
    if statement_days is not None:  # citizens' dispute statements, statement_days after the decision
        from . import ledger
        out["dispute_statements"] = n = ledger.forget_statements(now, statement_days, batch_size)
        if on_batch is not None:
            on_batch(n)
    return out


def pending(now: int, days: int) -> dict[str, int]:
    """How many rows per table are older than the retention (what ``purge`` would delete)."""
    from sqlalchemy import func
    cutoff(now, days)  # validates days
    return {t.name: int(db.session.scalar(select(func.count()).select_from(t.model)
                                          .where(*_where(t, now, days))) or 0) for t in TARGETS}
