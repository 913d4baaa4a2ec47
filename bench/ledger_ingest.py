"""Benchmark: a data provider's batches through POST /api/v1/provider/events, on SQLite and on PostgreSQL
(Flask test client, in process: the cost measured is the ledger's, not HTTP's), against a trivial write of the
same run.

    python bench/ledger_ingest.py [--db sqlite|postgresql|both] [--batches 5] [--size 1000]

For each database: a fresh database (a temporary SQLite file / a new PostgreSQL schema in database
``test``), ``size`` citizens in the Moli scheme, one provider with an approved catalogue entry; then
``batches`` batches of ``size`` new events (codes, numbers and references only; half negative, so half wait
for review and open a case), each followed by the same batch re-sent (all duplicates). The baseline, measured
in between on the same database: the same number of rows of the same shape inserted into a scratch table in
one statement and one transaction (a trivial write: no validation, no lookups, no ledger). Reports events/s
for new and re-sent batches (median of the runs), the trivial write's rows/s and the ratio, and checks the
audit chain. Writes bench/out/ledger_ingest.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def run(url: str, schema: str | None, batches: int, size: int) -> dict:
    from backend import create_app
    from backend.extensions import db

    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "DATABASE_SCHEMA": schema,
                      "PERKPASS_SMS_SENDER": "outbox", "PERKPASS_LOG_LEVEL": "WARNING", "RATELIMIT_ENABLED": False})
    with app.app_context():
        from backend.cli.commands import init_database
        from backend.models import Citizen
        from backend.services import auth, ledger, scores
        init_database()
        now = int(time.time())
        citizens = []
        for i in range(size):
            c = Citizen(public_id="c_" + uuid.uuid4().hex[:24], phone_hash=auth.phone_hash(f"+86139{i:08d}"),
                        phone_hint="0000", created_at=now)
            db.session.add(c)
            citizens.append(c)
        db.session.flush()
        for c in citizens:
            scores.set_score(c, "moli", 650, now=now, source="bench")
        db.session.commit()
        _p, token = ledger.create_provider("bench", "Bench provider", ["moli"], now,
                                           reference_format="BN-##-########")
        change = next(c for c in ledger.catalogue_changes() if c.code == "bench")
        ledger.decide_change(change.id, True, "operator:bench-second", now)
        # each request in production starts with an empty session; the test client shares this context's,
        # which would otherwise hold every citizen and membership made above
        db.session.remove()
        client = app.test_client()
        headers = {"Authorization": "Bearer " + token}
        new, again, trivial = [], [], []
        for b in range(batches):
            events = [{"reference": f"BN-{b:02d}-{i:08d}", "phone": f"+86139{i:08d}", "scheme": "moli",
                       "rule": "VOLUNTEER-SERVICE" if i % 2 else "OFFENCE-MINOR", "points": 3 if i % 2 else -6,
                       "occurred_at": now - 60} for i in range(size)]
            t = time.perf_counter()
            r = client.post("/api/v1/provider/events", json={"events": events}, headers=headers)
            new.append(time.perf_counter() - t)
            assert r.status_code == 200 and r.json["accepted"] == size, r.json
            t = time.perf_counter()
            r = client.post("/api/v1/provider/events", json={"events": events}, headers=headers)
            again.append(time.perf_counter() - t)
            assert r.status_code == 200 and r.json["duplicate"] == size, r.json
            trivial.append(_trivial_write(db, b, size, now))
        chain = ledger.verify_audit()
        dialect = db.engine.dialect.name
        db.session.remove()
        db.engine.dispose()
    return {"db": dialect, "batch_size": size, "batches": batches,
            "new_events_per_s": round(size / statistics.median(new)), "resent_events_per_s": round(size / statistics.median(again)),
            "new_batch_s_median": round(statistics.median(new), 3), "resent_batch_s_median": round(statistics.median(again), 3),
            "trivial_rows_per_s": round(size / statistics.median(trivial)),
            "new_vs_trivial": round(statistics.median(new) / statistics.median(trivial), 1),
            "goal_5000_per_s_met": size / statistics.median(new) >= 5000,
            "audit_chain_ok": chain["ok"], "audit_entries": chain["entries"]}


def _trivial_write(db, b: int, size: int, now: int) -> float:
    """Seconds to insert ``size`` rows shaped like score events into a scratch table, one statement, one
    transaction: what writing the rows costs without anything a ledger does."""
    from sqlalchemy import text
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_trivial (id INTEGER PRIMARY KEY, membership_id INTEGER, "
                          "kind VARCHAR(24), delta INTEGER, category VARCHAR(48), provider_event_id VARCHAR(64), "
                          "occurred_at BIGINT, recorded_at BIGINT)"))
    rows = [{"id": b * size + i + 1, "m": i + 1, "k": "point", "d": 3, "c": "VOLUNTEER-SERVICE",
             "p": f"{b:02d}{i:062d}", "o": now - 60, "r": now} for i in range(size)]
    t = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO bench_trivial VALUES (:id, :m, :k, :d, :c, :p, :o, :r)"), rows)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--size", type=int, default=1000)
    args = ap.parse_args()
    results = []
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run(f"sqlite:///{tmp}/ledger-bench.db", None, args.batches, args.size))
    if args.db in ("postgresql", "both"):
        import psycopg
        schema = f"pp_bench_ledger_{os.getpid()}"
        with psycopg.connect(host="127.0.0.1", dbname="test", user="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            results.append(run("postgresql+psycopg://postgres@127.0.0.1:5432/test", schema, args.batches, args.size))
        finally:
            with psycopg.connect(host="127.0.0.1", dbname="test", user="postgres", autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    for r in results:
        print(f"{r['db']:<10} {r['batch_size']}-event batch: {r['new_events_per_s']} new events/s "
              f"({r['new_batch_s_median']} s) = {r['new_vs_trivial']}x a trivial write of the same rows "
              f"({r['trivial_rows_per_s']} rows/s); re-sent {r['resent_events_per_s']} events/s "
              f"({r['resent_batch_s_median']} s); goal 5,000/s {'met' if r['goal_5000_per_s_met'] else 'NOT met'}; "
              f"audit chain {'ok' if r['audit_chain_ok'] else 'BROKEN'} "
              f"({r['audit_entries']} entries)")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "ledger_ingest.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
