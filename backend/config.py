"""Configuration classes and environment loading.

Every setting can come from the environment (``PERKPASS_*``, ``DATABASE_URL``, ``REDIS_URL``,
``SECRET_KEY``) or from the ``config`` argument of :func:`backend.create_app`. ``BaseConfig`` declares every
setting with its default; :mod:`backend.settings` turns them into one typed, checked object when the app
starts (the code reads that object, never ``app.config``).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

REPO_ROOT = Path(__file__).resolve().parent.parent
# Schemes and point rules: assets/ in a checkout; an installed perkpass-server wheel carries the same files
# as backend/bundled_assets (packaging/server), since site-packages has no assets/ folder beside backend/.
ASSETS_DIR = REPO_ROOT / "assets"
if not (ASSETS_DIR / "schemes").is_dir():
    ASSETS_DIR = Path(__file__).resolve().parent / "bundled_assets"
DEV_SECRET = "perkpass-development-secret-do-not-use-in-production"
DEV_PASSPHRASE = "perkpass-development-passphrase"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` / ``postgresql://`` spellings and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class BaseConfig:
    ENV_NAME = "base"
    SECRET_KEY: str | None = DEV_SECRET
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: sqlite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    DATABASE_SCHEMA: str | None = None  # PostgreSQL search_path (used by tests and multi-tenant setups)
    # a streaming replica for the console's report pages and the replay report (services/read_conn.py
    # reports_engine); unset: they read the primary
    PERKPASS_REPORTS_DATABASE_URL: str | None = None
    MAX_CONTENT_LENGTH = 512 * 1024            # larger bodies, chunked ones too, get 413 (backend/http/guard.py)
    JSON_SORT_KEYS = False
    PERKPASS_HSTS_MAX_AGE = 0                  # Strict-Transport-Security max-age; 0 = not sent

    PERKPASS_DEV_MODE = False
    PERKPASS_ISSUER = "perkpass"  # short: it is inside every QR code (max 64 characters)
    PERKPASS_KEY_PASSPHRASE: str | None = None
    PERKPASS_KDF_COST = 15                     # log2 of scrypt N for keys and secrets at rest
    PERKPASS_SCHEMES_DIR = str(ASSETS_DIR / "schemes")
    PERKPASS_VENUE_TYPES_FILE = str(ASSETS_DIR / "venue-types.json")   # the venue type registry (issue 20)
    PERKPASS_CREDENTIAL_LIFETIME = 90          # seconds a QR code is valid
    PERKPASS_REFRESH_AFTER = 60                # the phone refreshes after this many seconds
    PERKPASS_CERTIFICATE_LIFETIME = 86400      # PP2 perk certificates (a phone's offline codes); max 7 days
    PERKPASS_PP3_SCHEMES = ""                  # schemes issuing PP3 unlinkable codes, comma-separated (none)
    PERKPASS_PP3_KEY_DAYS = 30                 # days one BBS key signs (at least 8: longer than a trust list lives)
    PERKPASS_MAX_HOLDER_DEVICES = 5            # phones/browsers one citizen may register for offline codes
    PERKPASS_CLOCK_LEEWAY = 5
    PERKPASS_KIOSK_CLOCK_SKEW = 300            # a synced scan may be this far in the future of the server clock
    PERKPASS_ACCESS_TOKEN_TTL = 900            # citizen access token lifetime (s)
    PERKPASS_OTP_TTL = 300                     # one-time code lifetime (s)
    PERKPASS_OTP_MAX_ATTEMPTS = 5
    PERKPASS_LOGIN_LOCKOUT_FAILURES = 10       # wrong codes per phone (any codes) that lock log-in ...
    PERKPASS_LOGIN_LOCKOUT_SECONDS = 3600      # ... within this window, until they age out of it
    PERKPASS_SMS_SENDER = "console"            # "console" or "package.module:Class"
    PERKPASS_ALLOW_CONSOLE_SENDER = False      # production with the console sender (a closed trial)
    PERKPASS_CONSENT_VERSION = "2026-11-01"
    PERKPASS_TRUST_LIST_NEXT_UPDATE = 86400    # verifiers should refresh after (s)
    PERKPASS_TRUST_LIST_VALID_FOR = 7 * 86400  # a trust list expires after (s)
    PERKPASS_KEY_ACTIVATION_DELAY = 86400      # default delay between publishing and signing after a rotation
    PERKPASS_SIGNING_KEY_MAX_AGE = 400 * 86400  # published not_after of a key that has no successor yet
    PERKPASS_KEY_CACHE_SECONDS = 5.0           # how long a worker caches the key table
    PERKPASS_COMPROMISED_KEY_LISTED = 400 * 86400  # a compromised key stays on the trust list this long
    PERKPASS_TRUST_MONITOR_CRITICAL_SECONDS = 86400 // 2  # `trust-list check`: critical this close to expiry
    PERKPASS_ENROLMENT_CODE_TTL = 7 * 86400
    PERKPASS_PROXY_FIX = False                 # behind a proxy: trust its X-Forwarded-* (backend/wsgi.py)
    PERKPASS_LOG_LEVEL = "INFO"
    PERKPASS_LOG_JSON = True
    PERKPASS_BATCH_MAX = 500
    # redemptions and certificates older than this are deleted (flask retention purge)
    PERKPASS_RETENTION_DAYS = 180
    # the console (issue 13)
    PERKPASS_CONSOLE_IDLE_SECONDS = 30 * 60    # a session ends after this long without a request
    PERKPASS_CONSOLE_SESSION_SECONDS = 12 * 3600  # ... and this long after sign-in at the latest
    PERKPASS_CONSOLE_KIOSK_ONLINE_SECONDS = 15 * 60  # a kiosk seen this recently counts as online
    # the citizen page (backend/api/app_page.py)
    PERKPASS_APP_STATIC_DIR: str | None = None  # its files; None: backend/static/app
    PERKPASS_APP_OPTIMISE = True               # serve the stamped, gzipped build
    PERKPASS_APP_MINIFY: bool | None = None    # None: the PERKPASS_MINIFY environment variable decides

    # Flask-Limiter
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_STRATEGY = "fixed-window"
    PERKPASS_RATE_LIMIT_REQUEST_CODE = "5 per minute;30 per hour"
    PERKPASS_RATE_LIMIT_REQUEST_CODE_IP = "30 per minute;300 per hour"
    PERKPASS_RATE_LIMIT_LOGIN = "10 per minute;60 per hour"
    PERKPASS_RATE_LIMIT_ISSUE = "30 per minute"
    PERKPASS_RATE_LIMIT_ISSUE_SHARED = False  # True: count issuance in the shared (Redis) storage too
    PERKPASS_LOCAL_RATE_LIMITS = False        # production with memory:// limits: only with one worker process
    PERKPASS_RATE_LIMIT_ENROL = "10 per minute"

    # score ledger (docs/ledger.md)
    PERKPASS_POINT_RULES_DIR = str(ASSETS_DIR / "point-rules")
    PERKPASS_DISPUTE_WINDOW_DAYS = 10          # default when a point-rules file sets none
    PERKPASS_RATE_LIMIT_PROVIDER = "120 per minute"
    PERKPASS_RATE_LIMIT_DISPUTE = "20 per hour"
    PERKPASS_RATE_LIMIT_LEDGER_READ = "120 per minute"
    PERKPASS_RATE_LIMIT_REVIEWER = "300 per minute"
    # HMAC key of providers' references (the ledger stores a keyed digest, never the readable reference).
    # In production the provider path refuses to work without it (fail closed); elsewhere a development key
    PERKPASS_REFERENCE_KEY: str | None = None
    PERKPASS_DISPUTE_STATEMENT_DAYS = 180      # a decided dispute's statement is deleted this long after the decision


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    PERKPASS_DEV_MODE = True
    PERKPASS_KEY_PASSPHRASE = DEV_PASSPHRASE
    PERKPASS_LOG_JSON = True


class TestingConfig(DevelopmentConfig):
    ENV_NAME = "testing"
    TESTING = True
    PERKPASS_KDF_COST = 12  # same construction, cheaper: tests create many keys
    PERKPASS_KEY_ACTIVATION_DELAY = 0
    PERKPASS_KEY_CACHE_SECONDS = 0.0
    PERKPASS_RATE_LIMIT_REQUEST_CODE = "1000 per minute"
    PERKPASS_RATE_LIMIT_REQUEST_CODE_IP = "1000 per minute"
    PERKPASS_RATE_LIMIT_LOGIN = "1000 per minute"
    PERKPASS_RATE_LIMIT_ISSUE = "1000 per minute"
    PERKPASS_RATE_LIMIT_ENROL = "1000 per minute"


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"
    SECRET_KEY = None  # must be provided
    PERKPASS_DEV_MODE = False
    PERKPASS_HSTS_MAX_AGE = 365 * 86400        # set 0 only when the TLS proxy sends HSTS itself


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

# environment variable -> (config key, converter)
_ENV: dict[str, tuple[str, Callable[[str], Any]]] = {
    "SECRET_KEY": ("SECRET_KEY", str),
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", normalise_database_url),
    "PERKPASS_DATABASE_SCHEMA": ("DATABASE_SCHEMA", str),
    "PERKPASS_REPORTS_DATABASE_URL": ("PERKPASS_REPORTS_DATABASE_URL", normalise_database_url),
    "REDIS_URL": ("RATELIMIT_STORAGE_URI", str),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", str),
    "PERKPASS_DEV_MODE": ("PERKPASS_DEV_MODE", _bool),
    "PERKPASS_ISSUER": ("PERKPASS_ISSUER", str),
    "PERKPASS_KEY_PASSPHRASE": ("PERKPASS_KEY_PASSPHRASE", str),
    "PERKPASS_SCHEMES_DIR": ("PERKPASS_SCHEMES_DIR", str),
    "PERKPASS_VENUE_TYPES_FILE": ("PERKPASS_VENUE_TYPES_FILE", str),
    "PERKPASS_CREDENTIAL_LIFETIME": ("PERKPASS_CREDENTIAL_LIFETIME", int),
    "PERKPASS_REFRESH_AFTER": ("PERKPASS_REFRESH_AFTER", int),
    "PERKPASS_CERTIFICATE_LIFETIME": ("PERKPASS_CERTIFICATE_LIFETIME", int),
    "PERKPASS_PP3_SCHEMES": ("PERKPASS_PP3_SCHEMES", str),
    "PERKPASS_MAX_HOLDER_DEVICES": ("PERKPASS_MAX_HOLDER_DEVICES", int),
    "PERKPASS_KIOSK_CLOCK_SKEW": ("PERKPASS_KIOSK_CLOCK_SKEW", int),
    "PERKPASS_ACCESS_TOKEN_TTL": ("PERKPASS_ACCESS_TOKEN_TTL", int),
    "PERKPASS_OTP_TTL": ("PERKPASS_OTP_TTL", int),
    "PERKPASS_SMS_SENDER": ("PERKPASS_SMS_SENDER", str),
    "PERKPASS_CONSENT_VERSION": ("PERKPASS_CONSENT_VERSION", str),
    "PERKPASS_KEY_ACTIVATION_DELAY": ("PERKPASS_KEY_ACTIVATION_DELAY", int),
    "PERKPASS_KEY_CACHE_SECONDS": ("PERKPASS_KEY_CACHE_SECONDS", float),
    "PERKPASS_TRUST_LIST_NEXT_UPDATE": ("PERKPASS_TRUST_LIST_NEXT_UPDATE", int),
    "PERKPASS_TRUST_LIST_VALID_FOR": ("PERKPASS_TRUST_LIST_VALID_FOR", int),
    "PERKPASS_LOG_LEVEL": ("PERKPASS_LOG_LEVEL", str),
    "PERKPASS_LOG_JSON": ("PERKPASS_LOG_JSON", _bool),
    "PERKPASS_RATE_LIMIT_REQUEST_CODE": ("PERKPASS_RATE_LIMIT_REQUEST_CODE", str),
    "PERKPASS_RATE_LIMIT_REQUEST_CODE_IP": ("PERKPASS_RATE_LIMIT_REQUEST_CODE_IP", str),
    "PERKPASS_RATE_LIMIT_LOGIN": ("PERKPASS_RATE_LIMIT_LOGIN", str),
    "PERKPASS_RATE_LIMIT_ISSUE": ("PERKPASS_RATE_LIMIT_ISSUE", str),
    "PERKPASS_RATE_LIMIT_ENROL": ("PERKPASS_RATE_LIMIT_ENROL", str),
    "PERKPASS_LOGIN_LOCKOUT_FAILURES": ("PERKPASS_LOGIN_LOCKOUT_FAILURES", int),
    "PERKPASS_LOGIN_LOCKOUT_SECONDS": ("PERKPASS_LOGIN_LOCKOUT_SECONDS", int),
    "PERKPASS_LOCAL_RATE_LIMITS": ("PERKPASS_LOCAL_RATE_LIMITS", _bool),
    "PERKPASS_RATE_LIMIT_ISSUE_SHARED": ("PERKPASS_RATE_LIMIT_ISSUE_SHARED", _bool),
    "RATELIMIT_ENABLED": ("RATELIMIT_ENABLED", _bool),
    "PERKPASS_ALLOW_CONSOLE_SENDER": ("PERKPASS_ALLOW_CONSOLE_SENDER", _bool),
    "PERKPASS_KDF_COST": ("PERKPASS_KDF_COST", int),
    "PERKPASS_PROXY_FIX": ("PERKPASS_PROXY_FIX", _bool),
    "PERKPASS_HSTS_MAX_AGE": ("PERKPASS_HSTS_MAX_AGE", int),
    "PERKPASS_POINT_RULES_DIR": ("PERKPASS_POINT_RULES_DIR", str),
    "PERKPASS_DISPUTE_WINDOW_DAYS": ("PERKPASS_DISPUTE_WINDOW_DAYS", int),
    "PERKPASS_RATE_LIMIT_PROVIDER": ("PERKPASS_RATE_LIMIT_PROVIDER", str),
    "PERKPASS_RATE_LIMIT_DISPUTE": ("PERKPASS_RATE_LIMIT_DISPUTE", str),
    "PERKPASS_RATE_LIMIT_LEDGER_READ": ("PERKPASS_RATE_LIMIT_LEDGER_READ", str),
    "PERKPASS_RATE_LIMIT_REVIEWER": ("PERKPASS_RATE_LIMIT_REVIEWER", str),
    "PERKPASS_RETENTION_DAYS": ("PERKPASS_RETENTION_DAYS", int),
    "PERKPASS_REFERENCE_KEY": ("PERKPASS_REFERENCE_KEY", str),
    "PERKPASS_DISPUTE_STATEMENT_DAYS": ("PERKPASS_DISPUTE_STATEMENT_DAYS", int),
}


def env_overrides(environ=None) -> dict:
    environ = os.environ if environ is None else environ
    out = {}
    for var, (key, conv) in _ENV.items():
        if var in environ and environ[var] != "":
            out[key] = conv(environ[var])
    return out


class ConfigError(click.ClickException, RuntimeError):
    """The configuration is unsafe or incomplete. A click error as well, so that `flask --app backend …`
    started with it prints ``Error: <why>`` (one line, exit 1) instead of a traceback; gunicorn logs it and
    refuses to start."""


# Secrets a production server refuses to start with unless they look like secrets: a value copied from the
# documentation ("...", "changeme", "<your secret>"), the development value or anything short or repetitive
# signs sessions or encrypts the signing keys with something an attacker can guess.
PRODUCTION_SECRETS = ("SECRET_KEY", "PERKPASS_KEY_PASSPHRASE")
MIN_SECRET_LENGTH = 32
_PLACEHOLDER_VALUES = {"changeme", "secret", "password", "passphrase", "todo", "tbd", "none", "null", "test",
                       "dev", "default", "example", "xxx", "yoursecret", "secretkey"}
# words no random value of this length contains by chance, and every copied example does
_PLACEHOLDER_WORDS = ("changeme", "changethis", "placeholder", "example", "replaceme", "yoursecret", "yourkey",
                      "yourpassphrase", "development", "donotuse", "insecure", "secretkeyhere", "perkpass")


def weak_secret(value) -> str | None:
    """Why ``value`` is no production secret (never quoting it: a short real secret is still a secret), or
    None. Refused: unset, the development values, placeholders, fewer than MIN_SECRET_LENGTH characters,
    fewer than 10 different characters."""
    if value is None or str(value).strip() == "":
        return "it is not set"
    text = str(value)
    if text in (DEV_SECRET, DEV_PASSPHRASE):
        return "it is the development value"
    letters = "".join(ch for ch in text.lower() if ch.isalnum())
    if "..." in text or "…" in text or text.strip().startswith("<") or letters in _PLACEHOLDER_VALUES \
            or any(word in letters for word in _PLACEHOLDER_WORDS):
        return "it looks like a placeholder copied from an example"
    if len(text) < MIN_SECRET_LENGTH:
        return f"it is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(text)) < 10:
        return "it repeats too few different characters"
    return None


def validate(config) -> None:
    """Refuse configurations that are incomplete, malformed or unsafe (in production): building the typed
    settings checks them all (backend/settings.py)."""
    from .settings import from_config
    from_config(config)
