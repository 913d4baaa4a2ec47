"""The kiosk against a real backend server process (gunicorn, SQLite file): online enrolment through the
enrolment screen, a citizen code issued by the backend and granted offline, redemption upload, trust-list
refresh with ETag, working through a backend outage, and a kill -9 in the middle of a sync that loses and
duplicates nothing."""
from __future__ import annotations

import base64
import json
import os
import socket
import sqlite3
import subprocess
import sys
import struct
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from kiosk_harness import REPO, Kiosk, enrol_from_command_line, qr_file

pytestmark = pytest.mark.kivy

BIN = Path(sys.executable).parent
LIBRARY_VENUE = "Xiamen Library - Main desk"
BAILU_GOOD = "+8613900000203"   # seed-demo citizen with deposit-free library borrowing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(base: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    req = urllib.request.Request(base + path, method="POST" if body is not None else "GET",
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


class Backend:
    def __init__(self, work: Path):
        self.work = work
        self.db = work / "perkpass.db"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, PERKPASS_ENV="testing", DATABASE_URL=f"sqlite:///{self.db}",
                        HOME=str(work), PERKPASS_LOG_LEVEL="WARNING")
        self.proc: subprocess.Popen | None = None

    def flask(self, *args: str) -> str:
        r = subprocess.run([str(BIN / "flask"), "--app", "backend", *args], cwd=REPO, env=self.env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    def start(self) -> None:
        with open(self.work / "backend.log", "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "python:backend.http.gunicorn", "-b", f"127.0.0.1:{self.port}", "-w", "1", "-k", "gthread",
                 "--threads", "4", "backend.wsgi:app"], cwd=REPO, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.work / "backend.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(self.url + "/api/v1/health", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise TimeoutError("backend did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
        self.proc = None

    def enrolment_code(self, venue_id: int) -> str:
        out = self.flask("venues", "enrolment-code", "--venue", str(venue_id))
        return out.split(": ", 1)[1].split(" ")[0]

    def redemptions(self, device_public_id: str) -> list[tuple]:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30) as conn:
            return conn.execute(
                "SELECT r.client_id, r.jti, r.pseudonym, r.perk, r.scanned_at FROM redemptions r "
                "JOIN devices d ON d.id = r.device_id WHERE d.public_id = ? ORDER BY r.client_id",
                (device_public_id,)).fetchall()

    def citizen_code(self, phone: str, audience: str) -> str:
        code = http(self.url, "/api/v1/auth/request-code", {"phone": phone})["dev_code"]
        token = http(self.url, "/api/v1/auth/login", {"phone": phone, "code": code})["access_token"]
        out = http(self.url, "/api/v1/credentials", {"audience": audience}, token)
        assert out["eligible"], out
        return out["qr_text"]


class Outage:
    """A TCP forwarder between the kiosk and the backend that can be "unplugged" (connections refused at
    once, as when the venue's network is down) without restarting the backend."""

    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.down = False
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.forwarded = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if self.down:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()            # reset: the kiosk sees the backend as unreachable
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            self.forwarded += 1
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    work = tmp_path_factory.mktemp("backend")
    b = Backend(work)
    out = b.flask("seed-demo", "--json")
    b.seed = json.loads(out[out.index("{"):])
    b.library = next(v for v in b.seed["venues"] if v["venue"] == LIBRARY_VENUE)
    b.start()
    yield b
    b.stop()


def local_redemptions(data_dir: Path) -> list[tuple]:
    with sqlite3.connect(f"file:{data_dir / 'kiosk.sqlite'}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute("SELECT id, jti, pseudonym, perk, scanned_at, synced_at FROM redemptions "
                            "ORDER BY id").fetchall()


def device_id(data_dir: Path) -> str:
    with sqlite3.connect(f"file:{data_dir / 'kiosk.sqlite'}?mode=ro", uri=True, timeout=30) as conn:
        return json.loads(conn.execute("SELECT value FROM settings WHERE key = 'enrolment'").fetchone()[0])["device_id"]


def enrol_through_screen(k: Kiosk, url: str, code: str) -> None:
    assert k.state()["screen"] == "enrol"
    for wid, text in (("url", url), ("code", code), ("pin", "2468"), ("pin2", "2468")):
        k.call("set_text", screen="enrol", id=wid, text=text)
    k.call("press", screen="enrol", id="submit")
    k.wait_for(lambda s: s["screen"] == "scan" and s["enrolled"], 20, "online enrolment")


