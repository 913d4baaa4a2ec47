"""The kiosk's decisions that are not drawing: status-bar rules, key routing and the PIN rule, each a plain
function tested without a window (issue 12 item 4)."""
from __future__ import annotations

import json
import sqlite3

import pytest
from partner_sdk import Freshness, FreshnessState
from partner_sdk.venue_policy import PolicyAnswer, PolicyState

from kiosk.core import status_bar
from kiosk.pin_rule import could_be_pin, is_valid_pin
from kiosk.scan.hid import HIDAccumulator, route_key
from kiosk.store import MIGRATIONS, SCHEMA_VERSION, Store, hash_pin
from kiosk.sync import SyncMode, SyncService, backoff_delay


def _bar(**kw):
    args = dict(mode=SyncMode.ONLINE, freshness=Freshness(FreshnessState.FRESH, 10), policy=None, pending=0,
                uploads=True, last_sync=None, lang="en")
    args.update(kw)
    return status_bar(**args)


def test_status_bar_network_and_uploads():
    bar = _bar(pending=3)
    assert (bar.net, bar.net_level, bar.pending, bar.pending_level) == ("Online", "ok", "3 to upload", "info")
    assert bar.sync == "Never synced" and (bar.trust, bar.trust_level) == ("Trust list fresh", "ok")
    off = _bar(mode=SyncMode.OFFLINE, pending=2)
    assert (off.net, off.net_level, off.pending_level) == ("Offline", "warn", "warn")  # uploads waiting offline
    assert _bar(mode=SyncMode.UNAUTHORISED).net_level == "bad"
    assert _bar(pending=0).pending == "All uploaded"
    alone = _bar(mode=SyncMode.STANDALONE, pending=4, last_sync=1_795_000_000)
    assert (alone.net, alone.pending, alone.sync) == ("Offline kiosk", "4 logged here", "")  # the pill hides
    # enrolled from a file with a backend for trust lists only: nothing is uploaded, say so
    assert _bar(uploads=False, pending=4).pending == "4 logged here"
    assert _bar(lang="zh-CN").net == "在线"


def test_status_bar_trust_list_grace_and_stop():
    stale = Freshness(FreshnessState.STALE, 7200)
    grace = _bar(freshness=stale, policy=PolicyAnswer(PolicyState.GRACE, 1_795_000_000, 3600))
    assert grace.trust.startswith("Trust list 2 h old · grants until ") and grace.trust_level == "warn"
    stopped = _bar(freshness=stale, policy=PolicyAnswer(PolicyState.STOPPED, 1_795_000_000, 3600))
    assert (stopped.trust, stopped.trust_level) == ("Trust list too old: not granting", "bad")
    assert _bar(freshness=Freshness(FreshnessState.MISSING), policy=None).trust == "No trust list"


class Pad:
    def __init__(self):
        self.calls: list[str] = []

    def press(self, d): self.calls.append(d)
    def backspace(self): self.calls.append("<")
    def clear(self): self.calls.append("clear")
    def submit(self): self.calls.append("submit")


def test_key_routing_on_scan_screen_feeds_the_scanner_accumulator():
    got: list[str] = []
    acc = HIDAccumulator(got.append, min_length=6, clock=lambda: 0.0)
    for ch in "pp1234567":
        route_key(acc, ord(ch), ch, ["shift"] if ch.isalpha() else [], pin_pad=None, on_code=got.append)
    assert route_key(acc, 13, None, [], pin_pad=None, on_code=got.append) is True
    assert got == ["PP1234567"]  # Shift makes the letters capitals, as a wedge scanner types them


def test_key_routing_on_pin_screen_tells_a_pin_from_a_scanned_code():
    codes: list[str] = []
    acc = HIDAccumulator(codes.append, min_length=6, clock=lambda: 0.0)
    pad = Pad()
    for ch in "1234":
        route_key(acc, ord(ch), ch, [], pin_pad=pad, on_code=codes.append)
    route_key(acc, 8, None, [], pin_pad=pad, on_code=codes.append)
    route_key(acc, 13, None, [], pin_pad=pad, on_code=codes.append)
    assert pad.calls == ["1", "2", "3", "4", "<", "submit"] and codes == []
    pad.calls.clear()
    for ch in "PP1999":
        route_key(acc, ord(ch.lower()), ch.lower(), ["capslock"], pin_pad=pad, on_code=codes.append)
    route_key(acc, 271, None, [], pin_pad=pad, on_code=codes.append)
    assert codes == ["PP1999"] and pad.calls[-1] == "clear" and "submit" not in pad.calls  # not a wrong PIN


@pytest.mark.parametrize("pin,ok", [("1234", True), ("123456789012", True), ("123", False),
                                    ("1234567890123", False), ("12a4", False), ("", False), (1234, False)])
def test_one_pin_rule(pin, ok):
    assert is_valid_pin(pin) is ok
    if ok:
        assert hash_pin(pin).startswith("scrypt$")
    else:
        with pytest.raises(ValueError):
            hash_pin(pin)


def test_could_be_pin():
    assert could_be_pin("") and could_be_pin("12") and could_be_pin("123456789012")
    assert not could_be_pin("1234567890123") and not could_be_pin("PP1")


# -- sync retries (issue 12 item 6) ------------------------------------------------------------------


