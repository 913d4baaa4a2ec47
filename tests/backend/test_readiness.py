"""Readiness means ready (issue 21 item 7): each dependency is checked for what it needs, at start and in
/readyz; a dependency failing while a request runs answers a clear 503 with a reason, never a 500."""
from __future__ import annotations

import pytest

from backend import create_app
from backend.config import ConfigError

PHONE = "+8613900000777"
CONSENT = {"version": "2026-11-01", "accepted": True}


class GatewayWithoutCredentials:
    """A city's SMS gateway class deployed without its API key: it knows, and says so."""

    def check(self):
        return "SMS_GATEWAY_API_KEY is not set"

    def send_code(self, phone, code, locale="zh-CN"):
        raise RuntimeError("401 from the gateway: no API key")


class FlakyGateway:
    def __init__(self):
        self.down, self.sent = True, []

    def send_code(self, phone, code, locale="zh-CN"):
        if self.down:
            raise ConnectionError("gateway unreachable")
        self.sent.append((phone, code))


def test_ready_when_everything_is(client):
    for path in ("/readyz", "/api/v1/health/ready"):
        r = client.get(path)
        assert r.status_code == 200, r.json
        assert r.json == {"status": "ok", "checks": dict.fromkeys(["database", "keys", "rate_limit_store", "sms_sender"], "ok")}
    assert client.get("/healthz").json == {"status": "ok"}


def test_a_sender_that_cannot_send_is_not_ready_and_answers_503(app, client):
    app.extensions["perkpass_sender"] = GatewayWithoutCredentials()
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json["error"]["code"] == "not_ready"
    assert r.json["error"]["fields"]["checks"] == {"sms_sender": "SMS_GATEWAY_API_KEY is not set"}
    assert "sms_sender: SMS_GATEWAY_API_KEY is not set" in r.json["error"]["message"]
    r = client.post("/api/v1/auth/request-code", json={"phone": PHONE})
    assert r.status_code == 503 and r.json["error"]["code"] == "sms_unavailable" and int(r.headers["Retry-After"]) > 0


def test_an_unsent_code_neither_works_nor_counts(make_app):
    app = make_app(PERKPASS_RATE_LIMIT_REQUEST_CODE="2 per minute", PERKPASS_DEV_MODE=False)
    gateway = app.extensions["perkpass_sender"] = FlakyGateway()
    client = app.test_client()
    for _ in range(3):  # more failures than the limit allows requests: none of them counted
        assert client.post("/api/v1/auth/request-code", json={"phone": PHONE}).status_code == 503
    gateway.down = False
    assert client.post("/api/v1/auth/request-code", json={"phone": PHONE}).status_code == 202
    (phone, code), = gateway.sent
    r = client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code, "consent": CONSENT})
    assert r.status_code == 200, r.json


@pytest.mark.parametrize("spec,why", [("no_such_gateway_module:Sender", "ModuleNotFoundError"),
                                      ("json:NoSuchClass", "AttributeError"),
                                      ("json:JSONDecodeError", "TypeError"),  # its constructor needs arguments
                                      ("gateway-without-colon", "must be 'console', 'outbox' or 'module:Class'")])
def test_an_unloadable_sender_refuses_to_start(database, spec, why):
    url, schema = database
    with pytest.raises(ConfigError, match="PERKPASS_SMS_SENDER") as err:
        create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "DATABASE_SCHEMA": schema,
                    "PERKPASS_SMS_SENDER": spec})
    assert why in str(err.value)


def test_an_unreachable_rate_limit_store_is_not_ready_and_answers_503(make_app):
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", PERKPASS_RATE_LIMIT_ISSUE_SHARED=True)
    client = app.test_client()
    r = client.get("/readyz")
    assert r.status_code == 503 and set(r.json["error"]["fields"]["checks"]) == {"rate_limit_store"}
    r = client.post("/api/v1/auth/request-code", json={"phone": PHONE})
    assert r.status_code == 503 and r.json["error"]["code"] == "rate_limit_store_unavailable", r.json


def test_keys_that_do_not_decrypt_are_not_ready_and_answer_503(make_app, h):
    from backend.services import keys as key_service

    token = h.citizen(PHONE, {"moli": 800})
    wrong = make_app(PERKPASS_KEY_PASSPHRASE="not-the-passphrase-the-keys-were-made-with")
    key_service._private_cache.clear()  # as in a new worker: the keys are decrypted again
    client = wrong.test_client()
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json["error"]["fields"]["checks"] == {"keys": "the keys do not decrypt with PERKPASS_KEY_PASSPHRASE"}
    r = client.post("/api/v1/credentials", json={"audience": "metro"}, headers=h.bearer(token))
    assert r.status_code == 503 and r.json["error"]["code"] == "keys_unavailable", r.json


def test_an_unreachable_database_is_not_ready_and_answers_503(tmp_path):
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "PERKPASS_SMS_SENDER": "outbox"})
    client = app.test_client()
    r = client.get("/readyz")
    assert r.status_code == 503 and set(r.json["error"]["fields"]["checks"]) == {"database"}
    r = client.post("/api/v1/auth/request-code", json={"phone": PHONE})
    assert r.status_code == 503 and r.json["error"]["code"] == "database_unavailable", r.json
    assert int(r.headers["Retry-After"]) > 0


def test_production_refuses_to_start_with_a_sender_that_says_it_cannot_send(tmp_path, monkeypatch):
    (tmp_path / "citygateway.py").write_text(
        "import os\n"
        "class Sender:\n"
        "    def check(self):\n"
        "        return None if os.environ.get('CITY_SMS_KEY') else 'CITY_SMS_KEY is not set'\n"
        "    def send_code(self, phone, code, locale='zh-CN'):\n"
        "        pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = {"ENV_NAME": "production", "SECRET_KEY": "kX9vQ2mT7rL4pW8zN3bH6cJ1dF5gS0aY-uE_iOq",
              "PERKPASS_KEY_PASSPHRASE": "Zt4-wq8Rb2Lm6Nc0Yh3Jd7Ks1Fv5Gx9Pe_Ua", "PERKPASS_SMS_SENDER": "citygateway:Sender",
              "PERKPASS_REFERENCE_KEY": "Qm7-Hx2Lp9Vd4Ws1Kc8Ry3Tb6Nf0Gz5Ja_Eu",
              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
    with pytest.raises(ConfigError, match="PERKPASS_SMS_SENDER='citygateway:Sender' is not ready: CITY_SMS_KEY is not set"):
        create_app(config)
    monkeypatch.setenv("CITY_SMS_KEY", "k")
    assert create_app(config).extensions["perkpass_sender"].check() is None
