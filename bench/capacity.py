"""Benchmark: capacity per core of the three calls a city's load is made of (issue 14 item 4, docs/deploy.md).

    python bench/capacity.py [--seconds 8] [--rounds 2] [--clients 8] [--citizens 300] [--batch 100]

One backend instance with ONE gunicorn worker process (gthread, 4 threads: one process uses at most one
core for Python), production configuration, on PostgreSQL (a new schema in database ``test``) and a
private Redis. Load comes from a second process (``--clients`` keep-alive connections). Interleaved
phases, ``--rounds`` each:

- trivial: ``GET /api/v1/health`` (the baseline of the same run);
- issuance: ``POST /api/v1/credentials`` (a PP1 code, the citizen page's refresh);
- renewal: ``POST /api/v1/me/devices/<id>/certificates`` (PP2 perk certificates for a registered Ed25519
  device key, about once a day per phone);
- sync: ``POST /api/v1/kiosk/redemptions`` with ``--batch`` redemptions;
- report: ``POST /api/v1/kiosk/report``, the self-report a kiosk sends after each sync round.

For each: requests/s, p50/p99, and the server's CPU per request from /proc (user+system of the gunicorn
processes). Capacity per core = 1000 / (server CPU ms per request): what one fully used core serves, the
figure docs/deploy.md multiplies out for a city. Writes bench/out/capacity.json.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.cluster import (Instance, Redis, drop_schema, instance_env, keepalive_load, pg_url, pg_user,
                           sync_batch_body)

SETUP = r"""
import base64, json, sys, time, uuid
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from backend import create_app
from backend.extensions import db
from backend.models import Citizen, Consent, Device
from backend.services import auth, crypto, partners, scores
from backend.services import consent as ct
n, kiosks, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
app = create_app()
with app.app_context():
    now = int(time.time())
    version = app.config["PERKPASS_CONSENT_VERSION"]
    client = app.test_client()
    citizens = []
    for i in range(n):
        phone = "+86139%08d" % (60000000 + i)
        c = Citizen(public_id="c_" + uuid.uuid4().hex[:24], phone_hash=auth.phone_hash(phone), phone_hint=phone[-4:],
                    locale="zh-CN", created_at=now)
        c.consents.append(Consent(version=version, accepted_at=now, text_sha256=ct.sha256(version)))
        db.session.add(c); db.session.flush()
        scores.set_score(c, "moli", 700 + i % 290, now=now, source="bench")
        db.session.commit()
        tok, _ = auth.issue_token_for(c, now)
        hd = {"Authorization": "Bearer " + tok}
        key = Ed25519PrivateKey.generate()
        pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        ch = client.post("/api/v1/me/devices/challenge", headers=hd).json["challenge"]
        raw = base64.urlsafe_b64decode(ch + "=" * (-len(ch) % 4))
        sig = key.sign(b"perkpass-device-registration\x00" + raw + pub)
        r = client.post("/api/v1/me/devices", headers=hd, json={"algorithm": "Ed25519", "public_key": b64(pub),
                        "challenge": ch, "signature": b64(sig), "label": "bench phone"})
        assert r.status_code == 201, r.json
        citizens.append([tok, r.json["id"]])
    p = partners.create_partner("Bench metro", now)
    v = partners.create_venue(p.id, "Bench station", "metro", ["MOLI-METRO20"], now - 3600)
    devices = []
    for i in range(kiosks):
        token = crypto.random_token("pp_dev_")
        db.session.add(Device(public_id="dev_" + uuid.uuid4().hex[:20], venue_id=v.id, name=f"gate {i}",
                              token_hash=crypto.sha256_hex(token), created_at=now - 3600, last_seen_at=now - 3600))
        devices.append(token)
    db.session.commit()
    json.dump({"citizens": citizens, "kiosks": devices}, open(out, "w"))