def test_online_enrolment_scan_and_sync(tmp_path, backend):
    data = tmp_path / "data"
    cam = tmp_path / "camera"
    cam.mkdir()
    k = Kiosk(tmp_path, data, source=f"folder:{cam}", extra_args=["--sync-interval", "1"])
    try:
        # a wrong code is refused with the backend's own message
        for wid, text in (("url", backend.url), ("code", "NOT-A-REAL-CODE"), ("pin", "2468"), ("pin2", "2468")):
            k.call("set_text", screen="enrol", id=wid, text=text)
        k.call("press", screen="enrol", id="submit")
        k.wait_for(lambda s: k.call("text_of", screen="enrol", id="message").startswith("Enrolment refused"), 15)
        enrol_through_screen(k, backend.url, backend.library["enrolment_code"])
        st = k.wait_for(lambda s: s["status_bar"]["net"] == "Online", 15, "online")
        assert st["status_bar"]["trust"] == "Trust list fresh"
        # a real citizen code from the backend, shown to the camera
        qr = backend.citizen_code(BAILU_GOOD, "library")
        before = k.results_count()
        qr_file(cam / "citizen.png", qr)
        r = k.wait_result(before)
        assert r["status"] == "GRANTED", r
        assert "Deposit-free" in r["perk"] or "deposit" in r["perk"].lower()
        # uploaded by the background sync
        st = k.wait_for(lambda s: s["pending"] == 0 and s["status_bar"]["sync"].startswith("Synced"), 20, "sync")
        local = local_redemptions(data)
        assert local and all(row[5] is not None for row in local)
        remote = backend.redemptions(device_id(data))
        assert sorted(r[:5] for r in local) == sorted(remote)
        k.call("goto", screen="scan")
        k.screenshot("kiosk-scan-online.png")
        # the trust list is re-fetched with If-None-Match: the ETag from the backend is kept
        state = json.loads((data / "trust" / "trust-state.json").read_text())
        assert state["etag"]
        backend.flask("keys", "rotate", "--activate-in", "0")
        k.call("sync_now", trust=True)
        k.wait_for(lambda s: json.loads((data / "trust" / "trust-state.json").read_text())["etag"] != state["etag"],
                   15, "a new trust list after key rotation")
        # the operator revokes this kiosk: it still checks codes offline, but says it is not authorised
        backend.flask("kiosk", "revoke", device_id(data))
        r = k.scan_hid(backend.citizen_code(BAILU_GOOD, "library"))
        assert r["status"] == "GRANTED"
        st = k.wait_for(lambda s: s["status_bar"]["net"] == "Kiosk not authorised", 15, "unauthorised")
        assert st["pending"] >= 1 and st["status_bar"]["net_level"] == "bad"
    finally:
        k.quit()


def test_keeps_working_while_backend_is_down(tmp_path, backend):
    outage = Outage(backend.port)
    data = tmp_path / "data"
    k = Kiosk(tmp_path, data, extra_args=["--sync-interval", "1"])
    try:
        enrol_through_screen(k, outage.url, backend.enrolment_code(backend.library["venue_id"]))
        k.wait_for(lambda s: s["status_bar"]["net"] == "Online", 15, "online")
        qr = backend.citizen_code(BAILU_GOOD, "library")
        outage.down = True
        k.wait_for(lambda s: s["status_bar"]["net"] == "Offline", 30, "offline")
        r = k.scan_hid(qr)
        assert r["status"] == "GRANTED"     # verified offline
        st = k.wait_for(lambda s: s["pending"] >= 1, 5)
        assert st["status_bar"]["pending"].endswith("to upload")
        assert backend.redemptions(device_id(data)) == []
        k.call("goto", screen="scan")
        k.screenshot("kiosk-scan-offline.png")
        outage.down = False
        k.wait_for(lambda s: s["pending"] == 0 and s["status_bar"]["net"] == "Online", 40, "sync after outage")
        remote = backend.redemptions(device_id(data))
        assert remote and sorted(r[:5] for r in local_redemptions(data)) == sorted(remote)
    finally:
        k.quit()
        outage.close()


