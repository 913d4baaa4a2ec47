"""Fast tests of the kiosk's parts without a window: store, PIN, HID accumulator, decoder, capture sources,
camera worker, core decisions and i18n."""
from __future__ import annotations

import http.server
import json
import sqlite3
import threading
import time

import cv2
import numpy as np
import pytest

from kiosk import i18n
from kiosk.core import EnrolmentError, KioskCore
from kiosk.scan import CameraWorker, FolderWatchSource, HIDAccumulator, ImageFilesSource, decode_frame, normalise_scan
from kiosk.scan.sources import open_source
from kiosk.store import Store, hash_pin, verify_pin
from kiosk.sync import BackendClient, SyncService, normalise_base_url
from kiosk_harness import make_enrolment, qr_file


# -- store ------------------------------------------------------------------------------------------
def test_store_is_wal_with_full_sync(tmp_path):
    s = Store(tmp_path / "k.sqlite")
    conn = s._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_kiosk_log_row_is_an_upload_item(tmp_path):
    """The kiosk's log produces what partner_sdk.upload defines (and so what the backend loads)."""
    from partner_sdk import upload
    store = Store(tmp_path / "k.sqlite", now=1_796_000_000)
    made = store.record_scan(status="GRANTED", source="manual", now=1_796_000_000, jti="abcdEFGH1234_-xy",
                             pseudonym="ABCDEFGHIJKLMNOPQRSTUVA", perks=["MOLI-METRO20", "MOLI-METRO-PRIORITY"])
    wire = [r.to_wire() for r in made]
    assert upload.plain_batch({"redemptions": wire}) == wire
    assert [set(w) for w in wire] == [set(upload.FIELDS)] * 2
    store.close()


def test_grant_is_logged_with_uuid_and_sync_marking_is_idempotent(tmp_path):
    s = Store(tmp_path / "k.sqlite")
    made = s.record_scan(status="GRANTED", source="camera", now=1_795_000_000, jti="J" * 16,
                         pseudonym="P" * 22, perks=["A-1", "B-2"])
    assert len(made) == 2 and len({r.id for r in made}) == 2
    s.record_scan(status="EXPIRED", source="hid", now=1_795_000_001)
    assert s.pending_count() == 2
    assert [r.perk for r in s.pending()] == ["A-1", "B-2"] or sorted(r.perk for r in s.pending()) == ["A-1", "B-2"]
    assert s.mark_synced([(made[0].id, "accepted")], 1_795_000_100) == 1
    assert s.mark_synced([(made[0].id, "duplicate")], 1_795_000_200) == 0   # already marked: unchanged
    assert s.pending_count() == 1
    assert s.redemption_for_jti("J" * 16).scanned_at == 1_795_000_000
    wire = made[1].to_wire()
    assert set(wire) == {"id", "jti", "pseudonym", "perk", "scanned_at"}


def test_stats_per_day(tmp_path):
    s = Store(tmp_path / "k.sqlite")
    now = time.time()
    for _ in range(3):
        s.record_scan(status="GRANTED", source="hid", now=now, jti="j", pseudonym="p", perks=["LIB"])
    s.record_scan(status="EXPIRED", source="hid", now=now)
    s.record_scan(status="EXPIRED", source="camera", now=now)
    s.record_scan(status="REPLAYED", source="camera", now=now)
    s.record_scan(status="EXPIRED", source="camera", now=now - 3 * 86400)
    from kiosk.store import local_day
    st = s.stats_for_day(local_day(now))
    assert st == {"grants": {"LIB": 3}, "refusals": {"EXPIRED": 2, "REPLAYED": 1}}


def test_prune_keeps_pending_redemptions(tmp_path):
    s = Store(tmp_path / "k.sqlite")
    old = time.time() - 90 * 86400
    synced = s.record_scan(status="GRANTED", source="hid", now=old, jti="a", pseudonym="p", perks=["X"])
    s.record_scan(status="GRANTED", source="hid", now=old, jti="b", pseudonym="p", perks=["X"])
    s.mark_synced([(synced[0].id, "accepted")], old)
    s.prune(time.time())
    left = s.all_redemptions()
    assert len(left) == 1 and left[0].jti == "b"     # never delete what the backend has not got


