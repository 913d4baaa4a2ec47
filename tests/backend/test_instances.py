"""Several app servers, one truth (issue 14 item 1): two real gunicorn instances (separate processes on
separate ports) on one PostgreSQL schema and one Redis behave as one service. Limits and lock-outs count
across instances, a logged-out token is refused by both, a key rotation or compromise is seen by both
within PERKPASS_KEY_CACHE_SECONDS, an enrolment code is single-use across both, and one redemption
batch sent to both at once is stored once."""
from __future__ import annotations

import concurrent.futures as cf
import time
import uuid

import pytest
import requests

from backend import create_app
from backend.extensions import db
from tests.backend.conftest import base_config
from tools.cluster import Instance, Redis, drop_schema, instance_env, pg_url, pg_user, pp1_redemption

pytestmark = pytest.mark.postgres

KEY_CACHE_SECONDS = 2.0
LOCKOUT_FAILURES = 4


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    user = pg_user()
    if user is None:
        pytest.skip("PostgreSQL unreachable at 127.0.0.1:5432/test")
    tmp = tmp_path_factory.mktemp("instances")
    schema = f"pp_inst_{uuid.uuid4().hex[:10]}"
    app = create_app(base_config(pg_url(user), schema))
    with app.app_context():
        from backend.cli.commands import init_database
        init_database(quiet=True)
        db.session.remove()
    redis = Redis(tmp)
    env = instance_env(
        PERKPASS_ENV="testing", DATABASE_URL=pg_url(user), PERKPASS_DATABASE_SCHEMA=schema, REDIS_URL=redis.url,
        PERKPASS_LOG_LEVEL="WARNING", PERKPASS_PROXY_FIX="1",  # X-Forwarded-For: one client address per test
        PERKPASS_KEY_CACHE_SECONDS=str(KEY_CACHE_SECONDS),
        PERKPASS_RATE_LIMIT_REQUEST_CODE_IP="4 per minute",
        PERKPASS_LOGIN_LOCKOUT_FAILURES=str(LOCKOUT_FAILURES),
        PERKPASS_RATE_LIMIT_ISSUE="3 per minute", PERKPASS_RATE_LIMIT_ISSUE_SHARED="1")
    instances = [Instance(env, tmp / f"gunicorn-{i}.log", workers=1, threads=4) for i in range(2)]
    try:
        for inst in instances:
            inst.start()
        yield Cluster(app, [f"http://127.0.0.1:{i.port}" for i in instances])
    finally:
        for inst in instances:
            inst.stop()
        redis.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_schema(user, schema)


