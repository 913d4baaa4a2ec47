"""Benchmark: credential issuance over HTTP under gunicorn, on SQLite and on PostgreSQL.

    python bench/issue_load.py [--db sqlite|postgresql|both] [--duration 30] [--baseline 10]
                               [--workers 4] [--threads 2] [--clients 8] [--citizens 200] [--repeat 1]

For each database: a fresh database (SQLite file / a new PostgreSQL schema in database ``test``),
``flask --app backend init-db``, citizens with scores and access tokens, then gunicorn
(``backend.wsgi:app``, production config, structured access logs on) and load from a *second process*
(threads with keep-alive connections): first the trivial JSON endpoint ``GET /api/v1/health`` for
``--baseline`` seconds, then ``POST /api/v1/credentials`` for ``--duration`` seconds on the same server.
Reports requests/s, p50, p99, errors and the ratio issuance/trivial. Goal: ratio >= 0.6, 0 errors.
One run moves by about +-0.05 on a shared 2-core machine: ``--repeat 3`` runs each database three times
(a fresh server each time) and judges the median. Writes bench/out/issue_load.json.
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
VENV_BIN = Path(sys.executable).parent


# the same helpers the city-scale benches and two-instance tests use: gunicorn instances, a private Redis,
# PostgreSQL's user and schemas, the server's CPU from /proc
sys.path.insert(0, str(ROOT))
from tools.cluster import Instance, Redis, drop_schema, instance_env, keepalive_load, pg_url, pg_user


SETUP = r"""
import json, sys, time
from backend import create_app
from backend.extensions import db
from backend.models import Citizen, Consent
from backend.services import scores, auth
from backend.services import consent as ct
import uuid
n = int(sys.argv[1]); out = sys.argv[2]
app = create_app()
with app.app_context():
    now = int(time.time())
    tokens = []
    version = app.config["PERKPASS_CONSENT_VERSION"]
    for i in range(n):
        phone = "+86139%08d" % (50000000 + i)
        c = Citizen(public_id="c_" + uuid.uuid4().hex[:24], phone_hash=auth.phone_hash(phone), phone_hint=phone[-4:],
                    locale="zh-CN", created_at=now)
        c.consents.append(Consent(version=version, accepted_at=now, text_sha256=ct.sha256(version)))
        db.session.add(c); db.session.flush()
        scores.set_score(c, "moli", 690 + i % 300, now=now, source="bench")
        db.session.commit()
        tok, _ = auth.issue_token_for(c, now)
        tokens.append(tok)
    json.dump(tokens, open(out, "w"))
