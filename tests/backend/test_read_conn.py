"""The token lookup's own read connection: it sees every commit at once, survives a dropped connection
and is closed with its engine."""
import pytest
from sqlalchemy import text

from backend.extensions import db
from backend.services import read_conn

CITIZEN = "+8613900000123"


@pytest.fixture
def engine(app):
    assert read_conn.applies(db.engine)  # both test databases are real files / servers
    return db.engine


@pytest.fixture
def pg(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL-only behaviour: server sessions and libpq prepared statements")
    return engine


def test_in_memory_sqlite_keeps_the_pool():
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool
    assert not read_conn.applies(create_engine("sqlite://"))
    # the pool is named: SQLAlchemy deprecates choosing it from the URL's mode=memory
    assert not read_conn.applies(create_engine("sqlite:///file:x?mode=memory&uri=true", poolclass=StaticPool))


def _backend_pids(engine) -> set[int]:
    return {conn.info.backend_pid for conn in read_conn.for_engine(engine).open_connections()}


def test_logout_and_new_scores_count_on_the_very_next_request(engine, h, client):
    token = h.citizen(CITIZEN, {"moli": 713})
    assert h.issue(token, "metro")["eligible"] is True  # the read connection now exists
    assert read_conn.for_engine(engine).open_connections()
    # a score drop committed through the ORM is seen at once: no snapshot is held between requests
    r = client.post("/api/v1/operator/scores", json={"scores": [{"phone": CITIZEN, "scheme": "moli", "score": 350,
        "reason": "annual-recalculation", "source_system": "perkpass-operator"}]},
                    headers=h.op())
    assert r.status_code == 200 and r.json["pending_review"] == 1  # a decrease waits for a person
    from tests.backend.test_ledger import Ledger
    lg = Ledger(h)
    rev = lg.reviewer()
    lg.decide(rev, lg.queue(rev)["cases"][0]["id"], "confirm", "Checked against the platform's records.")
    assert h.issue(token, "metro")["eligible"] is False
    assert client.post("/api/v1/auth/logout", headers=h.bearer(token)).status_code == 200
    r = client.post("/api/v1/credentials", json={"audience": "metro"}, headers=h.bearer(token))
    assert r.status_code == 401


def test_a_dropped_connection_is_replaced_without_an_error(pg, h, client):
    token = h.citizen(CITIZEN, {"moli": 713})
    h.issue(token, "metro")
    (old_pid,) = _backend_pids(pg)
    with pg.connect() as conn:  # what a database restart or an idle-timeout does to it
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": old_pid}).scalar() is True
    assert h.issue(token, "metro")["eligible"] is True
    assert _backend_pids(pg) and old_pid not in _backend_pids(pg)


def test_connection_closes_with_its_engine(engine, h, client):
    token = h.citizen(CITIZEN, {"moli": 713})
    h.issue(token, "metro")
    (raw,) = read_conn.for_engine(engine).open_connections()
    engine.dispose()
    assert read_conn.for_engine(engine).open_connections() == []
    if engine.dialect.name == "sqlite":
        import sqlite3
        with pytest.raises(sqlite3.ProgrammingError):
            raw.execute("SELECT 1")
    assert h.issue(token, "metro")["eligible"] is True  # and a new one is opened on demand


def test_connections_close_with_their_engine(pg, h, client):
    token = h.citizen(CITIZEN, {"moli": 713})
    h.issue(token, "metro")
    pids = _backend_pids(pg)
    assert pids
    pg.dispose()
    assert read_conn.for_engine(pg).open_connections() == []
    with pg.connect() as conn:
        alive = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:p)"),
                             {"p": list(pids)}).scalar()
    assert alive == 0
    assert h.issue(token, "metro")["eligible"] is True  # and a new one is opened on demand


def test_a_failing_statement_raises_and_leaves_the_connection_usable(pg, h, client):
    import psycopg
    token = h.citizen(CITIZEN, {"moli": 713})
    with pytest.raises(psycopg.DatabaseError, match="no_such_table"):
        read_conn.fetch_prepared(pg, "perkpass_test_bad", "SELECT 1 FROM no_such_table WHERE a = $1", ["1"])
    assert read_conn.fetch_prepared(pg, "perkpass_test_ok", "SELECT $1::int + 1, NULL", ["41"]) == [("42", None)]
    assert h.issue(token, "metro")["eligible"] is True


def test_one_object_per_engine_in_the_app(engine, app, h):
    from sqlalchemy import create_engine
    token = h.citizen(CITIZEN, {"moli": 713})
    h.issue(token, "metro")
    mine = read_conn.for_engine(engine)
    assert app.extensions[read_conn.EXTENSION] == {engine: mine} and read_conn.for_engine(engine, app) is mine
    other = create_engine(engine.url)  # another engine (another app's, a rebuilt one) never shares its state
    try:
        assert read_conn.for_engine(other) is not mine and read_conn.for_engine(other).open_connections() == []
    finally:
        other.dispose()
        app.extensions[read_conn.EXTENSION].pop(other, None)


def test_an_expired_token_is_refused(engine, h, client, app):
    token = h.citizen(CITIZEN, {"moli": 713})
    from backend.models import AccessToken
    db.session.query(AccessToken).update({AccessToken.expires_at: 1})
    db.session.commit()
    r = client.post("/api/v1/credentials", json={"audience": "metro"}, headers=h.bearer(token))
    assert r.status_code == 401
