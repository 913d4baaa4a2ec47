"""Backups are only backups once a restore was tried (issue 14 item 4, docs/deploy.md): pg_dump of a live
database, pg_restore into a fresh database, and a real gunicorn instance on the copy serves what was there
before: the old trust list verifies a code issued before the dump, the citizen's history and the replay
report list the old redemptions, a kiosk re-sending its old batch gets 'duplicate', and it keeps working."""
from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import pytest
import requests

from backend import create_app
from backend.extensions import db
from tests.backend.conftest import Helper, base_config
from tools.cluster import PG_HOST, ROOT, VENV_BIN, Instance, drop_schema, instance_env, pg_url, pg_user

pytestmark = pytest.mark.postgres


def _psql(user: str, sql: str) -> None:
    subprocess.run(["psql", "-h", PG_HOST, "-U", user, "-d", "test", "-qAtc", sql], check=True, capture_output=True)


def test_pg_dump_restore_into_a_fresh_database_and_the_service_carries_on(tmp_path):
    user = pg_user()
    if user is None or not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.skip("PostgreSQL and its client tools are needed")
    schema, restored = f"pp_bk_{uuid.uuid4().hex[:8]}", f"pp_restore_{uuid.uuid4().hex[:8]}"
    app = create_app(base_config(pg_url(user), schema))
    inst = None
    try:
        with app.app_context():
            from backend.cli.commands import init_database
            init_database(quiet=True)
            h = Helper(app, app.test_client())
            token = h.citizen("+8613900001499", {"moli": 713})
            issued_at = int(time.time())
            qr = h.issue(token, "metro")["qr_text"]
            from partner_sdk import Verifier
            d = Verifier(h.trust_store(), audience="metro").verify(qr, now=issued_at)
            kiosks = [h.enrol(h.venue(name, "metro", ["MOLI-METRO20"])) for name in ("Gulou gate", "Wuyi gate")]
            batches = [[{"id": str(uuid.uuid4()), "jti": d.jti, "pseudonym": d.pseudonym, "perk": "MOLI-METRO20",
                         "scanned_at": issued_at + i}] for i in range(2)]  # a copied code at two gates
            for k, batch in zip(kiosks, batches, strict=True):
                r = h.client.post("/api/v1/kiosk/redemptions", json={"redemptions": batch},
                                  headers=h.bearer(k["device_token"]))
                assert r.json["accepted"] == 1, r.json
            before = h.client.get("/api/v1/me/redemptions", headers=h.bearer(token)).json["redemptions"]
            op = h.op()  # an operator token made before the dump
            assert len(before) == 2
            db.session.remove()
            db.engine.dispose()

        dump = tmp_path / "perkpass.dump"
        subprocess.run(["pg_dump", "-h", PG_HOST, "-U", user, "-d", "test", "-n", schema, "-Fc", "-f", str(dump)],
                       check=True, capture_output=True)
        _psql(user, f'CREATE DATABASE "{restored}"')
        subprocess.run(["pg_restore", "-h", PG_HOST, "-U", user, "-d", restored, "--no-owner", str(dump)],
                       check=True, capture_output=True)

        url = f"postgresql://{user}@{PG_HOST}:5432/{restored}"
        env = instance_env(PERKPASS_ENV="testing", DATABASE_URL=url, PERKPASS_DATABASE_SCHEMA=schema,
                           PERKPASS_LOG_LEVEL="WARNING")
        # the upgrade step of a deployment runs on the copy too: nothing to migrate, nothing re-created
        r = subprocess.run([str(VENV_BIN / "flask"), "--app", "backend", "init-db"], env=env, cwd=ROOT,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        inst = Instance(env, tmp_path / "restored.log", workers=1, threads=2).start()
        base = f"http://127.0.0.1:{inst.port}"

        from partner_sdk import Status, TrustStore
        store = TrustStore(requests.get(base + "/api/v1/trust-root").json()["root_public_key"])
        store.load_bytes(requests.get(base + "/api/v1/trust-list").content)
        # the restored service publishes the same keys: a code issued before the dump still verifies
        assert Verifier(store, audience="metro").verify(qr, now=issued_at).status is Status.GRANTED
        hd = {"Authorization": "Bearer " + token}
        after = requests.get(base + "/api/v1/me/redemptions", headers=hd).json()["redemptions"]
        assert [(x["id"], x["scanned_at"], x["flagged_replay"]) for x in after] == \
               [(x["id"], x["scanned_at"], x["flagged_replay"]) for x in before]
        report = requests.get(base + "/api/v1/operator/replays", headers=op).json()["replays"]
        assert [r["jti"] for r in report] == [d.jti] and report[0]["redemptions"] == 2
        r = requests.post(base + "/api/v1/kiosk/redemptions", json={"redemptions": batches[0]},
                          headers={"Authorization": "Bearer " + kiosks[0]["device_token"]})
        assert r.status_code == 200 and r.json()["results"][0]["status"] == "duplicate"
        # and it carries on: a new code, verified with the restored trust list
        qr2 = requests.post(base + "/api/v1/credentials", json={"audience": "metro"}, headers=hd).json()["qr_text"]
        assert Verifier(store, audience="metro").verify(qr2).status is Status.GRANTED
    finally:
        if inst is not None:
            inst.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_schema(user, schema)
        subprocess.run(["psql", "-h", PG_HOST, "-U", user, "-d", "test", "-qAtc",
                        f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)'], capture_output=True)
