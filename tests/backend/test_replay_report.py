"""The cross-venue replay report reads flagged rows newest first, a page at a time (issue 14 item 3):
its order and counts are those of grouping every row, however many times one code was copied."""
from __future__ import annotations

import uuid

from backend.extensions import db
from backend.models import Device, Redemption
from backend.services.redemptions import replay_report

T0 = 1_796_000_000


def _rows(devices, jti, times, flagged=True):
    return [Redemption(client_id=str(uuid.uuid4()), device_id=devices[i % 2].id, venue_id=devices[i % 2].venue_id,
                       audience="metro", jti=jti, pseudonym="P" * 23, perk="MOLI-METRO20", scanned_at=t,
                       received_at=t, cross_venue_replay=flagged) for i, t in enumerate(times)]


def test_report_is_newest_first_with_every_scan_even_past_a_page(h):
    devices = [db.session.query(Device).filter_by(public_id=h.enrol(h.venue(n, "metro", ["MOLI-METRO20"]))
                                                   ["device_id"]).one() for n in ("Gulou", "Wuyi")]
    db.session.add_all(_rows(devices, "copied-many-times", [T0 + 1000 + i for i in range(450)])  # > one page
                       + _rows(devices, "copied-twice-old", [T0, T0 + 10])
                       + _rows(devices, "copied-twice-new", [T0 + 500, T0 + 2000])
                       + _rows(devices, "used-once", [T0 + 5000], flagged=False))
    db.session.commit()
    report = replay_report(limit=2)
    assert [r["jti"] for r in report] == ["copied-twice-new", "copied-many-times"]
    assert [r["redemptions"] for r in report] == [2, 450]
    assert report[1]["first_scanned_at"] == T0 + 1000 and report[1]["last_scanned_at"] == T0 + 1449
    assert len(report[1]["scans"]) == 450 and report[1]["venues"] == sorted(d.venue_id for d in devices)
    full = replay_report(limit=3)  # pages of 100 flagged rows: the third code is five pages down
    assert [r["jti"] for r in full] == ["copied-twice-new", "copied-many-times", "copied-twice-old"]
