"""Sign-up with consent, log-in with one-time codes, tokens, rate limits, dev-mode rules."""
import pytest

from backend import create_app
from backend.config import ConfigError
from backend.models import Citizen, Consent, LoginCode
from backend.extensions import db

PHONE = "+8613811112222"


def test_join_needs_consent_then_records_it(app, client):
    r = client.post("/api/v1/auth/request-code", json={"phone": PHONE})
    assert r.status_code == 202 and r.json["sent"] is True
    code = r.json["dev_code"]
    r = client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code})
    assert r.status_code == 400
    assert r.json["error"]["code"] == "consent_required"
    consent = client.get("/api/v1/auth/consent").json
    assert consent["text"]["en"] and consent["text"]["zh-CN"]
    r = client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code,
                                                "consent": {"version": consent["version"], "accepted": True}})
    assert r.status_code == 200, r.json
    assert r.json["created"] is True and r.json["token_type"] == "Bearer"
    assert r.json["citizen"]["consent"]["version"] == consent["version"]
    assert r.json["citizen"]["phone_hint"].endswith("2222")
    rows = db.session.scalars(db.select(Consent)).all()
    assert len(rows) == 1 and rows[0].version == consent["version"] and len(rows[0].text_sha256) == 64
    # the phone number itself is not stored anywhere
    c = db.session.scalars(db.select(Citizen)).one()
    assert PHONE not in (c.phone_hash + c.phone_hint + c.public_id)
    # the code was used up
    assert client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code}).status_code == 400


def test_wrong_consent_version_or_refusal(client):
    code = client.post("/api/v1/auth/request-code", json={"phone": PHONE}).json["dev_code"]
    for consent in ({"version": "1999-01-01", "accepted": True}, {"version": "2026-11-01", "accepted": False}):
        r = client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code, "consent": consent})
        assert r.status_code == 400 and r.json["error"]["code"] == "consent_required"


def test_existing_citizen_logs_in_and_token_works(h, client):
    h.login(PHONE)
    token = h.login(PHONE, consent=False)
    r = client.get("/api/v1/me", headers=h.bearer(token))
    assert r.status_code == 200 and r.json["schemes"] == []
    assert r.headers["Cache-Control"] == "no-store"


def test_wrong_codes_burn_the_code(app, client):
    code = client.post("/api/v1/auth/request-code", json={"phone": PHONE}).json["dev_code"]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(app.config["PERKPASS_OTP_MAX_ATTEMPTS"]):
        r = client.post("/api/v1/auth/login", json={"phone": PHONE, "code": wrong})
        assert r.status_code == 400 and r.json["error"]["code"] == "invalid_code"
    # even the right code no longer works after too many attempts
    r = client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code,
                                                "consent": {"version": "2026-11-01", "accepted": True}})
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_code"


def test_new_code_replaces_old_and_codes_expire(app, client):
    c1 = client.post("/api/v1/auth/request-code", json={"phone": PHONE}).json["dev_code"]
    c2 = client.post("/api/v1/auth/request-code", json={"phone": PHONE}).json["dev_code"]
    consent = {"version": "2026-11-01", "accepted": True}
    if c1 != c2:
        assert client.post("/api/v1/auth/login", json={"phone": PHONE, "code": c1, "consent": consent}).status_code == 400
    # expire the live code
    db.session.execute(db.update(LoginCode).values(expires_at=1))
    db.session.commit()
    r = client.post("/api/v1/auth/login", json={"phone": PHONE, "code": c2, "consent": consent})
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_code"


def test_phone_normalisation_and_invalid_phone(h, client):
    token = h.login("138 1111 2222")  # bare Chinese mobile -> +86
    again = h.login("+86 138-1111-2222", consent=False)
    assert token != again
    r = client.post("/api/v1/auth/request-code", json={"phone": "call me maybe"})
    assert r.status_code == 400 and "phone" in r.json["error"]["fields"]