def test_pin_hash_and_lockout(tmp_path):
    h = hash_pin("2468")
    assert h.startswith("scrypt$") and "2468" not in h
    assert verify_pin("2468", h) and not verify_pin("2469", h) and not verify_pin("2468", "garbage")
    with pytest.raises(ValueError):
        hash_pin("12a4")
    s = Store(tmp_path / "k.sqlite")
    s.set_pin("2468")
    raw = sqlite3.connect(tmp_path / "k.sqlite").execute("SELECT value FROM settings WHERE key='pin_hash'").fetchone()[0]
    assert "2468" not in raw
    t = 1_795_000_000
    for i in range(4):
        assert s.check_pin("0000", t + i) == (False, 0)
    ok, wait = s.check_pin("0000", t + 5)
    assert not ok and wait == 60
    assert s.check_pin("2468", t + 6)[0] is False                 # locked even with the right PIN
    assert s.check_pin("2468", t + 70) == (True, 0)


# -- HID --------------------------------------------------------------------------------------------
def test_hid_accumulator():
    got = []
    clock = [0.0]
    h = HIDAccumulator(got.append, clock=lambda: clock[0], min_length=6)
    for ch in "PP1234567":
        clock[0] += 0.005
        h.feed_key(ord(ch.lower()), ch)
    assert h.feed_key(13, None) is True and got == ["PP1234567"]
    # slow typing with a long pause: the half-typed buffer is dropped
    h.feed_key(ord("1"), "1")
    clock[0] += 5
    for ch in "ABC":
        h.feed_key(0, ch)
    clock[0] += 5
    assert h.feed_key(271, None) is False and got == ["PP1234567"]
    # too short, control characters ignored
    for ch in "12\x00":
        h.feed_key(0, ch)
    assert h.feed_enter() is False


def test_normalise_scan():
    assert normalise_scan("  PP1123\r\n") == "PP1123"
    assert normalise_scan(b"\xffPP1") == "\ufffdPP1"
    assert normalise_scan(None) == ""
    assert len(normalise_scan("9" * 10000)) == 4096


# -- decoding and sources ---------------------------------------------------------------------------
def test_decoder_reads_issuer_code_and_survives_junk(issuer, tmp_path):
    code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=time.time()).qr_text
    png = qr_file(tmp_path / "c.png", code, box_size=3)
    frame = cv2.imread(str(png))
    assert decode_frame(frame) == [code]
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert decode_frame(gray) == [code]
    rot = cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE)
    assert decode_frame(rot, fast=False) == [code]
    for junk in (np.zeros((0, 0, 3), np.uint8), np.zeros((1, 1), np.uint8), None,
                 np.random.default_rng(0).integers(0, 255, (480, 640, 3), np.uint8),
                 np.zeros((480, 640, 4), np.uint8)):
        assert decode_frame(junk) == []


def test_folder_source_ignores_old_and_broken_files(issuer, tmp_path):
    (tmp_path / "old.png").write_bytes(b"x")
    src = FolderWatchSource(str(tmp_path), fps=200, hold_s=0.2)
    src.open()
    blank = src.read()
    assert blank.shape == (480, 640, 3)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG broken")
    code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=time.time()).qr_text
    time.sleep(0.15)
    qr_file(tmp_path / "z-good.png", code)
    seen = []
    t_end = time.monotonic() + 2
    while time.monotonic() < t_end and not seen:
        seen = decode_frame(src.read())
    assert seen == [code]


def test_image_files_source_and_camera_worker_report_once(issuer, tmp_path):
    code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=time.time()).qr_text
    png = qr_file(tmp_path / "c.png", code)
    src = ImageFilesSource([str(png), str(tmp_path / "missing.png")], fps=500, hold=6, gap=2, loop=False)
    got = []
    w = CameraWorker(src, lambda text, t: got.append((text, t)))
    src.open()
    for _ in range(40):
        w.step()
    assert [g[0] for g in got] == [code]             # held for 6 frames, reported once
    assert w.stats()["frames"] == 40 and w.errors == 0
    seq, frame = w.latest_frame()
    assert seq == 40 and frame.shape == (480, 640, 3)


