"""Fixtures for the backend suite. Every test runs on SQLite and on PostgreSQL (a unique schema per
run in database ``test`` on 127.0.0.1:5432; skipped with a reason when PostgreSQL is unreachable)."""
from __future__ import annotations

import logging
import os
import uuid

import pytest
from sqlalchemy import text

from backend import create_app
from backend.extensions import db

PG_HOST = os.environ.get("PERKPASS_TEST_PG_HOST", "127.0.0.1")
PG_DB = os.environ.get("PERKPASS_TEST_PG_DB", "test")


def _pg_user() -> tuple[str | None, str]:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover
        return None, f"psycopg not installed: {exc}"
    last = ""
    for user in ("postgres", "root"):
        try:
            with psycopg.connect(host=PG_HOST, port=5432, dbname=PG_DB, user=user, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return user, ""
        except Exception as exc:  # noqa: BLE001 - any failure means unreachable; the message says which
            last = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None, f"PostgreSQL unreachable at {PG_HOST}:5432/{PG_DB} ({last})"


def base_config(url: str, schema: str | None) -> dict:
    return {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "DATABASE_SCHEMA": schema,
            "PERKPASS_SMS_SENDER": "outbox", "PERKPASS_LOG_JSON": True}


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    """A migrated database for the session: (url, schema)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "perkpass-test.db"
        url, schema = f"sqlite:///{path}", None
    else:
        user, why = _pg_user()
        if user is None:
            pytest.skip(why)
        schema = f"pp_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        url = f"postgresql+psycopg://{user}@{PG_HOST}:5432/{PG_DB}"
    app = create_app(base_config(url, schema))
    with app.app_context():
        from backend.cli.commands import init_database
        init_database()
        db.session.remove()
    yield url, schema
    with app.app_context():
        if schema:
            db.session.remove()
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        db.engine.dispose()


def _wipe() -> None:
    from backend.services import console_stats
    console_stats.discard_pending()  # a previous test's issued codes, counted but not written yet
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for t in tables:
            db.session.execute(t.delete())
    db.session.commit()


@pytest.fixture
def make_app(database):
    """Factory: an app on the session database with extra config; tables wiped, schemes and keys fresh."""
    url, schema = database
    made = []

    def factory(**overrides):
        cfg = base_config(url, schema)
        cfg.update(overrides)
        app = create_app(cfg)
        with app.app_context():
            if not made:
                _wipe()
                from backend.cli.commands import init_database
                init_database()
            db.session.remove()
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# ---------------------------------------------------------------- helpers used by many tests

class Helper:
    def __init__(self, app, client):
        self.app, self.client = app, client
        self._op_token = None

    def login(self, phone: str, consent: bool = True) -> str:
        r = self.client.post("/api/v1/auth/request-code", json={"phone": phone})
        assert r.status_code == 202, r.json
        body = {"phone": phone, "code": r.json["dev_code"]}
        if consent:
            body["consent"] = {"version": self.app.config["PERKPASS_CONSENT_VERSION"], "accepted": True}
        r = self.client.post("/api/v1/auth/login", json=body)
        assert r.status_code == 200, r.json
        return r.json["access_token"]

    @staticmethod
    def bearer(token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    def citizen(self, phone: str, scores: dict[str, int]) -> str:
        token = self.login(phone)
        rows = [{"phone": phone, "scheme": s, "score": v, "reason": "annual-recalculation",
                 "source_system": "perkpass-operator"} for s, v in scores.items()]
        r = self.client.post("/api/v1/operator/scores", json={"scores": rows}, headers=self.op())
        assert r.status_code == 200 and r.json["imported"] == len(rows), r.json
        return token

    def op(self) -> dict:
        if self._op_token is None:
            from backend.services.operators import create_token
            self._op_token = create_token("tests", 1_700_000_000)
        return self.bearer(self._op_token)

    def venue(self, name: str, audience: str, perks: list[str] | None = None, partner: str | None = None) -> int:
        partner = partner or f"Partner of {name}"
        r = self.client.get("/api/v1/operator/partners", headers=self.op())
        existing = {p["name"]: p["id"] for p in r.json["partners"]}
        if partner in existing:
            pid = existing[partner]
        else:
            r = self.client.post("/api/v1/operator/partners", json={"name": partner}, headers=self.op())
            assert r.status_code == 201, r.json
            pid = r.json["id"]
        body = {"partner_id": pid, "name": name, "audience": audience}
        if perks:
            body["perks"] = perks
        r = self.client.post("/api/v1/operator/venues", json=body, headers=self.op())
        assert r.status_code == 201, r.json
        return r.json["id"]

    def enrol(self, venue_id: int, device_name: str = "desk kiosk") -> dict:
        r = self.client.post(f"/api/v1/operator/venues/{venue_id}/enrolment-codes", json={}, headers=self.op())
        assert r.status_code == 201, r.json
        r = self.client.post("/api/v1/kiosk/enroll", json={"enrolment_code": r.json["enrolment_code"],
                                                           "device_name": device_name})
        assert r.status_code == 201, r.json
        return r.json

    def issue(self, token: str, audience: str, **extra) -> dict:
        r = self.client.post("/api/v1/credentials", json={"audience": audience, **extra}, headers=self.bearer(token))
        assert r.status_code == 200, r.json
        return r.json

    def trust_store(self):
        from partner_sdk import TrustStore
        root = self.client.get("/api/v1/trust-root").json["root_public_key"]
        store = TrustStore(root)
        store.load_bytes(self.client.get("/api/v1/trust-list").data)
        return store


@pytest.fixture
def h(app, client):
    return Helper(app, client)


@pytest.fixture
def json_logs(caplog):
    """Every perkpass log record of the test, formatted exactly as the JSON log lines."""
    from backend.http.log import JSONFormatter
    caplog.set_level(logging.DEBUG, logger="perkpass")
    fmt = JSONFormatter()

    def lines() -> list[str]:
        return [fmt.format(r) for r in caplog.records if r.name.startswith("perkpass")]

    return lines
