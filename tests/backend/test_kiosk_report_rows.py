"""What a kiosk's self-report stores, report after report (issue 13's rules). Runs on SQLite, where the ORM path
stores it, and on PostgreSQL, where one upsert does (services/kiosk_reports.py): the same rows on both."""
from __future__ import annotations

import time


def _rows(device_public_id: str):
    from backend.extensions import db
    from backend.models import Device
    from backend.models.console import KioskReport, KioskScanCount
    db.session.expire_all()
    d = db.session.query(Device).filter_by(public_id=device_public_id).one()
    rep = db.session.get(KioskReport, d.id)
    report = None if rep is None else (rep.reported_at is not None, rep.app_version, rep.trust_list_seq,
                                       rep.trust_list_issued_at, rep.trust_list_next_update, rep.pending)
    counts = {(c.day, c.status): c.count for c in db.session.query(KioskScanCount).filter_by(device_id=d.id)}
    return report, counts, d.last_seen_at


def test_each_report_replaces_what_it_names_and_keeps_the_rest(h, client):
    dev = h.enrol(h.venue("Gate", "metro"))
    auth = h.bearer(dev["device_token"])
    before = int(time.time())

    def send(body, stored):
        r = client.post("/api/v1/kiosk/report", json=body, headers=auth)
        assert r.status_code == 200 and r.json == {"stored": stored}, r.json
        return _rows(dev["device_id"])

    report, counts, seen = send({"pending": 3}, 0)  # the first report: only what it names is set
    assert report == (True, None, None, None, None, 3) and counts == {} and seen >= before
    report, counts, _ = send({"app_version": "1.4.0", "trust_list": {"seq": 9, "issued_at": 100, "next_update": 200},
                              "scans": [{"day": "2026-11-30", "counts": {"GRANTED": 5, "EXPIRED": 1}}]}, 2)
    assert report == (True, "1.4.0", 9, 100, 200, 3)  # pending not named: kept
    assert counts == {("2026-11-30", "GRANTED"): 5, ("2026-11-30", "EXPIRED"): 1}
    # a later total of a day replaces it; a day named twice keeps its later total
    report, counts, _ = send({"pending": 0,
                              "scans": [{"day": "2026-11-30", "counts": {"GRANTED": 7}},
                                        {"day": "2026-12-01", "counts": {"GRANTED": 1}},
                                        {"day": "2026-12-01", "counts": {"GRANTED": 2, "REPLAYED": 1}}]}, 4)
    assert report == (True, "1.4.0", 9, 100, 200, 0)
    assert counts == {("2026-11-30", "GRANTED"): 7, ("2026-11-30", "EXPIRED"): 1, ("2026-12-01", "GRANTED"): 2,
                      ("2026-12-01", "REPLAYED"): 1}
    report, _, _ = send({"trust_list": {"seq": None, "issued_at": 300}}, 0)  # named fields of a given list: all set
    assert report == (True, "1.4.0", None, 300, None, 0)
    report, counts, _ = send({}, 0)
    assert report == (True, "1.4.0", None, 300, None, 0) and len(counts) == 4