def test_camera_worker_thread_survives_failing_source_and_handler():
    class Flaky:
        name = "flaky"
        n = 0

        def open(self): pass
        def close(self): pass
        def describe(self): return "flaky"

        def read(self):
            self.n += 1
            if self.n % 3 == 0:
                raise OSError("USB unplugged")
            time.sleep(0.005)
            return np.zeros((48, 64, 3), np.uint8)

    def boom(_frame, **_kw):
        raise RuntimeError("decoder bug")

    w = CameraWorker(Flaky(), lambda *_: None, decode=boom)
    w.start()
    time.sleep(0.5)
    assert w.running
    w.stop()
    assert w.errors > 0 and w.frames > 0


def test_open_source_specs(tmp_path):
    assert open_source("none").read() is None
    assert open_source(f"folder:{tmp_path}").name.startswith("folder:")
    assert open_source("images:a.png,b.png").paths == ["a.png", "b.png"]
    assert open_source("camera:2").index == 2 and open_source("1").index == 1
    with pytest.raises(ValueError):
        open_source("webcam")


# -- core -------------------------------------------------------------------------------------------
def test_core_decisions_replay_after_restart_and_bad_enrolment(tmp_path, issuer):
    now = time.time()
    enrol = make_enrolment(tmp_path / "e.json", issuer, now)
    core = KioskCore(tmp_path / "d", sync_interval=60)
    with pytest.raises(EnrolmentError) as e:
        core.enrol_from_file(enrol, pin="12")
    assert e.value.kind == "pin"
    (tmp_path / "junk.json").write_text("[1, 2]")
    with pytest.raises(EnrolmentError):
        core.enrol_from_file(tmp_path / "junk.json", pin="2468")
    forged = json.loads(enrol.read_text())
    forged["trust_list"] = forged["trust_list"][:-5] + "AAAAA"
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    with pytest.raises(EnrolmentError):
        core.enrol_from_file(tmp_path / "forged.json", pin="2468")
    assert not core.enrolled
    core.enrol_from_file(enrol, pin="2468")
    code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=now).qr_text
    r = core.process(code, "hid")
    assert r.status == "GRANTED" and r.perks == ("BAILU-LIB-DEPOSIT",) and len(r.redemption_ids) == 1
    for junk in (None, 42, b"\x00" * 10, "PP1" + "9" * 5000, object()):
        assert core.process(junk, "hid").status in ("MALFORMED", "ERROR")
    core.close()
    core2 = KioskCore(tmp_path / "d", sync_interval=60)
    r2 = core2.process(code, "hid")
    assert r2.status == "REPLAYED" and r2.used_at == int(r.at) and "Already used here at" in r2.reason("en")
    core2.close()


def test_core_with_several_perks_and_a_selected_perk(tmp_path, issuer):
    now = time.time()
    perks = [{"code": "LIB-A", "title": {"en": "A", "zh-CN": "甲"}}, {"code": "LIB-B", "title": {"en": "B"}}]
    enrol = make_enrolment(tmp_path / "e.json", issuer, now, perks=perks)
    core = KioskCore(tmp_path / "d", sync_interval=60)
    core.enrol_from_file(enrol, pin="2468")
    both = issuer.credential("library", ["LIB-A", "LIB-B", "OTHER"], now=now, citizen="x").qr_text
    r = core.process(both)
    assert r.status == "GRANTED" and r.perks == ("LIB-A", "LIB-B")   # OTHER is not offered here
    core.select_perk("LIB-B")
    only_a = issuer.credential("library", ["LIB-A"], now=now, citizen="y").qr_text
    assert core.process(only_a).status == "NOT_ENTITLED"
    none_here = issuer.credential("library", ["OTHER"], now=now, citizen="z").qr_text
    core.select_perk(None)
    assert core.process(none_here).status == "NOT_ENTITLED"
    assert core.maybe_prune() is True and core.maybe_prune() is False     # at most hourly
    assert core.store.pending_count() == 2                                  # unsynced rows stay
    core.close()