def test_kill_during_sync_loses_and_duplicates_nothing(tmp_path, backend):
    data = tmp_path / "data"
    # enrol online from the command line, then log many grants while "offline" (no app running)
    enrol_from_command_line(data, "--backend", backend.url,
                            "--enrolment-code", backend.enrolment_code(backend.library["venue_id"]))
    from kiosk.store import Store
    store = Store(data / "kiosk.sqlite")
    n = 300
    t0 = int(time.time()) - 250  # the backend refuses scans from before the venue existed (seeded just now)
    for i in range(n):
        store.record_scan(status="GRANTED", source="hid", now=t0 + i, jti=uuid.uuid4().hex[:16],
                          pseudonym=base64.b32encode(os.urandom(14)).decode().rstrip("="),
                          perks=["BAILU-LIB-NODEPOSIT"])
    store.close()
    dev = device_id(data)
    assert backend.redemptions(dev) == []

    env = {"PERKPASS_KIOSK_SYNC_BATCH": "10"}   # 30 requests: plenty of moments to be killed in
    mid_sync = []
    for attempt in range(3):
        k = Kiosk(tmp_path, data, env=env, extra_args=["--sync-interval", "0.5"], name=f"kill{attempt}")
        # kill -9 as soon as the upload is under way but not finished
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            synced = sum(1 for row in local_redemptions(data) if row[5] is not None)
            if synced >= n // 3:
                break
            time.sleep(0.005)
        k.kill()
        synced = sum(1 for row in local_redemptions(data) if row[5] is not None)
        remote = len(backend.redemptions(dev))
        assert synced <= remote <= n          # the backend may hold rows the kiosk had not yet marked
        mid_sync.append((synced, remote))
        if 0 < synced < n:
            break
    assert any(0 < synced < n for synced, _ in mid_sync), mid_sync   # killed while uploading
    # a normal run finishes the job
    k = Kiosk(tmp_path, data, env=env, extra_args=["--sync-interval", "0.5"], name="final")
    try:
        k.wait_for(lambda s: s["pending"] == 0, 60, "all uploaded")
    finally:
        k.quit()
    local = local_redemptions(data)
    remote = backend.redemptions(dev)
    assert len(local) == n and len(remote) == n                      # nothing lost
    assert len({row[0] for row in remote}) == n                      # nothing twice
    assert sorted(row[:5] for row in local) == sorted(remote)        # exactly the same records
    assert all(row[5] is not None for row in local)


def test_items_the_backend_rejects_are_done_not_retried(tmp_path, backend):
    """The backend answers per item. A record it refuses (a perk this library does not offer, a scan dated
    before the venue existed) is marked done as 'rejected' on the kiosk and never sent again; the good
    record beside it is stored."""
    data = tmp_path / "data"
    enrol_from_command_line(data, "--backend", backend.url,
                            "--enrolment-code", backend.enrolment_code(backend.library["venue_id"]))
    from kiosk.store import Store
    from kiosk.sync import BackendClient, SyncService
    store = Store(data / "kiosk.sqlite")
    now = int(time.time())

    def log(perk: str, at: int) -> str:
        return store.record_scan(status="GRANTED", source="hid", now=at, jti=uuid.uuid4().hex[:16],
                                 pseudonym=base64.b32encode(os.urandom(14)).decode().rstrip("="), perks=[perk])[0].id

    good = log("BAILU-LIB-NODEPOSIT", now)
    not_here = log("OSM-LIB-LONGLOAN", now)        # a library perk of another library
    too_early = log("BAILU-LIB-PRIORITY", 1_590_000_000)
    sent = []
    client = BackendClient(backend.url, device_token=store.get("device_token"))
    upload = client.upload
    client.upload = lambda items: sent.append([i["id"] for i in items]) or upload(items)
    svc = SyncService(store, client, trust_url=None, trust_etag=lambda: None, trust_loader=lambda b, e: None,
                      trust_needs_refresh=lambda: False)
    st = svc.run_once()
    assert st.pending == 0 and st.last_error == "", st
    answers = {x.id: x.server_status for x in store.all_redemptions()}
    assert answers == {good: "accepted", not_here: "rejected", too_early: "rejected"}
    assert [row[0] for row in backend.redemptions(device_id(data))] == [good]
    svc.run_once()
    assert len(sent) == 1 and sorted(sent[0]) == sorted([good, not_here, too_early])  # nothing sent again
    store.close()