"""


REPORT = json.dumps({"app_version": "1.4.0", "pending": 0,
                     "trust_list": {"seq": 42, "issued_at": 1_796_000_000, "next_update": 1_796_086_400},
                     "scans": [{"day": time.strftime("%Y-%m-%d"), "counts": {"GRANTED": 812, "EXPIRED": 9,
                                                                             "REPLAYED": 2, "WRONG_AUDIENCE": 1}}]}
                    ).encode()


def client_proc(port, phases, data, clients, batch, server_pids, q):
    results = []
    for phase in phases:
        kind = phase["kind"]

        def request_for(i: int, n: int, kind=kind):
            if kind == "trivial":
                return "GET", "/api/v1/health", None, {}
            json_type = {"Content-Type": "application/json"}
            if kind == "issuance":
                tok, _ = data["citizens"][(i * 7919 + n) % len(data["citizens"])]
                return "POST", "/api/v1/credentials", b'{"audience": "metro"}', {**json_type, "Authorization": "Bearer " + tok}
            if kind == "renewal":
                tok, dev = data["citizens"][(i * 7919 + n) % len(data["citizens"])]
                return "POST", f"/api/v1/me/devices/{dev}/certificates", None, {"Authorization": "Bearer " + tok}
            kiosk = {**json_type, "Authorization": "Bearer " + data["kiosks"][(i * 31 + n) % len(data["kiosks"])]}
            if kind == "report":  # a kiosk's self-report after each sync round (every 10 s online)
                return "POST", "/api/v1/kiosk/report", REPORT, kiosk
            return "POST", "/api/v1/kiosk/redemptions", sync_batch_body(batch, "MOLI-METRO20"), kiosk

        r = keepalive_load(port, request_for, clients, phase["seconds"], server_pids)
        results.append({"name": phase["name"], "kind": kind, "ok": len(r["lat"]), "errors": r["errors"],
                        "seconds": r["seconds"], "cpu": r["cpu"], "lat": r["lat"], "samples": r["samples"]})
    q.put(results)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--citizens", type=int, default=300)
    ap.add_argument("--kiosks", type=int, default=50)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--calls", default="trivial,issuance,renewal,sync,report",
                    help="which calls to measure (comma-separated; the trivial baseline is always measured)")
    args = ap.parse_args()
    user = pg_user()
    if user is None:
        print("PostgreSQL unreachable at 127.0.0.1:5432/test", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="perkpass-capacity-"))
    schema = f"pp_cap_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    redis = Redis(tmp)
    env = instance_env(
        PERKPASS_ENV="production", SECRET_KEY=uuid.uuid4().hex * 2, PERKPASS_KEY_PASSPHRASE="bench-" + uuid.uuid4().hex,
        PERKPASS_REFERENCE_KEY=uuid.uuid4().hex * 2,
        PERKPASS_SMS_SENDER="outbox", DATABASE_URL=pg_url(user), PERKPASS_DATABASE_SCHEMA=schema, REDIS_URL=redis.url,
        PERKPASS_LOG_LEVEL="WARNING",
        # the benchmark drives each citizen far above a human's pace; the limiter stays on, with a high ceiling
        PERKPASS_RATE_LIMIT_ISSUE="1000000 per minute")
    inst = None
    try:
        subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "backend", "init-db"], env=env, cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([sys.executable, "-c", SETUP, str(args.citizens), str(args.kiosks), str(tmp / "data.json")],
                       env=env, cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
        data = json.loads((tmp / "data.json").read_text())
        inst = Instance(env, tmp / "gunicorn.log", workers=1, threads=args.threads).start()
        time.sleep(1.0)
        kinds = ["trivial"] + [k for k in ("issuance", "renewal", "sync", "report") if k in args.calls.split(",")]
        phases = [{"name": f"warm-up {k}", "kind": k, "seconds": 2} for k in kinds]
        for r in range(args.rounds):
            phases += [{"name": f"{k} {r + 1}", "kind": k, "seconds": args.seconds} for k in kinds]
        q = mp.get_context("spawn").Queue()
        p = mp.get_context("spawn").Process(target=client_proc, args=(inst.port, phases, data, args.clients,
                                                                      args.batch, inst.pids(), q))
        p.start()
        results = q.get(timeout=sum(x["seconds"] for x in phases) + 300)
        p.join()
        summary = {}
        for k in kinds:
            parts = [x for x in results if x["kind"] == k and not x["name"].startswith("warm-up")]
            lat = sorted(v for x in parts for v in x["lat"])
            ok, secs, cpu = sum(x["ok"] for x in parts), sum(x["seconds"] for x in parts), sum(x["cpu"] for x in parts)
            cpu_ms = cpu * 1000 / ok if ok else None
            summary[k] = {"rps": round(ok / secs, 1), "ok": ok, "errors": sum(x["errors"] for x in parts),
                          "p50_ms": round(statistics.median(lat) * 1000, 2) if lat else None,
                          "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 2) if lat else None,
                          "server_cpu_ms_per_request": round(cpu_ms, 3) if cpu_ms else None,
                          "capacity_per_core_rps": round(1000 / cpu_ms, 1) if cpu_ms else None,
                          "error_samples": [s for x in parts for s in x["samples"]][:3]}
        for k in kinds[1:]:
            summary[k]["cpu_vs_trivial"] = round(summary[k]["server_cpu_ms_per_request"]
                                                 / summary["trivial"]["server_cpu_ms_per_request"], 2)
        if "sync" in summary:
            summary["sync"]["items_per_core_s"] = round(summary["sync"]["capacity_per_core_rps"] * args.batch)
        out = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "batch": args.batch,
               "clients": args.clients, "threads": args.threads, "load_average": os.getloadavg(), **summary}
        (ROOT / "bench" / "out").mkdir(exist_ok=True)
        (ROOT / "bench" / "out" / "capacity.json").write_text(json.dumps(out, indent=2))
        print(f"capacity per core: 1 gunicorn worker x {args.threads} threads, PostgreSQL + Redis, "
              f"{args.clients} clients, {args.rounds} x {args.seconds:.0f} s per call")
        for k in kinds:
            s = summary[k]
            print(f"  {k:9s} {s['rps']:8.1f} req/s  p50 {s['p50_ms']:7.2f} ms  p99 {s['p99_ms']:7.2f} ms  "
                  f"server CPU {s['server_cpu_ms_per_request']:6.2f} ms/req  => {s['capacity_per_core_rps']:8.1f} /s "
                  f"per core  errors {s['errors']}" + (f"  ({s['cpu_vs_trivial']}x trivial)" if k != "trivial" else ""))
        if "sync" in summary:
            print(f"  sync: {summary['sync']['items_per_core_s']} redemptions/s per core in batches of {args.batch}")
        return 0 if all(summary[k]["errors"] == 0 for k in kinds) else 1
    finally:
        if inst is not None:
            inst.stop()
        redis.stop()
        drop_schema(user, schema)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