def test_sync_service_reports_offline_without_losing_anything(tmp_path):
    store = Store(tmp_path / "k.sqlite")
    store.record_scan(status="GRANTED", source="hid", now=time.time(), jti="j" * 10, pseudonym="p" * 10,
                      perks=["X"])
    client = BackendClient("http://127.0.0.1:9", device_token="t", timeout=0.5)   # discard port: refused
    svc = SyncService(store, client, trust_url=client.url("/api/v1/trust-list"), trust_etag=lambda: None,
                      trust_loader=lambda b, e: None, trust_needs_refresh=lambda: True)
    st = svc.run_once()
    assert st.mode == "offline" and st.pending == 1
    assert normalise_base_url("perkpass.example.city/") == "http://perkpass.example.city"
    with pytest.raises(ValueError):
        normalise_base_url("ftp://x")


# -- i18n -------------------------------------------------------------------------------------------
def test_every_text_has_both_languages_and_every_status_a_reason():
    from partner_sdk import Status
    for key, entry in i18n.TEXTS.items():
        assert entry.get("en") and entry.get("zh-CN"), key
    for st in Status:
        assert "reason." + st.value in i18n.TEXTS and "status.short." + st.value in i18n.TEXTS
        assert st.value in i18n.RESULT_KIND
    assert i18n.result_kind("GRANTED") == "granted" and i18n.result_kind("REPLAYED") == "attention"
    assert i18n.human_age(3 * 86400, "en") == "3 days" and i18n.human_age(90, "zh-CN") == "90 秒"
    assert i18n.find_cjk_font() is not None


def test_no_text_mentions_score_or_band():
    for entry in i18n.TEXTS.values():
        for text in entry.values():
            assert "score" not in text.lower() and "band" not in text.lower() and "分数" not in text


def test_sounds_are_distinct_wavs():
    import wave
    from pathlib import Path
    d = Path(__file__).resolve().parents[2] / "kiosk" / "sounds"
    data = {}
    for name in ("granted", "refused", "attention"):
        with wave.open(str(d / f"{name}.wav")) as w:
            assert w.getnchannels() == 1 and w.getframerate() == 22050
            data[name] = w.readframes(w.getnframes())
            assert 0.2 < w.getnframes() / w.getframerate() < 1.0
    assert len(set(data.values())) == 3


def test_a_band_carried_by_a_code_is_never_kept_or_shown(tmp_path, issuer):
    now = time.time()
    core = KioskCore(tmp_path / "d", sync_interval=60)
    core.enrol_from_file(make_enrolment(tmp_path / "e.json", issuer, now), pin="2468")
    code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=now, band="EXCELLENT").qr_text
    r = core.process(code, "hid")
    assert r.status == "GRANTED"
    assert "EXCELLENT" not in repr(r) and not hasattr(r, "band")
    dump = b"".join(p.read_bytes() for p in (tmp_path / "d").glob("*.sqlite*"))
    assert b"EXCELLENT" not in dump
    core.close()


