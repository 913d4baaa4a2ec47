"""The progress line of long commands (backend/cli/progress.py): what an operator at a terminal reads, how often
it is redrawn, and that a cron job's log gets nothing."""
from __future__ import annotations

import io

from backend.cli.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_terminal_shows_rows_rate_and_time_left():
    term, clock = Terminal(), Clock()
    p = Progress(1_000_000, "scores import", term, clock=clock)
    clock.t += 10
    p.advance(200_000)
    shown = term.getvalue().split("\r")[-1]
    assert "scores import: 200,000 / 1,000,000 rows (20%)" in shown
    assert "20,000 rows/s" in shown
    assert "0:40 left" in shown  # 800,000 rows at 20,000 a second
    clock.t += 40
    p.advance(800_000)
    p.done()
    out = term.getvalue()
    assert out.endswith("\n")
    assert "1,000,000 / 1,000,000 rows (100%), 20,000 rows/s, took 0:50" in out.split("\r")[-1]


def test_redraws_at_most_five_times_a_second():
    term, clock = Terminal(), Clock()
    p = Progress(10_000, "purge", term, clock=clock)
    for _ in range(1000):  # 1,000 advances over one second
        clock.t += 0.001
        p.advance(10)
    assert 1 <= term.getvalue().count("\r") <= 6


def test_unknown_total_shows_rows_and_rate_without_time_left():
    term, clock = Terminal(), Clock()
    p = Progress(None, "import", term, clock=clock)
    clock.t += 2
    p.advance(5000)
    shown = term.getvalue().split("\r")[-1]
    assert "import: 5,000 rows" in shown and "2,500 rows/s" in shown and "left" not in shown


def test_silent_when_not_a_terminal():
    log, clock = io.StringIO(), Clock()  # cron, a pipe, a file
    with Progress(100, "retention", log, clock=clock) as p:
        clock.t += 1
        p.advance(100)
    assert log.getvalue() == ""


def test_done_twice_writes_one_final_line():
    term, clock = Terminal(), Clock()
    p = Progress(3, "import", term, clock=clock)
    p.advance(3)
    p.done()
    p.done()
    assert term.getvalue().count("\n") == 1


def test_retention_purge_reports_each_batch_it_commits(h):
    """`flask retention purge` advances its display per committed batch: what it is told adds up to what went."""
    import uuid

    from backend.extensions import db
    from backend.models import Device, RedemptionRejection
    from backend.services import retention

    now = 2_000_000_000
    device = db.session.query(Device).filter_by(public_id=h.enrol(h.venue("Gate", "metro", ["MOLI-METRO20"]))
                                                ["device_id"]).one()
    db.session.add_all([RedemptionRejection(client_id=str(uuid.uuid4()), device_id=device.id, reason="unknown_perk",
                                            received_at=now - 200 * 86400) for _ in range(7)])
    db.session.commit()
    told: list[int] = []
    out = retention.purge(now, 180, batch_size=3, on_batch=told.append)
    assert out["redemption_rejections"] == 7
    assert sum(told) == sum(out.values()) and [n for n in told if n] == [3, 3, 1]
