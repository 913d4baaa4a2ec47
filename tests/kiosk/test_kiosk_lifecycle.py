"""First start and enrolment through the screen, restart (replay memory survives a kill), trust-list
freshness (stale shown, expired refuses codes with the reason), and the 1080p layout."""
from __future__ import annotations

import time

import pytest

from kiosk_harness import Kiosk, enrol_from_command_line, make_enrolment

pytestmark = pytest.mark.kivy

DAY = 86_400


def enrol_only(data, enrol_file, pin="2468"):
    enrol_from_command_line(data, "--enrol-file", str(enrol_file), pin=pin)


def test_first_start_enrol_with_file_then_replay_survives_kill(tmp_path, issuer):
    enrol = make_enrolment(tmp_path / "venue.json", issuer, time.time())
    data = tmp_path / "data"
    k = Kiosk(tmp_path, data)
    try:
        st = k.state()
        assert st["screen"] == "enrol" and not st["enrolled"]
        k.screenshot("kiosk-enrol.png")
        # online enrolment without the fields filled in: a plain message, no crash
        k.call("press", screen="enrol", id="submit")
        assert k.call("text_of", screen="enrol", id="message") == \
            "Fill in the backend address and the enrolment code."
        # PINs that differ are refused before anything else happens
        k.call("set_text", screen="enrol", id="pin", text="2468")
        k.call("set_text", screen="enrol", id="pin2", text="2469")
        k.call("enrol_file", path=str(enrol))
        k.wait_for(lambda s: s["screen"] == "enrol", 5)
        assert "PIN" in k.call("text_of", screen="enrol", id="message")
        # a file that is not an enrolment file
        bad = tmp_path / "bad.json"
        bad.write_text("{\"venue\": 3}")
        k.call("set_text", screen="enrol", id="pin2", text="2468")
        k.call("enrol_file", path=str(bad))
        k.wait_for(lambda s: "not a valid enrolment file" in k.call("text_of", screen="enrol", id="message"), 5)
        # the real file
        k.call("enrol_file", path=str(enrol))
        st = k.wait_for(lambda s: s["screen"] == "scan" and s["enrolled"], 10, "enrolled")
        assert st["notice"].startswith("Kiosk enrolled for Xiamen Library")
        code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=time.time(), citizen="restart").qr_text
        assert k.scan_hid(code)["status"] == "GRANTED"
    finally:
        k.kill()     # no clean shutdown
    k2 = Kiosk(tmp_path, data, name="kiosk2")
    try:
        st = k2.state()
        assert st["screen"] == "scan" and st["enrolled"] and st["pending"] == 1
        r = k2.scan_hid(code)
        assert r["status"] == "REPLAYED" and r["kind"] == "attention"
        # the PIN set on the enrolment screen is the one that opens the settings
        k2.call("goto", screen="scan")
        k2.call("press", screen="scan", id="staff")
        assert k2.call("pin", digits="2468") == "settings"
    finally:
        k2.quit()


def test_expired_trust_list_refuses_with_reason(tmp_path, issuer):
    # enrolled with a list valid for 7 days, the kiosk then stays offline for 8 (its clock moved on): an
    # already-expired list is not accepted at enrolment, so the kiosk's time is what moves
    t0 = time.time()
    enrol = make_enrolment(tmp_path / "venue.json", issuer, t0,
                           trust_kwargs={"next_update_in": DAY, "valid_for": 7 * DAY})
    data = tmp_path / "data"
    enrol_only(data, enrol)
    k = Kiosk(tmp_path, data)
    try:
        k.call("clock_offset", seconds=8 * DAY)
        t = t0 + 8 * DAY
        st = k.wait_for(lambda s: s["status_bar"]["trust"] == "Trust list EXPIRED", 5, "the expired status")
        assert st["status_bar"]["trust_level"] == "bad"
        code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=t, citizen="tl").qr_text
        r = k.scan_hid(code)
        assert r["status"] == "TRUST_LIST_EXPIRED"
        assert r["heading"] == "NOT GRANTED"
        assert r["reason"] == "This kiosk's trust list has expired: connect it to the network to refresh."
        k.screenshot("kiosk-result-trust-expired.png", settle=0.3)
        k.call("goto", screen="scan")
        k.screenshot("kiosk-scan-trust-expired.png")
        # staff load a fresh list from a USB stick (settings screen): codes are accepted again
        fresh = tmp_path / "trust.jws"
        fresh.write_text(issuer.trust_list(t, sequence=2, perks={}))
        old = tmp_path / "old.jws"
        old.write_text(issuer.trust_list(t - 3600, sequence=0))
        k.call("goto", screen="settings")
        assert k.call("load_trust_file", path=str(old)).startswith("Trust list not loaded")   # rollback refused
        assert k.call("load_trust_file", path=str(fresh)) == "Trust list loaded (sequence 2)"
        st = k.wait_for(lambda s: s["status_bar"]["trust"] == "Trust list fresh", 5)
        assert st["status_bar"]["trust_level"] == "ok"
        r = k.scan_hid(code)
        assert r["status"] == "GRANTED"
    finally:
        k.quit()


