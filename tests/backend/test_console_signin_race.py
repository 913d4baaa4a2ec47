"""Console sign-in under parallel requests (issue 21 item 9): one TOTP code signs in one session however many
requests carry it at once, and wrong codes sent at once are each counted toward the lock-out. Real threads,
each a browser of its own, on SQLite and PostgreSQL (the counting is in the database, as across instances)."""
from __future__ import annotations

import threading
import time

from backend.models.console import ConsoleAccount, ConsoleSession
from backend.services import console_auth as ca

PASSWORD = "correct horse battery staple"


def parallel_logins(app, bodies: list[dict]) -> list[int]:
    gate = threading.Barrier(len(bodies))
    statuses: list[int] = [0] * len(bodies)

    def one(i: int) -> None:
        client = app.test_client()
        gate.wait()
        statuses[i] = client.post("/console/api/login", json=bodies[i]).status_code

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return statuses


def test_one_code_signs_in_once(app):
    secret = ca.create_account("zhang.min", "operator", int(time.time()), password=PASSWORD).totp_secret
    code = ca.totp_now(secret, int(time.time()))
    statuses = parallel_logins(app, [{"username": "zhang.min", "password": PASSWORD, "code": code}] * 6)
    assert sorted(statuses) == [200] + [401] * 5, statuses
    acc = ConsoleAccount.query.filter_by(username="zhang.min").one()
    assert ConsoleSession.query.filter_by(account_id=acc.id).count() == 1


def test_wrong_codes_sent_at_once_all_count(app):
    secret = ca.create_account("wang.fang", "operator", int(time.time()), password=PASSWORD).totp_secret
    right = ca.totp_now(secret, int(time.time()))
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    statuses = parallel_logins(app, [{"username": "wang.fang", "password": PASSWORD, "code": wrong}] * ca.MAX_FAILURES)
    assert statuses == [401] * ca.MAX_FAILURES
    r = app.test_client().post("/console/api/login", json={"username": "wang.fang", "password": PASSWORD, "code": right})
    assert r.status_code == 423 and r.json["error"]["code"] == "account_locked", r.json
