"""Production refuses placeholder secrets and names the setting (issue 21 item 6), in create_app, in the
gunicorn entry point and at the command line (one line, no traceback)."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from backend import create_app
from backend.config import DEV_PASSPHRASE, DEV_SECRET, ConfigError

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDERS = ["...", "…", "changeme", "CHANGE_ME", "<your secret key>", "secret", "s" * 40,
                "correct horse battery", "replace-me-with-a-long-random-string-please"]


def good(tmp_path) -> dict:
    return {"ENV_NAME": "production", "SECRET_KEY": secrets.token_urlsafe(48),
            "PERKPASS_KEY_PASSPHRASE": secrets.token_urlsafe(33), "PERKPASS_SMS_SENDER": "outbox",
            "PERKPASS_REFERENCE_KEY": secrets.token_urlsafe(33),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}


@pytest.mark.parametrize("setting,dev_value", [("SECRET_KEY", DEV_SECRET), ("PERKPASS_KEY_PASSPHRASE", DEV_PASSPHRASE)])
@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_placeholders_are_refused_naming_the_setting(tmp_path, setting, dev_value, value):
    create_app(good(tmp_path))  # random values start
    for bad in (value, dev_value):
        with pytest.raises(ConfigError, match=f"refuses {setting}: ") as err:
            create_app({**good(tmp_path), setting: bad})
        if len(bad) > 8:  # the message never quotes the value: a short real secret is still a secret
            assert bad not in str(err.value)


def _env(tmp_path, **extra) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PERKPASS_", "SECRET_KEY", "REDIS_URL",
                                                                      "RATELIMIT_", "DATABASE_URL"))}
    cfg = good(tmp_path)
    return {**base, "HOME": str(tmp_path), "DATABASE_URL": cfg["SQLALCHEMY_DATABASE_URI"], "PERKPASS_ENV": "production",
            "SECRET_KEY": cfg["SECRET_KEY"], "PERKPASS_KEY_PASSPHRASE": cfg["PERKPASS_KEY_PASSPHRASE"],
            "PERKPASS_REFERENCE_KEY": cfg["PERKPASS_REFERENCE_KEY"],
            "PERKPASS_SMS_SENDER": "outbox", "REDIS_URL": "redis://127.0.0.1:6379/0", **extra}


def test_the_server_and_the_command_line_refuse_to_start(tmp_path):
    r = subprocess.run([sys.executable, "-c", "import backend.wsgi"], env=_env(tmp_path, SECRET_KEY="changeme"),
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "production configuration refuses SECRET_KEY: it looks like a placeholder" in r.stderr
    r = subprocess.run([sys.executable, "-m", "flask", "--app", "backend", "init-db"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120, env=_env(tmp_path, PERKPASS_KEY_PASSPHRASE="x" * 12))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("Error: production configuration refuses PERKPASS_KEY_PASSPHRASE: it is shorter than 32")
    assert r.stderr.count("\n") == 1
