"""Codes issued per day and venue type, for the console overview.

Issuance is the hottest endpoint, so it only adds one to an in-memory counter; the counts go to the
``console_issued_daily`` table at most every ``FLUSH_EVERY`` seconds per worker (on a later issuance) and
whenever the console's overview is read in that worker. A worker killed between two flushes loses at
most those seconds of counts: this is a chart, not an invoice.
"""
from __future__ import annotations

import threading
import time
from collections import Counter

from sqlalchemy import func, select, text

from ..extensions import db

FLUSH_EVERY = 10.0
_lock = threading.Lock()
_pending: Counter = Counter()
_last_flush = [time.monotonic()]

_UPSERT = text("INSERT INTO console_issued_daily (day, audience, count) VALUES (:day, :audience, :n) "
               "ON CONFLICT (day, audience) DO UPDATE SET count = console_issued_daily.count + excluded.count")


def utc_day(ts: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(int(ts)))


def count_issued(audience: str, now: int) -> None:
    """One code issued for ``audience`` at ``now`` (called by the issuance endpoint)."""
    with _lock:
        _pending[(utc_day(now), audience)] += 1
        due = time.monotonic() - _last_flush[0] >= FLUSH_EVERY
    if due:
        flush()


def flush() -> int:
    """Write the counted codes on a connection of their own (never inside the caller's transaction)."""
    with _lock:
        items = list(_pending.items())
        _pending.clear()
        _last_flush[0] = time.monotonic()
    if not items:
        return 0
    try:
        with db.engine.begin() as conn:
            conn.execute(_UPSERT, [{"day": d, "audience": a, "n": n} for (d, a), n in items])
    except Exception:  # noqa: BLE001 - a counter must never fail an issuance; keep the counts for later
        with _lock:
            for k, n in items:
                _pending[k] += n
        return 0
    return sum(n for _, n in items)


def discard_pending() -> None:
    """Forget the counts not written yet. The counter belongs to the process, not to a database: a process
    that empties its database (the test suite between tests) must not write the old counts into the new one."""
    with _lock:
        _pending.clear()


# ------------------------------------------------------------------------------------------ chart figures

DAY = 86400
HOUR = 3600


class ChartFigures:
    """What the console's charts are drawn from, read once per request from the reports engine (the replica
    when there is one, read_conn.py) with the counting done by the database (GROUP BY), not row by row.

    ``days``: the UTC days shown, oldest first (the overview's days). Each figure is read on first use, so a
    chart's own SVG reads only what that chart needs. The same definitions as the overview's figures
    (services/console.py): a grant is an uploaded redemption, a refusal a kiosk-reported non-GRANTED scan."""

    def __init__(self, now: int, days: list[str], tz_minutes: int = 0):
        self.now, self.days, self.tz = int(now), days, int(tz_minutes) * 60
        self._cache: dict[str, object] = {}

    def _rows(self, key: str, stmt) -> list:
        if key not in self._cache:
            from .read_conn import reports_engine
            self._cache[key] = db.session.execute(stmt, bind_arguments={"bind": reports_engine()}).all()
        return self._cache[key]  # type: ignore[return-value]

    def issued(self) -> list[tuple[str, str, int]]:
        """(day, venue type, codes issued)."""
        from ..models.console import IssuedDaily
        flush()  # this worker's counts so far
        rows = self._rows("issued", select(IssuedDaily.day, IssuedDaily.audience, IssuedDaily.count)
                          .where(IssuedDaily.day >= self.days[0]))
        return [(d, a, int(n)) for d, a, n in rows if d in self.days]

    def grants(self) -> list[tuple[str, str, int]]:
        """(day, venue type, grants) from the uploaded redemptions."""
        from ..models import Redemption
        day = (Redemption.scanned_at // DAY).label("d")
        rows = self._rows("grants", select(day, Redemption.audience, func.count())
                          .where(Redemption.scanned_at >= day_start(self.days[0]),
                                 Redemption.scanned_at < day_start(self.days[-1]) + DAY)
                          .group_by(day, Redemption.audience))
        return [(utc_day(int(d) * DAY), a, int(n)) for d, a, n in rows]

    def replays(self) -> dict[str, int]:
        if "replays" not in self._cache:
            self._cache["replays"] = replays_per_day(self.days)
        return self._cache["replays"]  # type: ignore[return-value]

    def refusals(self) -> list[tuple[str, str, str, int]]:
        """(day, status, venue type, scans) for every kiosk-reported scan that was not a grant."""
        from ..models import Device, Venue
        from ..models.console import KioskScanCount
        rows = self._rows("refusals", select(KioskScanCount.day, KioskScanCount.status, Venue.audience,
                                             func.sum(KioskScanCount.count))
                          .join(Device, Device.id == KioskScanCount.device_id)
                          .join(Venue, Venue.id == Device.venue_id)
                          .where(KioskScanCount.day >= self.days[0], KioskScanCount.status != "GRANTED")
                          .group_by(KioskScanCount.day, KioskScanCount.status, Venue.audience))
        return [(d, s, a, int(n)) for d, s, a, n in rows if d in self.days and n]

    def hours(self) -> list[int]:
        """The last 24 whole hours up to now, as their start (epoch seconds), oldest first."""
        current = (self.now + self.tz) // HOUR * HOUR - self.tz
        return [current - HOUR * i for i in range(23, -1, -1)]

    def grants_by_hour(self) -> list[int]:
        """Grants in each of :meth:`hours` (the hours of the viewer's time zone)."""
        from ..models import Redemption
        hours = self.hours()
        bucket = ((Redemption.scanned_at + self.tz) // HOUR).label("h")
        rows = self._rows("hourly", select(bucket, func.count())
                          .where(Redemption.scanned_at >= hours[0], Redemption.scanned_at < hours[-1] + HOUR)
                          .group_by(bucket))
        per = {int(h) * HOUR - self.tz: int(n) for h, n in rows}
        return [per.get(h, 0) for h in hours]


def replays_per_day(days: list[str]) -> dict[str, int]:
    """Cross-venue replays on each of ``days``: every use of a code after its first, at another venue (the
    first use is the citizen's; a code used at two venues is one replay, not two). Reads the flagged rows only
    (the partial index ix_redemptions_replay_recent), on the reports engine."""
    from ..models import Redemption
    from .read_conn import reports_engine
    start, end = day_start(days[0]), day_start(days[-1]) + DAY
    flagged = (select(Redemption.jti).where(Redemption.cross_venue_replay, Redemption.scanned_at >= start,
                                            Redemption.scanned_at < end).scalar_subquery())
    rows = db.session.execute(select(Redemption.jti, Redemption.scanned_at)
                              .where(Redemption.cross_venue_replay, Redemption.jti.in_(flagged))
                              .order_by(Redemption.jti, Redemption.scanned_at, Redemption.id),
                              bind_arguments={"bind": reports_engine()})
    out = dict.fromkeys(days, 0)
    first_seen: set[str] = set()
    for jti, at in rows:
        if jti not in first_seen:
            first_seen.add(jti)
            continue
        day = utc_day(at)
        if day in out:
            out[day] += 1
    return out


def day_start(day: str) -> int:
    """Epoch seconds of 00:00 UTC on ``day`` (YYYY-MM-DD)."""
    import calendar
    return calendar.timegm(time.strptime(day, "%Y-%m-%d"))
