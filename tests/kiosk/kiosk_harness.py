"""Run the real kiosk app (a real Kivy window, SDL offscreen over Mesa) in a subprocess and drive it.

The app is started as ``python -m kiosk`` with the hidden ``--automation SOCKET`` option; every command runs
on the app's UI thread (see kiosk/automation.py). Codes come from ``partner_sdk.testing.TestIssuer``.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from partner_sdk.qr import qr_png
from partner_sdk.testing import TestIssuer

REPO = Path(__file__).resolve().parents[2]
# Like the browser tests: screenshots go to a temporary folder, and to docs/screenshots only when asked
# (PERKPASS_UPDATE_SCREENSHOTS=1), so a test run does not rewrite the committed pictures.
SCREENSHOTS = (REPO / "docs" / "screenshots" if os.environ.get("PERKPASS_UPDATE_SCREENSHOTS") == "1"
               else Path(tempfile.mkdtemp(prefix="perkpass-kiosk-shots-")))

VENUE_PERKS = [
    {"code": "BAILU-LIB-DEPOSIT", "title": {"en": "Deposit-free borrowing", "zh-CN": "免押金借阅"}},
]
CATALOGUE = {p["code"]: {"audience": "library", "title": p["title"]} for p in VENUE_PERKS}
CATALOGUE["MOLI-METRO-20"] = {"audience": "metro", "title": {"en": "Metro 20% off", "zh-CN": "地铁八折"}}


def kivy_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "SDL_VIDEODRIVER": "offscreen",   # real SDL window + Mesa EGL/GL, no display server needed
        "SDL_AUDIODRIVER": "dummy",
        "KIVY_WINDOW": "sdl2",
        "KIVY_GL_BACKEND": "sdl2",
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_FILELOG": "1",
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("DISPLAY", None) if env.get("PERKPASS_TEST_KEEP_DISPLAY") is None else None
    env.update(extra or {})
    return env


def make_enrolment(path: Path, issuer: TestIssuer, now: float, *, audience: str = "library",
                   venue_name: str = "Xiamen Library · Gulou desk", trust_kwargs: dict | None = None,
                   perks: list | None = None) -> Path:
    tl = issuer.trust_list(now, perks=CATALOGUE, **(trust_kwargs or {}))
    doc = {
        "device_id": "kiosk-test-1",
        "venue": {"id": "v-1", "name": venue_name, "audience": audience, "perks": perks or VENUE_PERKS},
        "issuer": issuer.issuer, "root_public_key": issuer.root_public_jwk, "trust_list": tl,
        "trust_list_url": "/api/v1/trust-list",
    }
    path.write_text(json.dumps(doc, ensure_ascii=False))
    return path


def qr_file(path: Path, text: str, box_size: int = 4) -> Path:
    path.write_bytes(qr_png(text, box_size=box_size))
    return path


def colour_close(a, b, tol: float = 0.02) -> bool:
    """Two RGBA colours (0..1) alike within ``tol`` per channel."""
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def enrol_from_command_line(data_dir: Path, *how: str, pin: str = "2468") -> None:
    """Provision a kiosk as an operator would, without starting the app: ``"--enrol-file", FILE`` (a kiosk
    that is never online) or ``"--backend", URL, "--enrolment-code", CODE``."""
    r = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), *how, "--pin", pin,
                        "--enrol-only"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert r.returncode == 0, r.stderr


@contextmanager
def camera_kiosk(work: Path, issuer: TestIssuer, *, venue_name: str | None = None, size: str = "800x480",
                 name: str = "kiosk", env: dict[str, str] | None = None) -> Iterator[Kiosk]:
    """A kiosk enrolled from a file (no backend) whose camera is the folder ``k.camera_dir``: an image written
    there is in view for 6 s. Yields once the camera delivers frames; quits the app afterwards."""
    enrol = make_enrolment(work / "enrol.json", issuer, time.time(),
                           **({"venue_name": venue_name} if venue_name is not None else {}))
    cam = work / "camera"
    cam.mkdir()
    data = work / "data"
    enrol_from_command_line(data, "--enrol-file", str(enrol))
    k = Kiosk(work, data, source=f"folder:{cam};hold=6", size=size, name=name, env=env)
    k.camera_dir = cam
    try:
        k.wait_for(lambda s: s["screen"] == "scan" and s.get("camera", {}).get("frames", 0) > 2, 20, "camera frames")
        yield k
    finally:
        k.quit()


class Kiosk:
    """One kiosk app process."""

    def __init__(self, workdir: Path, data_dir: Path, *, source: str = "none", size: str = "800x480",
                 extra_args: list[str] | None = None, env: dict[str, str] | None = None, name: str = "kiosk"):
        self.workdir = workdir
        self.data_dir = data_dir
        self.camera_dir: Path | None = None      # the folder the camera watches (source "folder:...")
        self.sock = str(workdir / f"{name}.sock")
        self.log_path = workdir / f"{name}.log"
        args = [sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), "--size", size,
                "--source", source, "--automation", self.sock, "--result-seconds", "3"]
        args += extra_args or []
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - the kiosk writes to it until stop() closes it
        self.proc = subprocess.Popen(args, cwd=str(REPO), env=kivy_env(env), stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kiosk exited with {self.proc.returncode}:\n{self.tail()}")
            if os.path.exists(self.sock):
                try:
                    if self.call("ping") == "pong":
                        return
                except OSError:
                    pass
            time.sleep(0.1)
        raise TimeoutError(f"kiosk did not come up:\n{self.tail()}")

    def tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def call(self, cmd: str, **kw: Any) -> Any:
        req = {"cmd": cmd, **kw}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(self.sock)
            f = s.makefile("rwb")
            f.write((json.dumps(req) + "\n").encode())
            f.flush()
            line = f.readline()
        if not line:
            raise ConnectionError("kiosk closed the automation connection")
        answer = json.loads(line)
        if not answer["ok"]:
            raise RuntimeError(answer["error"])
        return answer["result"]

    def state(self) -> dict[str, Any]:
        return self.call("state")

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10.0, what: str = "") -> dict:
        deadline = time.monotonic() + timeout
        st: dict[str, Any] = {}
        while time.monotonic() < deadline:
            st = self.state()
            if pred(st):
                return st
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what or pred}; last state: {json.dumps(st, default=str)[:2000]}")

    def results_count(self) -> int:
        return self.state()["shown"]

    def wait_result(self, before: int, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for the result of the next scan after ``before`` results were shown."""
        st = self.wait_for(lambda s: s["shown"] > before and s["screen"] == "result", timeout, "a result")
        return st["result"]

    def scan_hid(self, text: str) -> dict[str, Any]:
        self.back_to_scan()
        before = self.results_count()
        self.call("keys", text=text)
        return self.wait_result(before)

    def back_to_scan(self) -> None:
        if self.state()["screen"] != "scan":
            self.call("goto", screen="scan")

    def screenshot(self, name: str, settle: float = 0.6) -> Path:
        time.sleep(settle)  # let a couple of frames render (the first frames after a change can be stale)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        self.call("screenshot", path=str(path))
        return path

    def quit(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            try:
                self.call("quit")
            except (OSError, RuntimeError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: no clean-up handlers run, like pulling the plug on the process."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