"""


def client_proc(port: int, phases: list[dict], tokens: list[str], clients: int, server_pids: list[int], q) -> None:
    """The load generator (its own process): for each phase, ``clients`` threads with keep-alive."""
    results = []
    for phase in phases:
        def request_for(i: int, n: int, phase=phase):
            if phase["method"] != "POST":
                return phase["method"], phase["path"], None, {}
            tok = tokens[(i * 7919 + n) % len(tokens)]
            return "POST", phase["path"], phase["body"], {"Authorization": "Bearer " + tok,
                                                          "Content-Type": "application/json"}

        def is_ok(status: int, body: bytes, check=phase["check"]) -> bool:
            return status == 200 and (check is None or check.encode() in body)

        r = keepalive_load(port, request_for, clients, phase["seconds"], server_pids, is_ok=is_ok, timeout=10)
        all_lat, n_ok, elapsed = r["lat"], len(r["lat"]), r["seconds"]
        results.append({
            "name": phase["name"], "requests": n_ok + r["errors"], "ok": n_ok, "errors": r["errors"],
            "seconds": round(elapsed, 2), "rps": round(n_ok / elapsed, 1),
            "p50_ms": round(statistics.median(all_lat) * 1000, 2) if all_lat else None,
            "p99_ms": round(all_lat[min(len(all_lat) - 1, int(len(all_lat) * 0.99))] * 1000, 2) if all_lat else None,
            "server_cpu_ms_per_request": round(r["cpu"] * 1000 / n_ok, 3) if n_ok else None,
            "error_samples": r["samples"],
        })
    q.put(results)


def run_one(db: str, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"perkpass-bench-{db}-"))
    settings = {
        "PERKPASS_ENV": "production", "SECRET_KEY": uuid.uuid4().hex * 2,
        "PERKPASS_KEY_PASSPHRASE": "bench-" + uuid.uuid4().hex, "PERKPASS_SMS_SENDER": "outbox",
        "PERKPASS_REFERENCE_KEY": uuid.uuid4().hex * 2,
        # the benchmark drives each citizen far above a human's pace; the limiter stays on, with a high ceiling
        "PERKPASS_RATE_LIMIT_ISSUE": "" if args.no_issue_limit else "1000000 per minute",
    }
    schema = user = None
    if db == "sqlite":
        settings["DATABASE_URL"] = f"sqlite:///{tmp}/bench.db"
    else:
        user = pg_user()
        if user is None:
            return {"db": db, "skipped": "PostgreSQL unreachable at 127.0.0.1:5432/test"}
        schema = f"pp_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        settings.update(DATABASE_URL=pg_url(user), PERKPASS_DATABASE_SCHEMA=schema)
    redis = None
    if args.limiter == "redis":
        if shutil.which("redis-server") is None:
            return {"db": db, "skipped": "redis-server not installed (use --limiter memory)"}
        redis = Redis(tmp)
        settings["REDIS_URL"] = redis.url
    else:
        settings["RATELIMIT_STORAGE_URI"] = "memory://"
        settings["PERKPASS_LOCAL_RATE_LIMITS"] = "1"  # per-worker counting, deliberately (production refuses it otherwise)
    env = instance_env(**settings)
    server = None
    try:
        subprocess.run([str(VENV_BIN / "flask"), "--app", "backend", "init-db"], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tokens_file = tmp / "tokens.json"
        subprocess.run([sys.executable, "-c", SETUP, str(args.citizens), str(tokens_file)], env=env, cwd=ROOT,
                       check=True, stderr=subprocess.DEVNULL)
        tokens = json.loads(tokens_file.read_text())
        server = Instance(env, tmp / "gunicorn.log", workers=args.workers, threads=args.threads).start()
        time.sleep(1.0)  # let the workers boot
        port, server_pids = server.port, server.pids()
        body = json.dumps({"audience": "metro"})
        triv_phase = {"name": "trivial", "method": "GET", "path": "/api/v1/health", "body": None,
                      "seconds": args.baseline / args.rounds, "check": '"ok"'}
        iss_phase = {"name": "issuance", "method": "POST", "path": "/api/v1/credentials", "body": body,
                     "seconds": args.duration / args.rounds, "check": '"PP1'}
        phases = [dict(iss_phase, name="warmup", seconds=3)]
        for _ in range(args.rounds):  # interleaved, so both endpoints see the same machine load
            phases += [dict(triv_phase), dict(iss_phase)]
        q = mp.get_context("spawn").Queue()
        p = mp.get_context("spawn").Process(target=client_proc,
                                            args=(port, phases, tokens, args.clients, server_pids, q))
        p.start()
        results = q.get(timeout=args.duration + args.baseline + 120)
        p.join()
        warm = results[0]
        rounds = [(results[i], results[i + 1]) for i in range(1, len(results), 2)]

        def merge(parts: list[dict]) -> dict:
            secs = sum(x["seconds"] for x in parts)
            ok = sum(x["ok"] for x in parts)
            p50s = [x["p50_ms"] for x in parts if x["p50_ms"] is not None]
            p99s = [x["p99_ms"] for x in parts if x["p99_ms"] is not None]
            cpu = [x["server_cpu_ms_per_request"] * x["ok"] for x in parts if x["server_cpu_ms_per_request"]]
            return {"requests": sum(x["requests"] for x in parts), "ok": ok,
                    "errors": sum(x["errors"] for x in parts), "seconds": round(secs, 1),
                    "rps": round(ok / secs, 1) if secs else 0.0,
                    "p50_ms": round(statistics.median(p50s), 2) if p50s else None,
                    "p99_ms": round(max(p99s), 2) if p99s else None,  # worst round: conservative
                    "server_cpu_ms_per_request": round(sum(cpu) / ok, 3) if ok else None,
                    "error_samples": [e for x in parts for e in x["error_samples"]][:3]}

        triv = merge([t for t, _ in rounds])
        iss = merge([i for _, i in rounds])
        round_ratios = [i["rps"] / t["rps"] for t, i in rounds if t["rps"]]
        return {"db": db, "limiter": args.limiter, "workers": args.workers, "threads": args.threads,
                "clients": args.clients, "citizens": args.citizens, "rounds": args.rounds,
                "trivial": triv, "issuance": iss,
                "ratio": round(iss["rps"] / triv["rps"], 3) if triv["rps"] else None,
                "ratio_median_of_rounds": round(statistics.median(round_ratios), 3) if round_ratios else None,
                "cpu_ratio": (round(triv["server_cpu_ms_per_request"] / iss["server_cpu_ms_per_request"], 3)
                              if iss["server_cpu_ms_per_request"] else None),
                "load_average": os.getloadavg(),
                "errors": triv["errors"] + iss["errors"] + warm["errors"]}
    finally:
        if server is not None:
            server.stop()
        if redis is not None:
            redis.stop()
        if schema and user:
            drop_schema(user, schema)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of issuance load")
    ap.add_argument("--baseline", type=float, default=10.0, help="seconds of trivial-endpoint load")
    ap.add_argument("--rounds", type=int, default=6, help="alternations of trivial and issuance load")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8, help="concurrent keep-alive connections")
    ap.add_argument("--citizens", type=int, default=200)
    ap.add_argument("--limiter", choices=["redis", "memory"], default="memory",
                    help="Flask-Limiter storage: redis (a private redis-server, as in production with several "
                         "workers) or memory (per worker)")
    ap.add_argument("--no-issue-limit", action="store_true", help="switch the per-citizen issuance limit off")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (gunicorn log)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="whole runs per database (fresh server each); the verdict uses the median ratio")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "issue_load.json"))
    args = ap.parse_args()
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    runs = [run_one(db, args) for db in dbs for _ in range(max(1, args.repeat))]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"runs": runs, "cpus": os.cpu_count(),
                                          "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, indent=2))
    print(f"issuance load: gunicorn gthread, {args.workers} workers x {args.threads} threads, "
          f"{args.clients} keep-alive clients in a second process, limiter storage {args.limiter}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'db':<11} {'endpoint':<26} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'srv CPU ms/req':>15}")
    ok = True
    for r in runs:
        if "skipped" in r:
            print(f"{r['db']:<11} skipped: {r['skipped']}")
            continue
        for name, label in (("trivial", "GET /api/v1/health"), ("issuance", "POST /api/v1/credentials")):
            x = r[name]
            print(f"{r['db']:<11} {label:<26} {x['rps']:>8} {x['p50_ms']:>8} {x['p99_ms']:>8} {x['errors']:>7} "
                  f"{x['server_cpu_ms_per_request']:>15}")
        verdict = "OK" if r["ratio"] >= 0.6 and r["errors"] == 0 else "below goal in this run"
        print(f"{r['db']:<11} ratio issuance/trivial = {r['ratio']} (req/s; median of rounds "
              f"{r['ratio_median_of_rounds']}), {r['cpu_ratio']} (server CPU per request)  errors = {r['errors']}  "
              f"load average {', '.join(f'{x:.1f}' for x in r['load_average'])}"
              f"  [{verdict}]")
        for x in (r["trivial"], r["issuance"]):
            for s in x["error_samples"]:
                print("   error sample:", s)
    for db in dbs:
        mine = [r for r in runs if r["db"] == db and "skipped" not in r]
        if not mine:
            continue
        ratios = [r["ratio"] for r in mine]
        med = statistics.median(ratios)
        errors = sum(r["errors"] for r in mine)
        verdict = "OK" if med >= 0.6 and errors == 0 else "BELOW GOAL"
        print(f"{db:<11} ratio issuance/trivial over {len(mine)} run(s): {', '.join(str(x) for x in ratios)}; "
              f"median {round(med, 3)}, errors {errors}  (goal >= 0.6, 0 errors)  [{verdict}]")
        ok = ok and verdict == "OK"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
