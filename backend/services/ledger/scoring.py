"""The arithmetic: a membership's score is the scheme's base plus the events that count, clamped to the
scheme's range. The cached ``CitizenScheme.score`` is rewritten from the ledger whenever an event's status
changes (:func:`recompute`), so band, perks and the next credential follow at once."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import CitizenScheme, ScoreEvent
from ..perks import SchemeConfig, get_catalogue
from .audit import audit
from .rules import SchemeRules, get_point_rules
from .statuses import EventKind, EventStatus

MAX_ID = 2 ** 31 - 1  # INTEGER primary keys: a larger id cannot exist (and would overflow the query)


@dataclass
class Line:
    event: ScoreEvent
    points: int      # what the event contributes when it counts
    counts: bool


@dataclass
class Replay:
    base: int
    total: int       # before clamping
    score: int
    lines: list[Line]

    @property
    def clamped(self) -> bool:
        return self.total != self.score


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, v))


def replay(events: list[ScoreEvent], cfg: SchemeConfig, rules: SchemeRules | None) -> Replay:
    """Score = base + the events that count, clamped to the range. An operator import is recorded as
    the change it made to the score shown at the time, so the running total is clamped at each import
    (keeping imports exact) and at the end. Events are taken in recording order."""
    total, lines = cfg.base, []
    for i, e in enumerate(events):
        if e.kind == EventKind.JOIN:
            lines.append(Line(e, 0, True))
            continue
        points = (e.score_after - cfg.base) if (e.kind == EventKind.IMPORT and i == 0) else e.delta
        # a disputed record counts exactly when it counted before the dispute (it had been confirmed):
        # the citizen's dispute neither raises nor lowers the score; the reviewer's decision does
        counts = e.status == EventStatus.CONFIRMED or (e.status == EventStatus.DISPUTED and e.confirmed_at is not None)
        if counts:
            if e.kind == EventKind.IMPORT and i > 0:
                total = _clamp(total, cfg.min, cfg.max)
            total += points
        lines.append(Line(e, points, counts))
    return Replay(cfg.base, total, _clamp(total, cfg.min, cfg.max), lines)


def events_of(membership_id: int, with_cases: bool = False) -> list[ScoreEvent]:
    stmt = select(ScoreEvent).where(ScoreEvent.membership_id == membership_id).order_by(ScoreEvent.id)
    if with_cases:
        stmt = stmt.options(selectinload(ScoreEvent.cases))
    return list(db.session.scalars(stmt))


def lock_membership(membership_id: int) -> CitizenScheme:
    return db.session.scalars(select(CitizenScheme).where(CitizenScheme.id == membership_id)
                              .with_for_update(of=CitizenScheme)).one()


def recompute(m: CitizenScheme, now: int) -> tuple[int, int]:
    """Rewrite the cached score from the ledger. Returns (old, new). The caller commits."""
    cfg = get_catalogue().schemes[m.scheme.code]
    r = replay(events_of(m.id), cfg, get_point_rules().schemes.get(cfg.code))
    old = m.score
    if r.score != old:
        m.score, m.updated_at = r.score, now
    return old, r.score


def recompute_many(ms: list[CitizenScheme], now: int) -> None:
    """:func:`recompute` for many memberships with one query for all their events."""
    if not ms:
        return
    by_m: dict[int, list[ScoreEvent]] = {m.id: [] for m in ms}
    ids = list(by_m)
    for i in range(0, len(ids), 500):
        for e in db.session.scalars(select(ScoreEvent).where(ScoreEvent.membership_id.in_(ids[i:i + 500]))
                                    .order_by(ScoreEvent.id)):
            by_m[e.membership_id].append(e)
    catalogue, rules = get_catalogue(), get_point_rules()
    for m in ms:
        cfg = catalogue.schemes[m.scheme.code]
        r = replay(by_m[m.id], cfg, rules.schemes.get(cfg.code))
        if r.score != m.score:
            m.score, m.updated_at = r.score, now


def recompute_all(now: int, on_progress: Callable[[int], None] | None = None) -> dict:
    """Rebuild every cached score from the ledger (after a change of a scheme's base or rules);
    ``on_progress(n)`` after every n memberships (a progress display)."""
    changed = checked = 0
    for m in db.session.scalars(select(CitizenScheme).order_by(CitizenScheme.id)):
        if m.scheme.code not in get_catalogue().schemes:
            continue
        checked += 1
        old, new = recompute(m, now)
        if old != new:
            changed += 1
        if on_progress is not None and checked % 100 == 0:
            on_progress(100)
    if on_progress is not None and checked % 100:
        on_progress(checked % 100)
    if changed:
        audit("system", "recompute", "scores.recomputed", "membership", "*",
              {"checked": checked, "changed": changed}, now)
    db.session.commit()
    return {"checked": checked, "changed": changed}
