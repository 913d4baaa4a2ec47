"""Report queries read the replica when one is configured (issue 14: PostgreSQL primary with a replica for
reports). The test's "replica" is a second engine on the same database: what matters is which engine each
report query runs on, and that the reports are whole."""
from __future__ import annotations

import time
import uuid

from sqlalchemy import event

from tools.cluster import pp1_redemption

REPORT_TABLES = ("FROM redemptions", "FROM kiosk_scan_counts", "FROM console_issued_daily")


def _some_reports(h):
    """A code used at two venues (a replay) and kiosk reports with refusals."""
    copied = pp1_redemption("MOLI-METRO20", int(time.time()))
    for name in ("Gate A", "Gate B"):
        dev = h.enrol(h.venue(name, "metro", ["MOLI-METRO20"]))
        auth = h.bearer(dev["device_token"])
        r = h.client.post("/api/v1/kiosk/redemptions", json={"redemptions": [dict(copied, id=str(uuid.uuid4()))]},
                          headers=auth)
        assert r.json["accepted"] == 1
        r = h.client.post("/api/v1/kiosk/report", headers=auth, json={"scans": [
            {"day": time.strftime("%Y-%m-%d", time.gmtime()), "counts": {"GRANTED": 3, "EXPIRED": 30}}]})
        assert r.status_code == 200
    return copied["jti"]


def _statements(engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: seen.append(" ".join(sql.split())))
    return seen


def _reports(h, app):
    from backend.services import console
    from backend.services.redemptions import replay_report
    now = int(time.time())
    with app.test_request_context():
        replays = replay_report()
        overview = console.overview(now)
        jumps = console.anomalies(now, min_scans=10)
    operator = h.client.get("/api/v1/operator/replays", headers=h.op()).json["replays"]
    return replays, overview, jumps, operator


def test_report_queries_read_the_replica_when_one_is_configured(make_app, database):
    from tests.backend.conftest import Helper

    from backend.extensions import db
    from backend.services.read_conn import reports_engine
    url, _schema = database
    app = make_app(PERKPASS_REPORTS_DATABASE_URL=url)
    h = Helper(app, app.test_client())
    with app.app_context():
        jti = _some_reports(h)
        replica = reports_engine()
        assert replica is not db.engine and replica.url.database == db.engine.url.database
        on_primary, on_replica = _statements(db.engine), _statements(replica)
        replays, overview, jumps, operator = _reports(h, app)
    assert [r["jti"] for r in replays] == [jti] and [r["jti"] for r in operator] == [jti]
    assert overview["totals"]["grants"] == 2 and overview["totals"]["refusals"] == 60 and len(jumps) == 2
    for table in REPORT_TABLES:
        assert any(table in s for s in on_replica), table
        assert not [s for s in on_primary if table in s], table


def test_without_a_replica_reports_read_the_primary(app):
    from backend.extensions import db
    from backend.services.read_conn import reports_engine
    assert app.config["PERKPASS_REPORTS_DATABASE_URL"] is None and reports_engine() is db.engine