class Cluster:
    def __init__(self, app, urls):
        self.app, self.a, self.b = app, urls[0], urls[1]
        with app.app_context():
            from backend.services.operators import create_token
            self.op = {"Authorization": "Bearer " + create_token("instances", int(time.time()))}

    def login(self, url: str, phone: str, ip: str) -> str:
        r = requests.post(url + "/api/v1/auth/request-code", json={"phone": phone}, headers={"X-Forwarded-For": ip})
        assert r.status_code == 202, r.text
        r = requests.post(url + "/api/v1/auth/login", headers={"X-Forwarded-For": ip}, json={
            "phone": phone, "code": r.json()["dev_code"], "consent": {"version": "2026-11-01", "accepted": True}})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def citizen(self, phone: str, ip: str) -> dict:
        token = self.login(self.a, phone, ip)
        r = requests.post(self.b + "/api/v1/operator/scores", headers=self.op,
                          json={"scores": [{"phone": phone, "scheme": "moli", "score": 713,
                              "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
        assert r.status_code == 200, r.text
        return {"Authorization": "Bearer " + token}

    def venue(self, name: str, audience: str = "metro", perks: list[str] | None = None) -> int:
        r = requests.post(self.a + "/api/v1/operator/partners", json={"name": "Partner " + name}, headers=self.op)
        assert r.status_code == 201, r.text
        r = requests.post(self.a + "/api/v1/operator/venues", headers=self.op,
                          json={"partner_id": r.json()["id"], "name": name, "audience": audience,
                                **({"perks": perks} if perks else {})})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def enrolment_code(self, venue_id: int) -> str:
        r = requests.post(f"{self.b}/api/v1/operator/venues/{venue_id}/enrolment-codes", json={}, headers=self.op)
        assert r.status_code == 201, r.text
        return r.json()["enrolment_code"]

    def store(self, url: str):
        from partner_sdk import TrustStore
        s = TrustStore(requests.get(url + "/api/v1/trust-root").json()["root_public_key"])
        s.load_bytes(requests.get(url + "/api/v1/trust-list").content)
        return s


def _inside_one_minute_window() -> None:
    """Fixed-window limits reset on the minute: start a burst well inside one window, never across two."""
    into = time.time() % 60
    if into > 55:
        time.sleep(60.5 - into)


def _kid(store, qr: str) -> str:
    from partner_sdk import Status, Verifier
    d = Verifier(store, audience="metro").verify(qr)
    assert d.status is Status.GRANTED, d
    return d.to_dict()["kid"]


def test_code_request_limit_per_address_counts_across_instances(cluster):
    ip = "198.51.100.1"
    _inside_one_minute_window()
    statuses = [requests.post(url + "/api/v1/auth/request-code", headers={"X-Forwarded-For": ip},
                              json={"phone": f"+861380000{i:04d}"}).status_code
                for i, url in enumerate([cluster.a, cluster.b] * 3)]
    assert statuses == [202, 202, 202, 202, 429, 429]  # "4 per minute" for the service, not per instance
    # another address is not affected
    r = requests.post(cluster.b + "/api/v1/auth/request-code", json={"phone": "+8613800009999"},
                      headers={"X-Forwarded-For": "198.51.100.2"})
    assert r.status_code == 202


def test_issuance_limit_counts_across_instances(cluster):
    hd = cluster.citizen("+8613811110001", "198.51.100.10")
    _inside_one_minute_window()
    codes = [requests.post(url + "/api/v1/credentials", json={"audience": "metro"}, headers=hd)
             for url in (cluster.a, cluster.b, cluster.a, cluster.b)]
    assert [r.status_code for r in codes] == [200, 200, 200, 429]
    assert codes[3].json()["error"]["code"] == "rate_limited" and int(codes[3].headers["Retry-After"]) >= 1


def test_login_lockout_counts_wrong_codes_from_both_instances(cluster):
    phone, ip = "+8613811110002", "198.51.100.20"
    urls = [cluster.a, cluster.b]
    r = requests.post(cluster.a + "/api/v1/auth/request-code", json={"phone": phone}, headers={"X-Forwarded-For": ip})
    good = r.json()["dev_code"]
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for i in range(LOCKOUT_FAILURES):  # wrong guesses alternate between the instances
        r = requests.post(urls[i % 2] + "/api/v1/auth/login", json={"phone": phone, "code": wrong},
                          headers={"X-Forwarded-For": ip})
        assert r.status_code == 400, r.text
    for url in urls:  # now even the right code is refused on either instance
        r = requests.post(url + "/api/v1/auth/login", headers={"X-Forwarded-For": ip}, json={
            "phone": phone, "code": good, "consent": {"version": "2026-11-01", "accepted": True}})
        assert r.status_code == 429 and r.json()["error"]["code"] == "locked_out", r.text


def test_logged_out_token_is_refused_by_every_instance_at_once(cluster):
    hd = {"Authorization": "Bearer " + cluster.login(cluster.a, "+8613811110003", "198.51.100.30")}
    assert requests.get(cluster.b + "/api/v1/me", headers=hd).status_code == 200
    assert requests.get(cluster.a + "/api/v1/me", headers=hd).status_code == 200
    assert requests.post(cluster.b + "/api/v1/auth/logout", headers=hd).status_code == 200
    for url in (cluster.a, cluster.b):  # the very next request, no waiting
        r = requests.get(url + "/api/v1/me", headers=hd)
        assert r.status_code == 401, r.text


def test_key_rotation_and_compromise_reach_every_instance_within_the_cache_time(cluster):
    hds = [cluster.citizen(f"+86138111101{i:02d}", f"198.51.100.4{i}") for i in range(3)]
    store_a = cluster.store(cluster.a)
    old_kid = _kid(store_a, requests.post(cluster.b + "/api/v1/credentials", json={"audience": "metro"},
                                          headers=hds[0]).json()["qr_text"])  # warms b's key cache
    requests.post(cluster.a + "/api/v1/credentials", json={"audience": "metro"}, headers=hds[0])  # and a's
    with cluster.app.app_context():  # the operator's `flask keys compromise KID`, on the shared database
        r = cluster.app.test_cli_runner().invoke(args=["keys", "compromise", old_kid])
        assert r.exit_code == 0, r.output
        db.session.remove()
    # the trust list is never cached: both instances serve the emergency list at once, the same one
    tags = {requests.get(u + "/api/v1/trust-list").headers["ETag"] for u in (cluster.a, cluster.b)}
    assert len(tags) == 1
    stores = [cluster.store(u) for u in (cluster.a, cluster.b)]
    assert all(s.sequence > store_a.sequence and s.key(old_kid).revoked_at is not None for s in stores)
    time.sleep(KEY_CACHE_SECONDS + 0.5)  # the documented bound on a worker's key snapshot
    for hd, url in zip(hds[1:], (cluster.a, cluster.b), strict=True):
        qr = requests.post(url + "/api/v1/credentials", json={"audience": "metro"}, headers=hd).json()["qr_text"]
        for s in stores:  # signed by the new key, accepted by a verifier fed by either instance
            assert _kid(s, qr) != old_kid


def test_enrolment_code_is_single_use_across_instances(cluster):
    venue = cluster.venue("Gulou Metro Gate")
    for _ in range(4):
        code = cluster.enrolment_code(venue)
        with cf.ThreadPoolExecutor(4) as pool:  # four kiosks, two on each instance, race with one code
            answers = list(pool.map(lambda url, code=code: requests.post(url + "/api/v1/kiosk/enroll", json={
                "enrolment_code": code, "device_name": "gate"}), [cluster.a, cluster.b] * 2))
        assert sorted(r.status_code for r in answers) == [201, 400, 400, 400], [r.text for r in answers]
        assert {r.json()["error"]["code"] for r in answers if r.status_code == 400} == {"enrolment_code_used"}


def test_one_batch_sent_to_both_instances_is_stored_once(cluster):
    venue = cluster.venue("Fuzhou Library Desk", "library", ["OSM-LIB-LONGLOAN"])
    r = requests.post(cluster.a + "/api/v1/kiosk/enroll", json={"enrolment_code": cluster.enrolment_code(venue),
                                                                "device_name": "desk"})
    hd = {"Authorization": "Bearer " + r.json()["device_token"]}
    batch = {"redemptions": [pp1_redemption("OSM-LIB-LONGLOAN", int(time.time())) for _ in range(50)]}
    with cf.ThreadPoolExecutor(2) as pool:  # a kiosk that timed out and retried against the other instance
        answers = list(pool.map(lambda url: requests.post(url + "/api/v1/kiosk/redemptions", json=batch, headers=hd),
                                [cluster.a, cluster.b]))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert sorted(a.json()["accepted"] for a in answers) == [0, 50]
    with cluster.app.app_context():
        from backend.models import Redemption
        assert db.session.query(Redemption).filter(Redemption.venue_id == venue).count() == 50
        db.session.remove()


def test_one_copied_code_synced_at_two_venues_at_once_is_reported(cluster):
    """Two kiosks at two venues sync the same copied codes at the same moment, through different instances:
    neither transaction sees the other's rows, yet every code ends up in the replay report."""
    kiosks = []
    for name in ("Dongjiekou gate", "Nanmendou gate"):
        venue = cluster.venue(name, "metro", ["MOLI-METRO20"])
        r = requests.post(cluster.a + "/api/v1/kiosk/enroll", json={
            "enrolment_code": cluster.enrolment_code(venue), "device_name": name})
        kiosks.append({"Authorization": "Bearer " + r.json()["device_token"]})
    now = int(time.time())
    copied = [pp1_redemption("MOLI-METRO20", now) for _ in range(40)]
    batches = [[dict(c, id=str(uuid.uuid4()), scanned_at=now + i) for c in copied] for i in range(2)]
    with cf.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda i: requests.post(
            [cluster.a, cluster.b][i] + "/api/v1/kiosk/redemptions", json={"redemptions": batches[i]},
            headers=kiosks[i]), [0, 1]))
    assert [a.json()["accepted"] for a in answers] == [40, 40]
    report = requests.get(cluster.b + "/api/v1/operator/replays", headers=cluster.op).json()["replays"]
    assert {c["jti"] for c in copied} <= {r["jti"] for r in report}
