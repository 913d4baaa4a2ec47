"""One typed settings object for the backend (issue 20): built and checked once when the app starts (a
missing or malformed setting refuses to start), read through ``settings()``; no module of the program reads
``app.config`` (Flask's, SQLAlchemy's and Flask-Limiter's own keys stay there for those libraries)."""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from backend import create_app
from backend.config import CONFIGS, ConfigError, env_overrides
from backend.settings import Settings, from_config, settings, settings_of

ROOT = Path(__file__).resolve().parents[2]
# every module of the program but the two that build the configuration (config.py, settings.py) and create_app
READERS = sorted(p for p in (ROOT / "backend").rglob("*.py")
                 if "migrations" not in p.parts and p.name not in ("config.py", "settings.py")
                 and p != ROOT / "backend" / "__init__.py")
# keys the libraries themselves own: a service may hand them on to the library they configure
LIBRARY_KEYS = {"SQLALCHEMY_ENGINE_OPTIONS", "SQLALCHEMY_DATABASE_URI", "MAX_CONTENT_LENGTH", "TESTING",
                "DATABASE_SCHEMA"}


def _config_reads(path: Path) -> list[str]:
    """Every use of ``<something>.config`` in a file, except a literal library key looked up in it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed: set[int] = set()
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "config":
            key, attr = node.slice, node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "config" and node.args):
            key, attr = node.args[0], node.func.value
        if isinstance(key, ast.Constant) and key.value in LIBRARY_KEYS:
            allowed.add(id(attr))
    return [f"line {n.lineno}: {ast.unparse(n)}" for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and n.attr == "config" and id(n) not in allowed]


@pytest.mark.parametrize("path", READERS, ids=lambda p: str(p.relative_to(ROOT / "backend")))
def test_services_and_views_read_settings_not_app_config(path):
    assert not _config_reads(path), "read backend.settings.settings() (a typed field) instead"


def test_the_check_sees_a_config_read(tmp_path):
    f = tmp_path / "service.py"
    f.write_text("from flask import current_app\n"
                 "def a():\n    return int(current_app.config['PERKPASS_OTP_TTL'])\n"
                 "def b(app):\n    cfg = app.config\n    return cfg.get('X')\n"
                 "def c(app):\n    return app.config.get('SQLALCHEMY_ENGINE_OPTIONS')\n")
    assert sorted(r.split(":")[0] for r in _config_reads(f)) == ["line 3", "line 5"]


def _config(env: str = "testing", **changes) -> dict:
    base = CONFIGS[env]
    config = {k: getattr(base, k) for k in dir(base) if k.isupper()}
    config.update(changes)
    return config


def test_every_declared_setting_is_typed():
    s = from_config(_config())
    assert isinstance(s.otp_ttl, int) and isinstance(s.key_cache_seconds, float) and isinstance(s.dev_mode, bool)
    assert isinstance(s.schemes_dir, Path) and s.point_rules_dir == s.schemes_dir.parent / "point-rules"
    assert all(isinstance(k, bytes) for k in s.reference_keys) and s.reference_keys
    assert s.pp3_schemes == frozenset() and s.rate_limits["issue"] == "1000 per minute"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.otp_ttl = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.rate_limits["issue"] = "1 per day"  # type: ignore[index]


def test_the_environment_gives_text_and_the_settings_give_types():
    env = {"PERKPASS_OTP_TTL": "120", "PERKPASS_PP3_SCHEMES": "moli, osmanthus", "PERKPASS_LOG_JSON": "off",
           "PERKPASS_KEY_CACHE_SECONDS": "2.5", "PERKPASS_REFERENCE_KEY": "first-key second-key"}
    s = from_config(_config(**env_overrides(env)))
    assert s.otp_ttl == 120 and s.pp3_schemes == {"moli", "osmanthus"} and s.log_json is False
    assert s.key_cache_seconds == 2.5 and s.reference_keys == (b"first-key", b"second-key")


@pytest.mark.parametrize("changes,problem", [
    ({"PERKPASS_OTP_TTL": "soon"}, "PERKPASS_OTP_TTL must be a whole number"),
    ({"PERKPASS_OTP_TTL": 0}, "PERKPASS_OTP_TTL must be at least 1"),
    ({"PERKPASS_MAX_HOLDER_DEVICES": True}, "PERKPASS_MAX_HOLDER_DEVICES must be a whole number"),
    ({"PERKPASS_LOG_JSON": "maybe"}, "PERKPASS_LOG_JSON must be true or false"),
    ({"PERKPASS_RATE_LIMIT_LOGIN": "lots"}, "PERKPASS_RATE_LIMIT_LOGIN is not a rate limit"),
    ({"PERKPASS_BATCH_MAX": 501}, "PERKPASS_BATCH_MAX must be 1..500"),
    ({"PERKPASS_ISSUER": ""}, "PERKPASS_ISSUER must be a non-empty text"),
    ({"PERKPASS_KEY_CACHE_SECONDS": "a while"}, "PERKPASS_KEY_CACHE_SECONDS must be a number of seconds"),
    ({"PERKPASS_REFRESH_AFTER": 90}, "PERKPASS_REFRESH_AFTER must be shorter"),
    ({"PERKPASS_KEY_PASSPHRASE": None}, "PERKPASS_KEY_PASSPHRASE is required"),
    ({"PERKPASS_REFERENCE_KEY": "same,same"}, "lists the same key twice"),
])
def test_a_malformed_setting_refuses_to_start(changes, problem):
    with pytest.raises(ConfigError, match=problem):
        from_config(_config(**changes))


def test_a_missing_setting_refuses_to_start():
    config = _config()
    del config["PERKPASS_OTP_TTL"]
    with pytest.raises(ConfigError, match="PERKPASS_OTP_TTL is not set"):
        from_config(config)


def test_the_app_starts_with_its_settings_or_not_at_all(tmp_path):
    db = f"sqlite:///{tmp_path}/s.db"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db, "PERKPASS_OTP_TTL": "240"})
    with app.app_context():
        assert settings() is settings_of(app) and isinstance(settings(), Settings)
        assert settings().otp_ttl == 240
    with pytest.raises(ConfigError, match="PERKPASS_OTP_TTL must be a whole number"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db, "PERKPASS_OTP_TTL": "4 minutes"})
