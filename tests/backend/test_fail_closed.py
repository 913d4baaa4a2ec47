"""Defaults that must fail closed: the production entry point, body limits, security headers."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


PRODUCTION = {"SECRET_KEY": "s" * 40, "PERKPASS_KEY_PASSPHRASE": "p" * 30, "PERKPASS_SMS_SENDER": "outbox",
              "REDIS_URL": "redis://127.0.0.1:6379/0"}


def test_the_production_entry_point_without_perkpass_env_is_production(tmp_path):
    # nothing set: it refuses to start instead of serving with the dev secret and dev codes
    r = _wsgi(tmp_path)
    assert r.returncode != 0 and "production configuration needs SECRET_KEY" in r.stderr
    r = _wsgi(tmp_path, **PRODUCTION)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["production", "False", "False"]


def test_development_only_when_asked_for(tmp_path):
    r = _wsgi(tmp_path, PERKPASS_ENV="development")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["development", "True", "True"]
