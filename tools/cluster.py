"""Several real backend instances on one PostgreSQL and one Redis, for tests and benchmarks.

Each instance is its own gunicorn master on its own port (``backend.wsgi:app``), as in the reference
deployment (docs/deploy.md). Redis is a private ``redis-server`` on a free port, so runs never share
counters with each other or with anything else on the machine. Nothing here reads the clock for logic.
"""
from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
PG_HOST = os.environ.get("PERKPASS_TEST_PG_HOST", "127.0.0.1")
PG_DB = os.environ.get("PERKPASS_TEST_PG_DB", "test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_user() -> str | None:
    """The PostgreSQL role that can connect to database ``test`` (trust auth), or None."""
    try:
        import psycopg
    except ImportError:
        return None
    for user in ("postgres", "root"):
        try:
            with psycopg.connect(host=PG_HOST, dbname=PG_DB, user=user, connect_timeout=3) as c:
                c.execute("SELECT 1")
            return user
        except Exception:  # noqa: BLE001 - any failure: try the next user
            continue
    return None


def pg_url(user: str) -> str:
    return f"postgresql+psycopg://{user}@{PG_HOST}:5432/{PG_DB}"


def drop_schema(user: str, schema: str) -> None:
    import psycopg
    with psycopg.connect(host=PG_HOST, dbname=PG_DB, user=user, autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class Redis:
    """A private redis-server (no persistence) on a free port."""

    def __init__(self, workdir: Path):
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed")
        self.port = free_port()
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def instance_env(base: dict | None = None, **settings: str) -> dict:
    """The environment of a backend process: the caller's minus any PERKPASS/DATABASE/REDIS settings,
    plus ``settings``."""
    env = {k: v for k, v in (base or os.environ).items()
           if not k.startswith(("PERKPASS_", "DATABASE_URL", "REDIS_URL", "RATELIMIT_", "SECRET_KEY"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(settings)
    return env


class Instance:
    """One gunicorn master (gthread workers) serving ``backend.wsgi:app`` on its own port."""

    def __init__(self, env: dict, log_path: Path, *, workers: int = 1, threads: int = 4, port: int | None = None):
        self.env, self.log_path, self.workers, self.threads = env, log_path, workers, threads
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 40) -> Instance:
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "-c", "python:backend.http.gunicorn",
                 "-w", str(self.workers), "-k", "gthread", "--threads", str(self.threads),
                 "--keep-alive", "30", "-b", f"127.0.0.1:{self.port}", "backend.wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn on port {self.port} exited: " + self.log_tail())
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/api/v1/health")
                if c.getresponse().status == 200:
                    c.close()
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn on port {self.port} did not start: " + self.log_tail())
            time.sleep(0.2)

    def pids(self) -> list[int]:
        """The master and its workers (for CPU accounting)."""
        if self.proc is None:
            return []
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            kids = []
        return [self.proc.pid] + [int(k) for k in kids]

    def kill(self) -> None:
        """SIGKILL the master and its workers at once: a crashed machine, not a graceful stop."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def cpu_seconds(pids: list[int]) -> float:
    """user+system CPU seconds used so far by these processes (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


# One request of a load phase: (method, path, body, headers) for client i's n-th request.
RequestFor = Callable[[int, int], tuple[str, str, bytes | None, dict[str, str]]]


def keepalive_load(port: int, request_for: RequestFor, clients: int, seconds: float, server_pids: list[int], *,
                   is_ok: Callable[[int, bytes], bool] = lambda status, _body: status in (200, 201),
                   timeout: float = 20.0) -> dict:
    """``clients`` threads, each on one keep-alive connection, sending ``request_for(i, n)`` for ``seconds``.
    Returns the sorted latencies of good answers, the error count and up to three error samples, the wall
    time and the server processes' CPU seconds over the phase (the benches' load loop)."""
    lat: list[list[float]] = [[] for _ in range(clients)]
    errs = [0] * clients
    samples: list[str] = []
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        n = 0
        while time.perf_counter() < stop:
            method, path, body, headers = request_for(i, n)
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers={"Connection": "keep-alive", **headers})
                resp = conn.getresponse()
                data = resp.read()
                ok = is_ok(resp.status, data)
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - any failure is counted as this request's error
                ok, data = False, repr(exc).encode()
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            dt = time.perf_counter() - t0
            if ok:
                lat[i].append(dt)
            else:
                errs[i] += 1
                if len(samples) < 3:
                    samples.append(data[:200].decode("utf-8", "replace"))
            n += 1
        conn.close()

    cpu0 = cpu_seconds(server_pids)
    t = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return {"lat": sorted(x for per in lat for x in per), "errors": sum(errs), "samples": samples,
            "seconds": time.perf_counter() - t, "cpu": cpu_seconds(server_pids) - cpu0}


def pp1_redemption(perk: str, scanned_at: int) -> dict:
    """One upload item as a kiosk reports a granted PP1 code (partner_sdk.Decision): a fresh client id,
    the code's jti (12 random bytes, base64url) and the pairwise pseudonym (14 bytes, base32)."""
    import base64
    import secrets
    import uuid
    return {"id": str(uuid.uuid4()), "jti": secrets.token_urlsafe(12),
            "pseudonym": base64.b32encode(secrets.token_bytes(14)).decode().rstrip("="),
            "perk": perk, "scanned_at": scanned_at}


def sync_batch_body(n: int, perk: str, scanned_at: int | None = None) -> bytes:
    """The body of one kiosk upload (``POST /api/v1/kiosk/redemptions``): ``n`` fresh PP1 redemptions of ``perk``
    scanned at ``scanned_at`` (now by default), as JSON. The benchmarks' sync load (bench/capacity.py,
    bench/sync_load.py builds its own queues from :func:`pp1_redemption`)."""
    import json
    at = int(time.time()) if scanned_at is None else scanned_at
    return json.dumps({"redemptions": [pp1_redemption(perk, at) for _ in range(n)]}).encode()
