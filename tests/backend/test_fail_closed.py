"""Defaults that must fail closed: the production entry point, body limits, security headers."""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend import create_app

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import backend.wsgi as w; c = w.app.config; "
         "print(c['ENV_NAME'], c['PERKPASS_DEV_MODE'], c['SECRET_KEY'] == __import__('backend.config').config.DEV_SECRET)")


def _wsgi(tmp_path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PERKPASS_", "SECRET_KEY", "REDIS_URL",
                                                                      "RATELIMIT_", "DATABASE_URL"))}
    base.update(DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", HOME=str(tmp_path))
    base.update(env)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=base, capture_output=True, text=True,
                          timeout=60)


PRODUCTION = {"SECRET_KEY": "kX9vQ2mT7rL4pW8zN3bH6cJ1dF5gS0aY-uE_iOq",
              "PERKPASS_KEY_PASSPHRASE": "Zt4-wq8Rb2Lm6Nc0Yh3Jd7Ks1Fv5Gx9Pe_Ua", "PERKPASS_SMS_SENDER": "outbox",
              "PERKPASS_REFERENCE_KEY": "Qm7-Hx2Lp9Vd4Ws1Kc8Ry3Tb6Nf0Gz5Ja_Eu", "REDIS_URL": "redis://127.0.0.1:6379/0"}


def test_the_production_entry_point_without_perkpass_env_is_production(tmp_path):
    # nothing set: it refuses to start instead of serving with the dev secret and dev codes
    r = _wsgi(tmp_path)
    assert r.returncode != 0 and "production configuration refuses SECRET_KEY: it is not set" in r.stderr
    r = _wsgi(tmp_path, **PRODUCTION)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["production", "False", "False"]


def test_development_only_when_asked_for(tmp_path):
    r = _wsgi(tmp_path, PERKPASS_ENV="development")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["development", "True", "True"]


# ---------------------------------------------------------------- item 8: bodies, headers, request lines

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    """The backend under real gunicorn, started from the repository like `make demo` and the benchmark."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PERKPASS_", "DATABASE_URL", "REDIS_URL"))}
    env.update(PERKPASS_ENV="development", DATABASE_URL=f"sqlite:///{tmp / 'g.db'}", HOME=str(tmp),
               PERKPASS_LOG_LEVEL="WARNING")
    with open(tmp / "gunicorn.log", "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:backend.http.gunicorn",
             "-w", "1", "-k", "gthread", "--threads", "2",
             "-b", f"127.0.0.1:{port}", "backend.wsgi:app"], cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 40
    while True:
        assert proc.poll() is None, (tmp / "gunicorn.log").read_text()[-2000:]
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/v1/health")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "gunicorn did not start"
        time.sleep(0.2)
    yield port
    proc.terminate()
    proc.wait(20)


def _chunked_post(port: int, path: str, body: bytes) -> tuple[int, dict, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))
    c.request("POST", path, body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True)
    r = c.getresponse()
    return r.status, dict(r.getheaders()), r.read()


def test_chunked_body_over_the_limit_is_413_not_cut(gunicorn_server):
    import json
    big = json.dumps({"phone": "+8613800138000", "locale": "en", "pad": "x" * (600 * 1024)}).encode()
    status, headers, body = _chunked_post(gunicorn_server, "/api/v1/auth/request-code", big)
    assert status == 413, body
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert headers["X-Content-Type-Options"] == "nosniff"
    # a chunked body under the limit still reaches the view whole (unknown field -> validation error)
    small = json.dumps({"phone": "+8613800138000", "pad": "x" * 1000}).encode()
    status, _h, body = _chunked_post(gunicorn_server, "/api/v1/auth/request-code", small)
    assert status == 400 and json.loads(body)["error"]["fields"].get("pad"), body


def test_request_line_over_the_limit_gets_a_json_answer(gunicorn_server):
    import json
    c = http.client.HTTPConnection("127.0.0.1", gunicorn_server, timeout=10)
    c.request("GET", "/api/v1/health?" + "q=" + "a" * 5000)
    r = c.getresponse()
    body = r.read()
    assert r.status == 414 and r.getheader("Content-Type") == "application/json", body
    assert json.loads(body)["error"]["code"] == "request_line_too_long"
    c = http.client.HTTPConnection("127.0.0.1", gunicorn_server, timeout=10)
    c.request("GET", "/api/v1/health", headers={f"X-Pad-{i}": "y" for i in range(60)})
    r = c.getresponse()
    assert r.status == 431 and json.loads(r.read())["error"]["code"] == "headers_too_large"


def test_json_answers_say_nosniff_and_production_sends_hsts(tmp_path):
    dev = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'd.db'}"})
    for path in ("/api/v1/health", "/api/v1/no-such-thing"):
        r = dev.test_client().get(path)
        assert r.headers["X-Content-Type-Options"] == "nosniff" and r.mimetype == "application/json"
        assert "Strict-Transport-Security" not in r.headers
    prod_cfg = {"ENV_NAME": "production", "SECRET_KEY": "kX9vQ2mT7rL4pW8zN3bH6cJ1dF5gS0aY-uE_iOq",
                "PERKPASS_KEY_PASSPHRASE": "Zt4-wq8Rb2Lm6Nc0Yh3Jd7Ks1Fv5Gx9Pe_Ua",
                "PERKPASS_REFERENCE_KEY": "Qm7-Hx2Lp9Vd4Ws1Kc8Ry3Tb6Nf0Gz5Ja_Eu",
                "PERKPASS_SMS_SENDER": "outbox", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"}
    r = create_app(prod_cfg).test_client().get("/api/v1/health")
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    r = create_app(dict(prod_cfg, PERKPASS_HSTS_MAX_AGE=0)).test_client().get("/api/v1/health")
    assert "Strict-Transport-Security" not in r.headers  # the TLS proxy sends it (documented)