def test_stale_trust_list_still_verifies_and_says_so(tmp_path, issuer):
    t = time.time()
    enrol = make_enrolment(tmp_path / "venue.json", issuer, t - 2 * DAY - 60,
                           trust_kwargs={"next_update_in": DAY, "valid_for": 7 * DAY})
    data = tmp_path / "data"
    enrol_only(data, enrol)
    k = Kiosk(tmp_path, data, size="1920x1080")
    try:
        st = k.state()
        assert st["window"] == [1920, 1080]
        # the library's freshness policy keeps a stale kiosk granting for 3 days after next_update
        assert st["status_bar"]["trust"].startswith("Trust list 2 days old · grants until ")
        assert st["status_bar"]["trust_level"] == "warn"
        k.screenshot("kiosk-scan-1080p.png")
        code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=t, citizen="stale").qr_text
        r = k.scan_hid(code)
        assert r["status"] == "GRANTED"
        k.screenshot("kiosk-result-granted-1080p.png", settle=0.3)
    finally:
        k.quit()


def test_sigterm_stops_the_kiosk_cleanly_but_window_close_needs_the_pin(tmp_path, issuer):
    enrol = make_enrolment(tmp_path / "venue.json", issuer, time.time())
    data = tmp_path / "data"
    enrol_only(data, enrol)
    k = Kiosk(tmp_path, data)
    assert k.call("request_close") is True        # the window's close button: PIN screen instead
    assert k.state()["screen"] == "pin"
    k.proc.terminate()                             # systemctl stop
    assert k.proc.wait(20) == 0


def test_kill_while_scanning_loses_no_grant_and_grants_no_code_twice(tmp_path, issuer):
    import sqlite3
    enrol = make_enrolment(tmp_path / "venue.json", issuer, time.time())
    data = tmp_path / "data"
    enrol_only(data, enrol)
    codes = [issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=time.time(), citizen=f"c{i}")
             for i in range(8)]
    k = Kiosk(tmp_path, data)
    for c in codes:                      # a queue of citizens, scanned as fast as the scanner types
        k.call("keys", text=c.qr_text)
    time.sleep(0.3)
    shown = k.state()["results"]         # what staff have seen so far
    k.kill()
    granted_on_screen = sum(1 for r in shown if r["status"] == "GRANTED")
    with sqlite3.connect(data / "kiosk.sqlite") as conn:
        logged = [row[0] for row in conn.execute("SELECT jti FROM redemptions")]
    assert len(logged) >= granted_on_screen          # every green screen was logged first
    assert len(set(logged)) == len(logged)           # and no code twice
    k2 = Kiosk(tmp_path, data, name="after-kill")
    try:
        for c in codes:
            r = k2.scan_hid(c.qr_text)
            if c.jti in logged:
                assert r["status"] == "REPLAYED"     # accepted before the kill: never again
            else:
                assert r["status"] in ("GRANTED", "REPLAYED")
    finally:
        k2.quit()
    with sqlite3.connect(data / "kiosk.sqlite") as conn:
        final = [row[0] for row in conn.execute("SELECT jti FROM redemptions")]
    assert len(set(final)) == len(final) and set(logged) <= set(final)