class JsonHandler(http.server.BaseHTTPRequestHandler):
    """A scripted backend for sync tests: subclasses answer with ``self._json(status, body)``."""

    def log_message(self, *a):
        pass

    def _json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(handler: type[JsonHandler]) -> http.server.ThreadingHTTPServer:
    """Start a scripted backend on a free loopback port (stop it with ``shutdown()``)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_trust_list_refresh_uses_etag_and_upload_is_batched(tmp_path):
    """The sync round against a scripted HTTP server: If-None-Match -> 304, batches of at most N."""
    seen = {"if_none_match": [], "batches": []}

    class Handler(JsonHandler):
        def do_GET(self):
            if self.path == "/api/v1/health":
                return self._json(200, {"status": "ok"})
            inm = self.headers.get("If-None-Match")
            seen["if_none_match"].append(inm)
            if inm == '"v1"':
                self.send_response(304)
                self.end_headers()
                return
            body = b"TRUST-LIST-V1"
            self.send_response(200)
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            assert self.headers["Authorization"] == "Bearer tok"
            items = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["redemptions"]
            seen["batches"].append(len(items))
            self._json(200, {"results": [{"id": i["id"], "status": "accepted"} for i in items],
                             "accepted": len(items), "duplicates": 0})

    server = serve(Handler)
    try:
        store = Store(tmp_path / "k.sqlite")
        for i in range(7):
            store.record_scan(status="GRANTED", source="hid", now=time.time(), jti=f"jti{i:06d}",
                              pseudonym="p" * 12, perks=["X"])
        etag = {"v": None}
        loaded = []

        def loader(body, new_etag):
            loaded.append(body)
            etag["v"] = new_etag

        client = BackendClient(f"http://127.0.0.1:{server.server_port}", device_token="tok")
        svc = SyncService(store, client, trust_url=client.url("/api/v1/trust-list"), trust_etag=lambda: etag["v"],
                          trust_loader=loader, trust_needs_refresh=lambda: True, batch_size=3)
        st = svc.run_once()
        assert st.mode == "online" and st.pending == 0 and st.last_sync
        assert seen["batches"] == [3, 3, 1]
        assert loaded == [b"TRUST-LIST-V1"] and etag["v"] == '"v1"'
        svc.run_once()
        assert seen["if_none_match"] == [None, '"v1"'] and len(loaded) == 1     # 304: nothing reloaded
        assert svc.run_once().uploaded_total == 7
    finally:
        server.shutdown()


def test_re_enrolment_waits_until_the_old_enrolments_log_is_uploaded(tmp_path, issuer):
    now = time.time()
    enrol = make_enrolment(tmp_path / "e.json", issuer, now)
    other = json.loads(enrol.read_text())
    other["venue"]["id"] = "v-2"
    (tmp_path / "other.json").write_text(json.dumps(other))
    core = KioskCore(tmp_path / "d", sync_interval=60)
    core.enrol_from_file(enrol, pin="2468")
    core.process(issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=now).qr_text)
    core.enrol_from_file(enrol, pin="2468")                 # same venue (e.g. going online): the log stays
    assert core.store.pending_count() == 1
    with pytest.raises(EnrolmentError) as e:
        core.enrol_from_file(tmp_path / "other.json", pin="2468")
    assert e.value.kind == "pending" and "not uploaded yet" in e.value.detail
    core.store.mark_synced([(r.id, "accepted") for r in core.store.pending()], now)
    core.enrol_from_file(tmp_path / "other.json", pin="1357")   # nothing pending: fine
    assert core.store.check_pin("1357", now)[0]
    core.close()


def test_a_row_the_backend_refuses_is_set_aside_and_does_not_block_the_queue(tmp_path):
    stored = []

    class Handler(JsonHandler):
        def do_GET(self):
            self._json(200, {"status": "ok"})

        def do_POST(self):
            items = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["redemptions"]
            if any(not i["perk"].isupper() for i in items):
                return self._json(400, {"error": {"code": "validation_error", "message": "bad perk",
                                                  "fields": {"redemptions": ["perk"]}}})
            stored.extend(i["id"] for i in items)
            self._json(200, {"results": [{"id": i["id"], "status": "accepted"} for i in items],
                             "accepted": len(items), "duplicates": 0})

    server = serve(Handler)
    try:
        store = Store(tmp_path / "k.sqlite")
        for i in range(5):
            store.record_scan(status="GRANTED", source="hid", now=time.time() + i, jti=f"jti{i:06d}",
                              pseudonym="p" * 12, perks=["bad-perk" if i == 2 else "GOOD"])
        client = BackendClient(f"http://127.0.0.1:{server.server_port}", device_token="tok")
        svc = SyncService(store, client, trust_url=None, trust_etag=lambda: None, trust_loader=lambda b, e: None,
                          trust_needs_refresh=lambda: False)
        st = svc.run_once()
        assert st.pending == 0 and len(stored) == 4
        rejected = [r for r in store.all_redemptions() if r.server_status == "rejected"]
        assert [r.perk for r in rejected] == ["bad-perk"]
    finally:
        server.shutdown()
