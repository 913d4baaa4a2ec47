"""Benchmark: a city's score recalculation through `flask scores import` (issue 19: >= 10,000 rows/s on
PostgreSQL, aim 20,000; memory flat in the file's size), against a trivial write of as many rows in the same run.

    python bench/score_import.py [--db postgresql|sqlite|both] [--rows 200000]

For each database: a fresh database (a new PostgreSQL database beside ``test`` / a temporary SQLite file)
with ``rows`` citizens; then, timed in process through the command itself (click's runner: read, check,
apply, progress):

* ``trivial write``: ``rows`` rows of three integers inserted into a scratch table in batches of 5,000,
  one statement and one commit per batch, from lists already in memory: the floor of writing that many rows
  from Python. Measured before and after the imports; the ratios use the mean of the two.
* ``first import``: a CSV of ``rows`` lines (half by phone, half by citizen id): every row a new membership.
* ``recalculation``: every score changes, one in ten downwards (a decrease waits for a reviewer: an event and
  a review case).
* ``same file again``: every row unchanged (what re-running an interrupted import costs).

Each phase also reports the CPU seconds of this process and of the PostgreSQL backends of the benchmark's
database: on a machine other work loads too, rows per CPU second say what the import itself costs.

Then memory: the same command in its own process (``flask --app backend scores import``) on a recalculation
of a quarter of the citizens and on one of all of them; the peak resident size of each process (ru_maxrss)
should not grow with the file. The audit chain is verified at the end. Writes bench/out/score_import.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.cluster import cpu_seconds, instance_env, pg_url, pg_user

ROOT = Path(__file__).resolve().parent.parent
HEADER = "phone,citizen_id,scheme,score,reason,source_system\n"
BATCH = 5000


def _phone(i: int) -> str:
    return f"+86139{i:08d}"


def _write_csv(path: Path, citizens: list[tuple[int, str]], scores: list[int], reason: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for (i, public_id), score in zip(citizens, scores, strict=True):
            who = f"{_phone(i)}," if i % 2 else f",{public_id}"
            f.write(f"{who},moli,{score},{reason},fuzhou-credit-platform\n")


def _trivial_write(db, n: int) -> float:
    """``n`` rows of three integers, 5,000 per statement and commit: the floor the import is compared with."""
    from sqlalchemy import text
    conn = db.session.connection()
    conn.execute(text("DROP TABLE IF EXISTS bench_trivial"))
    conn.execute(text("CREATE TABLE bench_trivial (a integer, b integer, c integer)"))
    db.session.commit()
    pg = db.engine.dialect.name == "postgresql"
    rows = [(i, 1, i % 1000) for i in range(n)]
    t = time.perf_counter()
    for k in range(0, n, BATCH):
        chunk = rows[k:k + BATCH]
        if pg:
            db.session.execute(text("INSERT INTO bench_trivial SELECT * FROM unnest(CAST(:a AS integer[]), "
                                    "CAST(:b AS integer[]), CAST(:c AS integer[]))"),
                               {"a": [r[0] for r in chunk], "b": [r[1] for r in chunk], "c": [r[2] for r in chunk]})
        else:
            db.session.execute(text("INSERT INTO bench_trivial VALUES (:a, :b, :c)"),
                               [{"a": a, "b": b, "c": c} for a, b, c in chunk])
        db.session.commit()
    return time.perf_counter() - t


def _make_citizens(db, n: int, now: int) -> list[tuple[int, str]]:
    from backend.models import Citizen
    from backend.services import auth
    out = []
    for k in range(0, n, BATCH):
        chunk = [{"public_id": "c_" + uuid.uuid4().hex[:24], "phone_hash": auth.phone_hash(_phone(i)),
                  "phone_hint": _phone(i)[-4:], "locale": "zh-CN", "created_at": now} for i in range(k, min(n, k + BATCH))]
        db.session.execute(Citizen.__table__.insert(), chunk)
        db.session.commit()
        out += [(k + j, c["public_id"]) for j, c in enumerate(chunk)]
    return out


def _server_cpu(db) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend of this database (the server is local); {} on SQLite."""
    from sqlalchemy import text
    if db.engine.dialect.name != "postgresql":
        return {}
    with db.engine.connect() as conn:
        pids = [p for (p,) in conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))]
    return {p: cpu_seconds([p]) for p in pids}


def _import(app, db, path: Path) -> dict:
    """The command in process: wall seconds, and CPU seconds of this process and of the database server (on a
    machine others load too, the CPU figures say what the import itself costs)."""
    runner = app.test_cli_runner()
    server0, cpu0, t = _server_cpu(db), time.process_time(), time.perf_counter()
    res = runner.invoke(args=["scores", "import", str(path)])
    took, cpu = time.perf_counter() - t, time.process_time() - cpu0
    server1 = _server_cpu(db)
    assert res.exit_code == 0, res.output
    server = sum(c - server0.get(p, 0.0) for p, c in server1.items())
    return {"seconds": took, "client_cpu_s": cpu, "server_cpu_s": server, "summary": res.output.strip().splitlines()[-1]}


