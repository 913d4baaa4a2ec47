"""`make demo`: prepare the SQLite database with demo data, start the backend, and walk the main job once.

1. `flask --app backend init-db`, `seed-demo --activity` (schemes, partners, venues, citizens in every band,
   kiosk enrolment codes, and the console's last 14 days up to now: demo kiosks reporting in, codes issued,
   grants and refusals; backend/demo/activity.py) and `ledger seed-demo` (data providers, a reviewer, score
   events to explain and review) into instance/perkpass.db;
2. start the backend with gunicorn on HOST:PORT (development mode: log-in codes come back as dev_code);
3. as a demo citizen (Moli 713: metro 20% and Gulou office perks) log in, fetch a metro code, save it as
   a PNG, fetch the trust list and root key, and verify the PNG **offline** with `perkpass-verify`;
4. the citizen's phone loses its signal: with the backend paused (SIGSTOP, so no network answer is
   possible), a PP2 code is made from the phone's device key and its perk certificate and the gate grants it;
5. show that a citizen without a metro perk gets no code at all;
6. keep serving until Ctrl-C, printing how a citizen, staff and an integrator carry on.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_OUT = ROOT / "instance" / "demo"
ENTITLED_PHONE = "+8613900000104"  # Moli 713: gov-office perks and metro 20%
NO_METRO_PHONE = "+8613900000203"  # Bailu 647: library perks, nothing at the metro


def flask(*args: str, env: dict) -> str:
    cmd = [str(BIN / "flask"), "--app", "backend", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout


def call(base: str, path: str, body: dict | None = None, token: str | None = None, method: str | None = None) -> dict:
    req = urllib.request.Request(base + path, method=method or ("POST" if body is not None else "GET"),
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return json.loads(raw) if resp.headers.get_content_type() == "application/json" else {"text": raw.decode()}
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read() or b"{}")


def log_in(base: str, phone: str) -> str:
    code = call(base, "/api/v1/auth/request-code", {"phone": phone})["dev_code"]
    return call(base, "/api/v1/auth/login", {"phone": phone, "code": code})["access_token"]


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port. Checked first: otherwise the walk below would talk to
    whatever server holds the port and report its answers as ours."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def wait_healthy(base: str, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the backend exited with status {server.returncode}; see the log above")
        try:
            with urllib.request.urlopen(base + "/api/v1/health", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise SystemExit("the backend did not become healthy in time")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5000)
    ap.add_argument("--no-serve", action="store_true", help="walk the flow once and stop the server")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the demo code, trust list and root key go")
    args = ap.parse_args()
    global OUT
    OUT = args.out
    # development on purpose (log-in codes come back as dev_code); WARNING keeps request logs out of the walk
    env = dict(os.environ, PERKPASS_ENV=os.environ.get("PERKPASS_ENV", "development"),
               PERKPASS_LOG_LEVEL=os.environ.get("PERKPASS_LOG_LEVEL", "WARNING"))
    base = f"http://{args.host}:{args.port}"
    if not port_free(args.host, args.port):
        print(f"make demo: port {args.port} on {args.host} is already in use (another server, or an earlier demo "
              f"still running).\nStop it, or choose another port:  make demo PORT={args.port + 1}", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)

    print("== 1. database and demo data ==")
    flask("init-db", env=env)
    seed = flask("seed-demo", "--activity", env=env)  # a fortnight for the console, replaced on each run
    ledger = flask("ledger", "seed-demo", env=env)  # providers, a reviewer and explained score events
    # enrolment codes and tokens go to a file, not the screen (re-running keeps the demo data as it is)
    (OUT / "seed.txt").write_text(seed + "\n" + ledger)
    print(f"demo partners, venues, citizens and a score ledger are ready; kiosk enrolment codes and API tokens "
          f"-> {os.path.relpath(OUT / 'seed.txt', ROOT)}")
    print(next((line.strip() for line in seed.splitlines() if line.startswith("Console activity")), ""))

    print(f"\n== 2. backend on {base} (gunicorn, 2 workers) ==")
    parent = os.getppid()
    stop_on_signals()
    server = subprocess.Popen([str(BIN / "gunicorn"), "-c", "python:backend.http.gunicorn",
                               "-w", "2", "-b", f"{args.host}:{args.port}",
                               "--log-level", "warning", "backend.wsgi:app"], cwd=ROOT, env=env,
                              start_new_session=True,  # its own process group: step 4 pauses all of it
                              preexec_fn=_die_with_parent)
    try:
        wait_healthy(base, server)
        print("\n== 3. a citizen shows a metro code; the gate verifies it offline ==")
        token = log_in(base, ENTITLED_PHONE)
        cred = call(base, "/api/v1/credentials", {"audience": "metro"}, token)
        from partner_sdk.qr import qr_png

        (OUT / "metro-code.png").write_bytes(qr_png(cred["qr_text"]))
        (OUT / "trust-list.jws").write_text(call(base, "/api/v1/trust-list")["text"])
        (OUT / "root.jwk").write_text(json.dumps(call(base, "/api/v1/trust-root")["root_public_key"]))
        print(f"citizen {ENTITLED_PHONE}: perks {[p['code'] for p in cred['perks']]}, QR version "
              f"{cred.get('qr_version')}, expires in {cred['expires_at'] - int(time.time())} s "
              f"-> {OUT / 'metro-code.png'}")
        verify_cmd = [str(BIN / "perkpass-verify"), "--root-key", str(OUT / "root.jwk"),
                      "--trust-list", str(OUT / "trust-list.jws"), "--audience", "metro",
                      "--cache-dir", str(OUT / "verifier"),  # its trust list and the codes it granted
                      "--image", str(OUT / "metro-code.png")]
        print("$ " + " ".join(os.path.relpath(c, ROOT) if c.startswith(str(ROOT)) else c for c in verify_cmd))
        result = subprocess.run(verify_cmd, capture_output=True, text=True)
        print(brief(result))
        print(f"(exit status {result.returncode}: 0 means granted; the check used no network)")

        print("\n== 4. no signal on the metro platform: the phone makes its own code (PP2) ==")
        pp2_ok = offline_phone_code(base, token, server, verify_cmd[:-2])

        print("\n== 5. a citizen with no metro perk gets no code at all ==")
        other = call(base, "/api/v1/credentials", {"audience": "metro"}, log_in(base, NO_METRO_PHONE))
        print(f"citizen {NO_METRO_PHONE}: eligible={other.get('eligible')} qr_text={other.get('qr_text')} "
              f"message={other.get('message')!r}")
        if result.returncode != 0 or not pp2_ok:
            return 1
        if args.no_serve:
            return 0
        print(f"""
