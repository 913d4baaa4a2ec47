"""The kiosk's decisions that are not drawing: status-bar rules, key routing and the PIN rule, each a plain
function tested without a window (issue 12 item 4)."""
from __future__ import annotations

from partner_sdk import Freshness, FreshnessState
from partner_sdk.freshness_policy import PolicyAnswer, PolicyState

from kiosk.core import status_bar
from kiosk.pin_rule import could_be_pin, is_valid_pin
from kiosk.scan.hid import HIDAccumulator, route_key
from kiosk.store import hash_pin
from kiosk.sync import SyncMode

import pytest


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