def _import_process(env: dict, path: Path) -> tuple[float, int, str]:
    """The command in its own process: seconds, peak resident kB, its summary line."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "backend", "scores", "import", str(path)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _pid, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - t
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, err
    return took, usage.ru_maxrss, out.strip().splitlines()[-1]


def run(url: str, schema: str | None, n: int, workdir: Path) -> dict:
    from backend import create_app
    from backend.extensions import db

    settings = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "DATABASE_SCHEMA": schema,
                "PERKPASS_SMS_SENDER": "outbox", "PERKPASS_LOG_LEVEL": "WARNING", "RATELIMIT_ENABLED": False}
    app = create_app(settings)
    rng = random.Random(19)
    with app.app_context():
        from backend.cli.commands import init_database
        from backend.services import ledger
        init_database(quiet=True)
        now = int(time.time())
        citizens = _make_citizens(db, n, now)
        first = [rng.randrange(300, 800) for _ in citizens]  # room for the later increases (at most 1000)
        recalc = [s - rng.randrange(1, 50) if i % 10 == 0 else s + rng.randrange(1, 50)
                  for i, s in enumerate(first)]
        files = {"first": workdir / "first.csv", "recalc": workdir / "recalc.csv"}
        _write_csv(files["first"], citizens, first, "legacy-migration")
        _write_csv(files["recalc"], citizens, recalc, "annual-recalculation")
        dialect = db.engine.dialect.name
        trivial = [_trivial_write(db, n)]
        phases = {}
        for name, path in (("first import", files["first"]), ("recalculation", files["recalc"]),
                           ("same file again", files["recalc"])):
            m = _import(app, db, path)
            phases[name] = {"seconds": round(m["seconds"], 2), "rows_per_s": round(n / m["seconds"]),
                            "client_cpu_s": round(m["client_cpu_s"], 2), "server_cpu_s": round(m["server_cpu_s"], 2),
                            "rows_per_cpu_s": round(n / (m["client_cpu_s"] + m["server_cpu_s"])),
                            "summary": m["summary"]}
        trivial.append(_trivial_write(db, n))
        base = statistics.mean(trivial)
        for p in phases.values():
            p["x_trivial_write"] = round(p["seconds"] / base, 1)
        # memory: the command in its own process, on files of n/4 and n rows (later scores: all increases)
        quarter, whole = workdir / "quarter.csv", workdir / "whole.csv"
        _write_csv(quarter, citizens[: n // 4], [s + 60 for s in recalc[: n // 4]], "scheduled-recalculation")
        _write_csv(whole, citizens, [s + 70 for s in recalc], "scheduled-recalculation")
        env = instance_env(PERKPASS_ENV="testing", DATABASE_URL=url, PERKPASS_DATABASE_SCHEMA=schema or "",
                           PERKPASS_LOG_LEVEL="WARNING")
        memory = {}
        for name, path, rows in (("quarter", quarter, n // 4), ("whole", whole, n)):
            took, rss_kb, summary = _import_process(env, path)
            memory[name] = {"rows": rows, "file_mb": round(path.stat().st_size / 1e6, 1),
                            "peak_rss_mb": round(rss_kb / 1024, 1), "seconds": round(took, 2),
                            "rows_per_s_with_startup": round(rows / took), "summary": summary}
        chain = ledger.verify_audit()
        db.session.remove()
        db.engine.dispose()
    return {"db": dialect, "rows": n, "trivial_write_s": [round(t, 2) for t in trivial],
            "trivial_write_rows_per_s": round(n / base), "phases": phases, "memory": memory,
            "memory_whole_over_quarter": round(memory["whole"]["peak_rss_mb"] / memory["quarter"]["peak_rss_mb"], 2),
            "audit_chain_ok": chain["ok"], "audit_entries": chain["entries"],
            "goal_10000_rows_per_s": min(p["rows_per_s"] for p in phases.values()) >= 10000}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["postgresql", "sqlite", "both"], default="postgresql")
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.db in ("sqlite", "both"):
            results.append(run(f"sqlite:///{tmp}/score-import.db", None, args.rows, Path(tmp)))
        if args.db in ("postgresql", "both"):
            user = pg_user()
            if user is None:
                print("PostgreSQL (database test on 127.0.0.1) is not reachable", file=sys.stderr)
                return 2
            # a database of its own: the audit chain's advisory lock is per database, and test runs in database
            # "test" take it too (their waits are not the import's cost)
            dbname = f"pp_bench_import_{os.getpid()}"
            import psycopg
            with psycopg.connect(host="127.0.0.1", dbname="test", user=user, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            try:
                results.append(run(pg_url(user).rsplit("/", 1)[0] + "/" + dbname, None, args.rows, Path(tmp)))
            finally:
                with psycopg.connect(host="127.0.0.1", dbname="test", user=user, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    for r in results:
        print(f"{r['db']}: {r['rows']:,} rows; trivial write {r['trivial_write_rows_per_s']:,} rows/s "
              f"({' / '.join(str(t) for t in r['trivial_write_s'])} s)")
        for name, p in r["phases"].items():
            print(f"  {name:<16} {p['rows_per_s']:>7,} rows/s  {p['seconds']:>6} s  {p['x_trivial_write']}x the trivial "
                  f"write; CPU {p['client_cpu_s']} s here + {p['server_cpu_s']} s PostgreSQL = {p['rows_per_cpu_s']:,} "
                  f"rows per CPU second   [{p['summary']}]")
        for name, m in r["memory"].items():
            print(f"  own process, {name:<8} {m['rows']:>9,} rows ({m['file_mb']} MB): peak RSS {m['peak_rss_mb']} MB, "
                  f"{m['seconds']} s with start-up")
        print(f"  memory whole/quarter {r['memory_whole_over_quarter']}x; audit chain "
              f"{'ok' if r['audit_chain_ok'] else 'BROKEN'} ({r['audit_entries']} entries); "
              f">= 10,000 rows/s in every phase: {'yes' if r['goal_10000_rows_per_s'] else 'NO'}")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "score_import.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