def test_backoff_is_exponential_capped_and_jittered():
    assert [backoff_delay(n, base=10, cap=300, rand=lambda: 0.999999) for n in (1, 2, 3, 4, 5, 6, 7)] == \
        pytest.approx([10, 20, 40, 80, 160, 300, 300], abs=1e-3)
    assert [backoff_delay(n, base=10, cap=300, rand=lambda: 0.0) for n in (1, 2, 6, 1000)] == [5, 10, 150, 150]
    assert backoff_delay(0, base=10, cap=300, rand=lambda: 0.5) == 10


class FlakyBackend:
    """A backend client whose health the test switches; no token, no trust list: a round is one health check."""

    device_token = None

    def __init__(self):
        self.up = False
        self.checks = 0

    def health(self):
        self.checks += 1
        return self.up


def test_sync_backs_off_while_the_backend_is_down_and_resets_when_it_answers(tmp_path):
    clock = [1_795_000_000.0]
    draws = iter([0.0, 0.5, 1.0 - 1e-9, 0.25, 0.0, 0.0])
    backend = FlakyBackend()
    svc = SyncService(Store(tmp_path / "k.sqlite"), backend, trust_url=None, trust_etag=lambda: None,
                      trust_loader=lambda b, e: None, trust_needs_refresh=lambda: False, interval=10,
                      offline_interval=20, retry_cap=100, clock=lambda: clock[0], rand=lambda: next(draws))
    waits = []
    for _ in range(5):
        st = svc.run_once()
        waits.append(st.retry_at - clock[0])
        clock[0] += 1000
    # ceilings 20, 40, 80, 100 (cap), 100; each a draw between half and all of it
    assert waits == pytest.approx([10, 30, 80, 62.5, 50])
    assert st.mode == "offline" and st.failures == 5
    backend.up = True
    st = svc.run_once()
    assert st.mode == "online" and st.failures == 0 and st.retry_at == clock[0] + 10
    backend.up = False
    assert svc.run_once().retry_at == clock[0] + 10  # the first failure after a success starts again low


# -- store migrations (issue 12 item 6) ----------------------------------------------------------------

# The schema as kiosk/store.py created it before migrations existed (schema_version 1): kiosks in the field
# have databases like this one.
SCHEMA_BEFORE_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS redemptions (id TEXT PRIMARY KEY, jti TEXT NOT NULL, pseudonym TEXT NOT NULL,
    perk TEXT NOT NULL, scanned_at INTEGER NOT NULL, synced_at INTEGER, server_status TEXT);
CREATE INDEX IF NOT EXISTS redemptions_pending ON redemptions (scanned_at) WHERE synced_at IS NULL;
CREATE INDEX IF NOT EXISTS redemptions_jti ON redemptions (jti);
CREATE TABLE IF NOT EXISTS scans (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, day TEXT NOT NULL,
    status TEXT NOT NULL, perk TEXT, source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS scans_day ON scans (day, status);
INSERT OR IGNORE INTO settings(key, value) VALUES ('schema_version', '1');
"""


def _old_database(path):
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_BEFORE_MIGRATIONS)
    conn.execute("INSERT INTO redemptions VALUES ('r1', 'j1', 'p1', 'LIB', 1795000000, NULL, NULL)")
    conn.execute("INSERT INTO scans(at, day, status, perk, source) VALUES (1795000000, '2026-11-17', 'GRANTED', "
                 "'LIB', 'hid')")
    conn.execute("INSERT INTO settings VALUES ('enrolment', ?)", (json.dumps({"venue": {"name": "Bailu"}}),))
    conn.commit()
    conn.close()


def test_a_database_from_before_migrations_is_upgraded_keeping_its_data(tmp_path):
    path = tmp_path / "kiosk.sqlite"
    _old_database(path)

    def m002_add_note(conn):  # a future schema change
        conn.execute("ALTER TABLE redemptions ADD COLUMN note TEXT")

    store = Store(path, migrations=[*MIGRATIONS, m002_add_note], now=1_795_000_100)
    assert store.migrations_applied == ["m001_initial", "m002_add_note"]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT id, jti, note FROM redemptions").fetchall() == [("r1", "j1", None)]
    assert store.get("enrolment") == {"venue": {"name": "Bailu"}} and store.get("schema_version") == 2
    assert store.stats_for_day("2026-11-17")["grants"] == {"LIB": 1}
    assert conn.execute("SELECT name, applied_at FROM migrations ORDER BY name").fetchall() == [
        ("m001_initial", 1_795_000_100), ("m002_add_note", 1_795_000_100)]
    conn.close()
    store.close()
    again = Store(path, migrations=[*MIGRATIONS, m002_add_note])
    assert again.migrations_applied == []  # applied once: ALTER TABLE twice would fail
    again.close()


def test_current_schema_opens_an_old_database_unchanged(tmp_path):
    path = tmp_path / "kiosk.sqlite"
    _old_database(path)
    store = Store(path)
    assert store.migrations_applied == ["m001_initial"] and store.get("schema_version") == SCHEMA_VERSION == 1
    assert [r.id for r in store.pending()] == ["r1"] and store.pending_count() == 1
    store.close()


def test_a_failing_migration_leaves_nothing_behind_and_is_retried(tmp_path):
    path = tmp_path / "kiosk.sqlite"
    Store(path).close()

    def m002_half_done(conn):
        conn.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("disk said no")

    with pytest.raises(sqlite3.OperationalError):
        Store(path, migrations=[*MIGRATIONS, m002_half_done])
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchall() == []
    assert conn.execute("SELECT name FROM migrations").fetchall() == [("m001_initial",)]
    conn.close()