== 6. carry on ==
Citizen page : {base}/app/  (phone {ENTITLED_PHONE}; in dev mode the log-in code is shown)
Kiosk        : {BIN / 'perkpass-kiosk'}  -> enrol with backend URL {base} and an enrolment code from {OUT / 'seed.txt'}
Integrator   : perkpass-verify --root-key {OUT / 'root.jwk'} --trust-list {base}/api/v1/trust-list --audience metro CODE
API document : {base}/api/v1/openapi.json
Serving until Ctrl-C.""")
        while server.poll() is None:
            try:
                server.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
            if os.getppid() != parent:  # make was stopped without us (`timeout make demo` signals make only)
                print("make demo: stopped (its parent is gone); stopping the server", file=sys.stderr)
                break
        return 0
    except (KeyboardInterrupt, Stopped):
        return 0
    finally:
        stop_server(server)


class Stopped(Exception):
    """SIGTERM or SIGHUP arrived (a service manager, `timeout`, a terminal closing): stop like Ctrl-C."""


def stop_on_signals() -> None:
    def handler(signum, _frame):
        raise Stopped(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def _die_with_parent() -> None:
    """In gunicorn's child before exec: the kernel sends it SIGTERM when the demo process dies, however it
    dies (even SIGKILL), so no server is left holding the port."""
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the signal handlers and the parent check still apply
        pass


def stop_server(server: subprocess.Popen) -> None:
    """The whole gunicorn process group: the master and its workers, resumed first if step 4 paused it."""
    if server.poll() is not None:
        return
    for sig in (signal.SIGCONT, signal.SIGTERM):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def brief(result: subprocess.CompletedProcess) -> str:
    """perkpass-verify's decision in one line (its JSON has every field; a newcomer needs these)."""
    try:
        d = json.loads(result.stdout)
        return (f"perkpass-verify: {d['status']} {d['perks']} at {d['audience']} "
                f"({d['message']}; trust list {d['trust_list']})")
    except (ValueError, KeyError, TypeError):
        return result.stdout.strip() or result.stderr.strip()


def offline_phone_code(base: str, token: str, server: subprocess.Popen, verify_base: list[str]) -> bool:
    """What the citizen page does with WebCrypto, in Python: register a device key (proof of possession),
    fetch its perk certificates while online, then - backend paused - sign a fresh code and verify it."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from partner_sdk import pp2
    from partner_sdk.format import qr_version_m
    from partner_sdk.qr import qr_png

    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    # a re-run replaces the demo phone of the last run (a citizen may register only a few devices)
    for old in call(base, "/api/v1/me/devices", token=token)["devices"]:
        if old["label"] == "make demo phone":
            call(base, f"/api/v1/me/devices/{old['id']}", token=token, method="DELETE")
    device = Ed25519PrivateKey.generate()  # on the phone: WebCrypto, non-extractable, in IndexedDB
    public = device.public_key().public_bytes_raw()
    challenge = call(base, "/api/v1/me/devices/challenge", {}, token)["challenge"]
    proof = device.sign(b"perkpass-device-registration\x00" + base64.urlsafe_b64decode(challenge + "==") + public)
    dev = call(base, "/api/v1/me/devices", {"algorithm": "Ed25519", "public_key": b64(public), "challenge": challenge,
                                            "signature": b64(proof), "label": "make demo phone"}, token)
    certs = call(base, f"/api/v1/me/devices/{dev['id']}/certificates", {}, token)["certificates"]
    metro = next(c for c in certs if c["audience"] == "metro")
    print(f"online once: device {dev['id']} registered, certificate {metro['cert_id']} for "
          f"{[p['code'] for p in metro['perks']]} valid {(metro['not_after'] - metro['not_before']) // 3600} h")
    os.killpg(server.pid, signal.SIGSTOP)  # the network is off: nothing could answer now
    try:
        cert = base64.urlsafe_b64decode(metro["certificate"] + "==")
        code = pp2.sign_presentation(cert, device, time.time())
        (OUT / "metro-code-offline.png").write_bytes(qr_png(code))
        print(f"backend paused; the phone signs a fresh code: {len(code)} digits, QR version "
              f"{qr_version_m(code)} -> {OUT / 'metro-code-offline.png'}")
        cmd = [*verify_base, "--image", str(OUT / "metro-code-offline.png")]
        result = subprocess.run(cmd, capture_output=True, text=True)
        print(brief(result))
        print(f"(exit status {result.returncode}: 0 means granted, with phone and gate both offline)")
        return result.returncode == 0
    finally:
        os.killpg(server.pid, signal.SIGCONT)


if __name__ == "__main__":
    sys.exit(main())
