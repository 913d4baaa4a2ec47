"""`make demo`'s main job, run for real: seed, serve with gunicorn, log in, issue, verify offline from a PNG."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_flow_grants_offline_and_leaks_no_score(tmp_path):
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "PERKPASS_ENV": "development",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "HOME": str(tmp_path)}
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "tools/demo.py", "--no-serve", "--port", str(free_port()), "--out", str(out)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    # the gate grants the issuer's code (PP1), then the phone's own code made with the backend paused (PP2)
    assert r.stdout.count("perkpass-verify: GRANTED ['MOLI-METRO20'] at metro") == 2, r.stdout
    assert "with phone and gate both offline" in r.stdout and "eligible=False qr_text=None" in r.stdout
    # What left the backend contains no score: the demo citizen's Moli score is 713.
    from partner_sdk import format as fmt
    from partner_sdk.keys import b64url_decode
    from partner_sdk.qr import decode_image

    trust_payload = b64url_decode((out / "trust-list.jws").read_text().split(".")[1]).decode()
    qr_text = decode_image(out / "metro-code.png")[0]
    credential_payload = fmt.parse_qr_text(qr_text).payload_json.decode()
    for text in (trust_payload, credential_payload, (out / "root.jwk").read_text()):
        assert "713" not in text and "score" not in text.lower()
    assert json.loads(credential_payload)["prk"] == ["MOLI-METRO20"]
    from partner_sdk import pp2
    offline = pp2.parse_qr_text(decode_image(out / "metro-code-offline.png")[0]).certificate
    assert offline.perks == ("MOLI-METRO20",) and offline.band is None and offline.audience == "metro"
    assert json.loads((out / "root.jwk").read_text())["kty"] == "OKP"


def _demo_env(tmp_path) -> dict:
    return {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "PERKPASS_ENV": "development",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "HOME": str(tmp_path)}


def test_demo_refuses_a_port_that_is_taken(tmp_path):
    with socket.socket() as other:  # whatever server holds the port
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        r = subprocess.run([sys.executable, "tools/demo.py", "--no-serve", "--port", str(port), "--out",
                            str(tmp_path / "out")], cwd=ROOT, env=_demo_env(tmp_path), capture_output=True,
                           text=True, timeout=60)
    assert r.returncode != 0 and "GRANTED" not in r.stdout
    assert f"port {port}" in r.stderr and f"make demo PORT={port + 1}" in r.stderr


def test_demo_output_is_short_and_a_second_run_leaves_the_demo_data_as_it_is(tmp_path):
    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "tools/demo.py", "--no-serve", "--port", str(free_port()), "--out",
                               str(tmp_path / "out")], cwd=ROOT, env=_demo_env(tmp_path), capture_output=True,
                              text=True, timeout=240)

    def ledger_state() -> list:
        import sqlite3
        with sqlite3.connect(tmp_path / "demo.db") as conn:
            return conn.execute("SELECT e.id, e.kind, e.delta, e.status, m.score FROM score_events e "
                                "JOIN citizen_schemes m ON m.id = e.membership_id ORDER BY e.id").fetchall()

    first = run()
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    lines = (first.stdout + first.stderr).strip().splitlines()
    assert len(lines) <= 40, "\n".join(lines)
    assert "pp_op_" not in first.stdout and "pp_dp_" not in first.stdout, "tokens go to seed.txt, not the screen"
    state = ledger_state()
    # a visitor disputes the demo citizen's confirmed record between the runs
    import sqlite3
    with sqlite3.connect(tmp_path / "demo.db") as conn:
        conn.execute("UPDATE score_events SET status = 'disputed' WHERE delta = -15")
        conn.execute("INSERT INTO ledger_cases (event_id, reason, status, opened_at, statement, disputed_at) "
                     "SELECT id, 'dispute', 'open', 1, 'Not my car.', 1 FROM score_events WHERE delta = -15")
    state = ledger_state()
    second = run()
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert ledger_state() == state
    with sqlite3.connect(tmp_path / "demo.db") as conn:
        assert conn.execute("SELECT status FROM ledger_cases WHERE statement = 'Not my car.'").fetchone() == ("open",)


def _processes_serving(port: int) -> list[int]:
    """Processes whose command line serves this port (gunicorn's master and workers carry -b HOST:PORT)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"127.0.0.1:{port}" in cmd and "gunicorn" in cmd:
            found.append(int(proc.name))
    return found


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.parametrize("how", ["sigterm_to_make_only", "sighup_to_the_terminal_group", "sigkill_to_the_demo"])
def test_make_demo_stopped_any_way_leaves_no_server_on_the_port(tmp_path, how):
    """Issue 22 item 12: `timeout make demo` (SIGTERM to make alone), a terminal closing (SIGHUP to the whole
    foreground group) or a killed demo process must not leave gunicorn holding the port."""
    import os
    import signal
    import time

    port = free_port()
    env = dict(_demo_env(tmp_path), PATH=os.environ["PATH"], PYTHONUNBUFFERED="1")  # lines as they come
    make = subprocess.Popen(["make", "--no-print-directory", "demo", f"PORT={port}",
                             f"DEMO_ARGS=--out {tmp_path / 'out'}"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    try:
        deadline = time.monotonic() + 240
        for line in make.stdout:
            lines.append(line)
            if "Serving until Ctrl-C" in line or time.monotonic() > deadline:
                break
        assert any("Serving until Ctrl-C" in x for x in lines), "".join(lines[-40:])
        assert _processes_serving(port), "gunicorn should be serving now"
        if how == "sigterm_to_make_only":
            os.kill(make.pid, signal.SIGTERM)
        elif how == "sighup_to_the_terminal_group":
            os.killpg(make.pid, signal.SIGHUP)
        else:
            demo = [p for p in _children(make.pid) if b"tools/demo.py" in Path(f"/proc/{p}/cmdline").read_bytes()]
            assert demo, _children(make.pid)
            os.kill(demo[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _processes_serving(port) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not _processes_serving(port), f"left running after {how}"
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))  # the port is free again
    finally:
        for pid in _processes_serving(port):
            os.kill(pid, signal.SIGKILL)
        try:
            os.killpg(make.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        make.wait(timeout=30)
