"""The demo's fortnight (issue 22 item 11): `flask seed-demo --activity` (what make demo runs) fills the console
with a city's last 14 days up to now, the same each time it runs at the same moment, and a re-run replaces
what it generated without touching what really happened (a code issued between two runs stays counted).
The console's figures and its charts, read from the same database on SQLite and PostgreSQL, agree."""
from __future__ import annotations

import time

from sqlalchemy import func, select


def test_seed_demo_activity_makes_a_fortnight_and_a_rerun_replaces_only_what_it_made(app, runner, h):
    from backend.demo.activity import AUDIT_ACTION, demo_kiosk_ids, seed_activity
    from backend.extensions import db
    from backend.models import Device, Redemption
    from backend.models.console import IssuedDaily, KioskScanCount
    from backend.models.ledger import AuditEntry
    from backend.services import console, console_charts, console_stats

    out = runner.invoke(args=["seed-demo", "--activity"])
    assert out.exit_code == 0, out.output
    assert "Console activity since" in out.output and "demo kiosks reporting" in out.output
    now = int(time.time())
    first = seed_activity(now)
    assert first["grants"] > 14 * 1500 and first["issued_codes"] > first["grants"] and first["replays"] == 4
    assert 0.01 < first["refusals"] / (first["grants"] + first["refusals"]) < 0.08

    # a citizen's real code between two runs
    token = h.citizen("+8613800009911", {"moli": 700})
    h.issue(token, "metro")
    console_stats.flush()
    again = seed_activity(now)
    assert again == first                                              # seeded: the same fortnight
    issued = db.session.scalar(select(func.sum(IssuedDaily.count)))
    assert issued == first["issued_codes"] + 1                          # replaced, not added; the real code kept
    demo_devices = select(Device.id).where(Device.public_id.in_(demo_kiosk_ids()))
    assert db.session.scalar(select(func.count()).select_from(Device).where(Device.id.in_(demo_devices))) == 14
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == first["grants"]
    refused = db.session.scalar(select(func.sum(KioskScanCount.count)).where(KioskScanCount.status != "GRANTED"))
    assert refused == first["refusals"]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == AUDIT_ACTION)) == 3

    # the overview's figures and the charts' tables say the same
    ov = console.overview(now, 14)
    fig = console_stats.ChartFigures(now, ov["days"])
    activity = console_charts.build("activity", fig, "en")
    assert [r[1] for r in activity.table_rows] == ov["issued"]["per_day"]
    assert [r[2] for r in activity.table_rows] == ov["grants"]["per_day"]
    assert [r[3] for r in activity.table_rows] == ov["replays"]["per_day"] and ov["totals"]["replays"] == 4
    by_reason = console_charts.build("refusals-by-reason", fig, "en")
    assert sum(r[2] for r in by_reason.table_rows) == ov["totals"]["refusals"] == first["refusals"]
    assert {r[0]: r[2] for r in by_reason.table_rows} == {
        console_charts.reason_label(k, "en"): v for k, v in ov["refusals"]["by_reason"].items()}
    hourly = console_charts.build("grants-by-hour", fig, "en")
    last_day = db.session.scalar(select(func.count()).select_from(Redemption)
                                 .where(Redemption.scanned_at >= fig.hours()[0]))
    assert sum(r[1] for r in hourly.table_rows) == last_day > 1000