def test_logout_revokes_token(h, client):
    token = h.login(PHONE)
    assert client.post("/api/v1/auth/logout", headers=h.bearer(token)).status_code == 200
    assert client.get("/api/v1/me", headers=h.bearer(token)).status_code == 401


def test_expired_access_token_refused(h, client):
    from backend.models import AccessToken
    token = h.login(PHONE)
    db.session.execute(db.update(AccessToken).values(expires_at=1))
    db.session.commit()
    r = client.get("/api/v1/me", headers=h.bearer(token))
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_no_dev_code_without_dev_mode_code_goes_to_sender(make_app):
    app = make_app(PERKPASS_DEV_MODE=False)
    client = app.test_client()
    r = client.post("/api/v1/auth/request-code", json={"phone": PHONE})
    assert r.status_code == 202 and "dev_code" not in r.json
    sender = app.extensions["perkpass_sender"]
    code = sender.last_code(PHONE)
    assert code and len(code) == 6
    r = client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code,
                                                "consent": {"version": "2026-11-01", "accepted": True}})
    assert r.status_code == 200


def test_production_config_refuses_dev_mode_and_weak_secrets(tmp_path):
    good = {"ENV_NAME": "production", "SECRET_KEY": "kX9vQ2mT7rL4pW8zN3bH6cJ1dF5gS0aY-uE_iOq",
            "PERKPASS_KEY_PASSPHRASE": "Zt4-wq8Rb2Lm6Nc0Yh3Jd7Ks1Fv5Gx9Pe_Ua",
            "PERKPASS_REFERENCE_KEY": "Qm7-Hx2Lp9Vd4Ws1Kc8Ry3Tb6Nf0Gz5Ja_Eu",
            "PERKPASS_SMS_SENDER": "outbox", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
    create_app(dict(good))  # fine
    # limits counted in each worker's memory are refused unless one worker process is declared
    with pytest.raises(ConfigError, match="in-memory rate limits"):
        create_app(dict(good, RATELIMIT_STORAGE_URI="memory://"))
    create_app(dict(good, RATELIMIT_STORAGE_URI="memory://", PERKPASS_LOCAL_RATE_LIMITS=True))
    with pytest.raises(ConfigError, match="DEV_MODE"):
        create_app(dict(good, PERKPASS_DEV_MODE=True))
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({k: v for k, v in good.items() if k != "SECRET_KEY"})
    with pytest.raises(ConfigError, match="PASSPHRASE"):
        create_app({k: v for k, v in good.items() if k != "PERKPASS_KEY_PASSPHRASE"})
    with pytest.raises(ConfigError, match="console"):
        create_app(dict(good, PERKPASS_SMS_SENDER="console"))


def test_rate_limits_on_code_requests_and_login(make_app):
    app = make_app(PERKPASS_RATE_LIMIT_REQUEST_CODE="3 per minute", PERKPASS_RATE_LIMIT_LOGIN="4 per minute")
    client = app.test_client()
    statuses = [client.post("/api/v1/auth/request-code", json={"phone": PHONE}).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    r = client.post("/api/v1/auth/request-code", json={"phone": PHONE})
    assert r.status_code == 429 and r.json["error"]["code"] == "rate_limited"
    assert "Retry-After" in r.headers or "X-RateLimit-Reset" in r.headers
    # another phone is not affected by this phone's limit
    assert client.post("/api/v1/auth/request-code", json={"phone": "+8613899998888"}).status_code == 202
    statuses = [client.post("/api/v1/auth/login", json={"phone": PHONE, "code": "123456"}).status_code
                for _ in range(5)]
    assert statuses[-1] == 429 and set(statuses[:4]) == {400}


@pytest.fixture
def redis_url(tmp_path):
    import shutil
    import socket
    import subprocess
    import time
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis
    client = redis.Redis(port=port)
    for _ in range(50):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def test_rate_limits_shared_through_redis_across_workers(make_app, redis_url):
    """Two app instances (two gunicorn workers) share the log-in code limit through Redis."""
    cfg = dict(RATELIMIT_STORAGE_URI=redis_url, PERKPASS_RATE_LIMIT_REQUEST_CODE="3 per minute",
               PERKPASS_RATE_LIMIT_ISSUE="2 per minute", PERKPASS_RATE_LIMIT_ISSUE_SHARED=True)
    w1, w2 = make_app(**cfg), make_app(**cfg)
    c1, c2 = w1.test_client(), w2.test_client()
    statuses = [c.post("/api/v1/auth/request-code", json={"phone": PHONE}).status_code for c in (c1, c2, c1, c2)]
    assert statuses == [202, 202, 202, 429]
    from tests.backend.conftest import Helper
    with w1.app_context():
        token = Helper(w1, c1).citizen("+8613899990000", {"moli": 713})
    hd = {"Authorization": "Bearer " + token}
    codes = [c.post("/api/v1/credentials", json={"audience": "metro"}, headers=hd).status_code
             for c in (c1, c2, c1)]
    assert codes == [200, 200, 429]


class GatewaySender:
    """A sender plugged in by configuration, as a city's SMS gateway class would be."""

    def __init__(self):
        self.sent = []

    def send_code(self, phone, code, locale="zh-CN"):
        self.sent.append((phone, code, locale))


def test_pluggable_sender_from_configuration(make_app):
    app = make_app(PERKPASS_SMS_SENDER="tests.backend.test_auth:GatewaySender", PERKPASS_DEV_MODE=False)
    r = app.test_client().post("/api/v1/auth/request-code", json={"phone": "13811112222", "locale": "en"})
    assert r.status_code == 202 and "dev_code" not in r.json
    sender = app.extensions["perkpass_sender"]
    assert type(sender).__name__ == "GatewaySender" and len(sender.sent) == 1
    phone, code, locale = sender.sent[0]
    assert phone == "+8613811112222" and len(code) == 6 and locale == "en"
    from backend.services.senders import load_sender
    with pytest.raises(ValueError):
        load_sender("not-a-sender")


def test_one_code_racing_logins_gives_one_token(app, client):
    import threading
    code = client.post("/api/v1/auth/request-code", json={"phone": PHONE}).json["dev_code"]
    statuses = []

    def login():
        with app.test_client() as c:
            statuses.append(c.post("/api/v1/auth/login", json={
                "phone": PHONE, "code": code, "consent": {"version": "2026-11-01", "accepted": True}}).status_code)

    threads = [threading.Thread(target=login) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) == 1 and all(s in (200, 400, 409) for s in statuses), statuses
    from backend.models import AccessToken
    assert db.session.query(AccessToken).count() == 1 and db.session.query(Citizen).count() == 1


# ---------------------------------------------------------------- limits every worker sees (issue 11 item 6)

def _two_workers(make_app, **cfg):
    """Two app instances on one database with per-process (memory) limiter storage: two gunicorn workers."""
    return make_app(RATELIMIT_STORAGE_URI="memory://", **cfg), make_app(RATELIMIT_STORAGE_URI="memory://", **cfg)


def test_code_requests_per_phone_are_counted_once_for_all_workers(make_app):
    w1, w2 = _two_workers(make_app, PERKPASS_RATE_LIMIT_REQUEST_CODE="5 per minute;30 per hour",
                          PERKPASS_DEV_MODE=False)
    statuses = []
    for i in range(12):  # 12 requests from 12 addresses, alternating workers
        c = (w1 if i % 2 else w2).test_client()
        statuses.append(c.post("/api/v1/auth/request-code", json={"phone": PHONE},
                               environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"}).status_code)
    assert statuses == [202] * 5 + [429] * 7
    sent = [s for w in (w1, w2) for s in w.extensions["perkpass_sender"].outbox if s[0] == PHONE]
    assert len(sent) == 5
    r = w1.test_client().post("/api/v1/auth/request-code", json={"phone": PHONE})
    assert r.json["error"]["code"] == "rate_limited" and 1 <= int(r.headers["Retry-After"]) <= 60


def test_concurrent_guesses_from_many_addresses_reach_the_code_check_at_most_max_attempts(make_app, monkeypatch):
    import threading
    from backend.services import auth as auth_service
    w1, w2 = _two_workers(make_app)
    code = w1.test_client().post("/api/v1/auth/request-code", json={"phone": PHONE}).json["dev_code"]
    wrong = "000000" if code != "000000" else "111111"
    compared = []
    real = auth_service.secrets.compare_digest
    monkeypatch.setattr(auth_service.secrets, "compare_digest", lambda a, b: compared.append(1) or real(a, b))
    statuses = []
    barrier = threading.Barrier(25)

    def guess(i):
        c = (w1 if i % 2 else w2).test_client()
        barrier.wait()
        statuses.append(c.post("/api/v1/auth/login", json={"phone": PHONE, "code": wrong},
                               environ_base={"REMOTE_ADDR": f"10.1.0.{i + 1}"}).status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(statuses) == 25 and all(s in (400, 429) for s in statuses), statuses
    assert len(compared) <= w1.config["PERKPASS_OTP_MAX_ATTEMPTS"]
    # and the code is burnt: the right one no longer works
    r = w1.test_client().post("/api/v1/auth/login", json={"phone": PHONE, "code": code,
                                                          "consent": {"version": "2026-11-01", "accepted": True}})
    assert r.status_code in (400, 429)


def test_repeated_wrong_codes_lock_the_phone_out_in_every_worker(make_app):
    w1, w2 = _two_workers(make_app, PERKPASS_LOGIN_LOCKOUT_FAILURES=10, PERKPASS_LOGIN_LOCKOUT_SECONDS=3600)
    consent = {"version": "2026-11-01", "accepted": True}
    for _ in range(2):  # two codes, five wrong tries each, spread over both workers
        code = w1.test_client().post("/api/v1/auth/request-code", json={"phone": PHONE}).json["dev_code"]
        wrong = "000000" if code != "000000" else "111111"
        for i in range(5):
            r = (w1 if i % 2 else w2).test_client().post("/api/v1/auth/login", json={"phone": PHONE, "code": wrong})
            assert r.json["error"]["code"] == "invalid_code"
    for w in (w1, w2):
        r = w.test_client().post("/api/v1/auth/request-code", json={"phone": PHONE})
        assert r.status_code == 429 and r.json["error"]["code"] == "locked_out"
        assert 3000 < int(r.headers["Retry-After"]) <= 3600
    # another phone is not locked
    assert w2.test_client().post("/api/v1/auth/request-code", json={"phone": "+8613899998888"}).status_code == 202
    # an hour later the wrong tries have aged out
    with w1.app_context():
        db.session.execute(db.update(LoginCode).values(created_at=LoginCode.created_at - 3601))
        db.session.commit()
    code = w2.test_client().post("/api/v1/auth/request-code", json={"phone": PHONE}).json["dev_code"]
    r = w1.test_client().post("/api/v1/auth/login", json={"phone": PHONE, "code": code, "consent": consent})
    assert r.status_code == 200, r.json


def test_right_codes_and_consent_retries_do_not_count_towards_the_lock_out(make_app):
    app = make_app(PERKPASS_LOGIN_LOCKOUT_FAILURES=3)
    c = app.test_client()
    for _ in range(4):  # log in four times with right codes, each first refused for missing consent
        code = c.post("/api/v1/auth/request-code", json={"phone": PHONE}).json["dev_code"]
        body = {"phone": PHONE, "code": code}
        if _ == 0:
            assert c.post("/api/v1/auth/login", json=body).json["error"]["code"] == "consent_required"
        r = c.post("/api/v1/auth/login", json=dict(body, consent={"version": "2026-11-01", "accepted": True}))
        assert r.status_code == 200, r.json
