"""The backend's settings: one frozen, typed object, built and checked once when the app starts.

``create_app`` resolves the configuration (the config class, the environment, the ``config`` argument) into
``app.config`` as Flask expects, then builds :class:`Settings` from it with :func:`from_config`: every
setting of Perkpass converted to its type (an int is an int, a duration is seconds, a key is bytes, a folder
is a Path) and checked, so a missing, malformed or unsafe setting refuses to start (:class:`ConfigError`)
instead of failing a request later. The object is kept on the app (``app.extensions["perkpass_settings"]``)
and read through :func:`settings` (or :func:`settings_of` given an app). Services and views never read
``app.config``: Flask's, SQLAlchemy's and Flask-Limiter's own keys stay there for those libraries.

Tests that change a setting of a running app use :func:`override`, which swaps in a new checked object.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from flask import Flask, current_app

from .config import MIN_SECRET_LENGTH, PRODUCTION_SECRETS, ConfigError, weak_secret

EXTENSION = "perkpass_settings"
# the rate limits a deployment sets: name -> PERKPASS_RATE_LIMIT_<NAME> (Flask-Limiter's "5 per minute;30 per hour")
RATE_LIMITS = ("request_code", "request_code_ip", "login", "issue", "enrol", "provider", "dispute", "ledger_read",
               "reviewer")
# the development reference key is derived from SECRET_KEY under this context (never used in production)
_DEV_REFERENCE_CONTEXT = b"perkpass reference key v1"


@dataclass(frozen=True)
class Settings:
    env_name: str                      # ENV_NAME: development, testing, production
    dev_mode: bool                     # PERKPASS_DEV_MODE: log-in codes in answers (never in production)
    issuer: str                        # PERKPASS_ISSUER: inside every code, 1-64 characters
    key_passphrase: str                # PERKPASS_KEY_PASSPHRASE: encrypts keys and secrets at rest
    kdf_cost: int                      # PERKPASS_KDF_COST: log2 of scrypt N
    schemes_dir: Path
    venue_types_file: Path
    point_rules_dir: Path              # PERKPASS_POINT_RULES_DIR, else point-rules/ beside the schemes
    consent_version: str
    credential_lifetime: int           # seconds a PP1 code is valid
    refresh_after: int                 # seconds after which the phone refreshes it (< credential_lifetime)
    certificate_lifetime: int          # seconds a PP2 certificate is valid
    pp3_schemes: frozenset[str]        # schemes issuing PP3 codes (PERKPASS_PP3_SCHEMES, comma-separated)
    pp3_key_days: int                  # days one BBS key signs (at least 8)
    max_holder_devices: int
    clock_leeway: int                  # seconds
    kiosk_clock_skew: int              # seconds a synced scan may be ahead of the server clock
    batch_max: int                     # redemptions per kiosk upload (at most partner_sdk.upload.MAX_ITEMS)
    access_token_ttl: int
    otp_ttl: int
    otp_max_attempts: int
    login_lockout_failures: int        # 0: no lock-out
    login_lockout_seconds: int
    sms_sender: str                    # "console", "outbox" or "package.module:Class"
    allow_console_sender: bool
    trust_list_next_update: int
    trust_list_valid_for: int
    trust_monitor_critical_seconds: int
    key_activation_delay: int
    signing_key_max_age: int
    key_cache_seconds: float
    compromised_key_listed: int
    enrolment_code_ttl: int
    retention_days: int
    dispute_window_days: int           # when a point-rules file sets none
    dispute_statement_days: int
    reference_keys: tuple[bytes, ...]  # HMAC keys of providers' references, newest first (never empty)
    reports_database_url: str | None
    console_idle_seconds: int
    console_session_seconds: int
    console_kiosk_online_seconds: int
    app_static_dir: Path | None        # the citizen page's files (None: backend/static/app)
    app_optimise: bool
    app_minify: bool | None            # None: the PERKPASS_MINIFY environment variable decides
    hsts_max_age: int
    proxy_fix: bool
    log_level: str
    log_json: bool
    rate_limits_enabled: bool          # RATELIMIT_ENABLED (Flask-Limiter's switch, read here too)
    rate_limit_storage_uri: str        # RATELIMIT_STORAGE_URI: memory:// counts per process
    local_rate_limits: bool            # one worker process: memory:// is allowed in production
    rate_limit_issue_shared: bool      # count issuance in the shared storage too
    rate_limits: Mapping[str, str]     # RATE_LIMITS name -> limit string ("" = none)

    @property
    def production(self) -> bool:
        return self.env_name == "production"

    @property
    def reference_key(self) -> bytes:
        """The key new references are digested with (the newest)."""
        return self.reference_keys[0]


# ------------------------------------------------------------------------------------------- converters

def _text(key: str, v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"{key} must be a non-empty text")
    return v


def _optional_text(key: str, v: Any) -> str | None:
    return None if v is None or v == "" else _text(key, v)


def _bool(key: str, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in {"1", "true", "yes", "on", "0", "false", "no", "off", ""}:
        return v.strip().lower() in {"1", "true", "yes", "on"}
    raise ConfigError(f"{key} must be true or false, not {v!r}")


def _int(key: str, v: Any, lo: int = 0, hi: int | None = None) -> int:
    if isinstance(v, str) and re.fullmatch(r"\s*-?[0-9]+\s*", v):
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{key} must be a whole number, not {v!r}")
    if v < lo or (hi is not None and v > hi):
        raise ConfigError(f"{key} must be {lo}..{hi}" if hi is not None else f"{key} must be at least {lo}")
    return v


def _seconds(key: str, v: Any) -> float:
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            pass
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 10 ** 9:
        raise ConfigError(f"{key} must be a number of seconds, not {v!r}")
    return float(v)


def _path(key: str, v: Any) -> Path:
    if not isinstance(v, (str, Path)) or not str(v).strip():
        raise ConfigError(f"{key} must be a path")
    return Path(v)


def _limit(key: str, v: Any) -> str:
    if v is None or v == "":
        return ""
    from limits import parse_many
    try:
        parse_many(str(v))
    except ValueError:
        raise ConfigError(f"{key} is not a rate limit like '5 per minute;30 per hour': {v!r}") from None
    return str(v)


def _schemes(key: str, v: Any) -> frozenset[str]:
    if v is None or v == "":
        return frozenset()
    items = v.split(",") if isinstance(v, str) else v
    try:
        return frozenset(s.strip() for s in items if s.strip())
    except (TypeError, AttributeError):
        raise ConfigError(f"{key} must list scheme codes separated by commas") from None


def parse_reference_keys(raw: object) -> tuple[bytes, ...]:
    """The keys of a ``PERKPASS_REFERENCE_KEY`` value, newest first (empty when unset or blank): separated by
    spaces or commas, as during a rotation."""
    if raw is None:
        return ()
    return tuple(k.encode() for k in re.split(r"[\s,]+", str(raw)) if k)


# ------------------------------------------------------------------------------------------- building

def from_config(config: Mapping[str, Any]) -> Settings:
    """The settings in ``config`` (``app.config`` or any mapping of the same keys), converted and checked;
    ConfigError names the first setting that is missing, malformed or unsafe."""
    def get(key: str, convert: Callable[..., Any], *args: Any) -> Any:
        if key not in config:
            raise ConfigError(f"{key} is not set (backend/config.py declares every setting with its default)")
        return convert(key, config[key], *args)

    from partner_sdk.pp2 import MAX_CERT_LIFETIME
    from partner_sdk.upload import MAX_ITEMS

    env_name = get("ENV_NAME", _text)
    production = env_name == "production"
    if production:  # the secrets first: a template copied as it is names them before anything else
        if get("PERKPASS_DEV_MODE", _bool):
            raise ConfigError("production configuration refuses PERKPASS_DEV_MODE (it would leak login codes)")
        for setting in PRODUCTION_SECRETS:
            why = weak_secret(config.get(setting))
            if why:
                raise ConfigError(f"production configuration refuses {setting}: {why}; set a random value of "
                                  f"{MIN_SECRET_LENGTH} characters or more, e.g. the output of "
                                  "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`")
    schemes_dir = get("PERKPASS_SCHEMES_DIR", _path)
    rules_dir = config.get("PERKPASS_POINT_RULES_DIR")
    passphrase = config.get("PERKPASS_KEY_PASSPHRASE")
    if not passphrase:
        raise ConfigError("PERKPASS_KEY_PASSPHRASE is required")
    s = Settings(
        env_name=env_name,
        dev_mode=get("PERKPASS_DEV_MODE", _bool),
        issuer=get("PERKPASS_ISSUER", _text),
        key_passphrase=_text("PERKPASS_KEY_PASSPHRASE", passphrase),
        kdf_cost=get("PERKPASS_KDF_COST", _int, 10, 22),
        schemes_dir=schemes_dir,
        venue_types_file=get("PERKPASS_VENUE_TYPES_FILE", _path),
        point_rules_dir=(_path("PERKPASS_POINT_RULES_DIR", rules_dir) if rules_dir
                         else schemes_dir.parent / "point-rules"),
        consent_version=get("PERKPASS_CONSENT_VERSION", _text),
        credential_lifetime=get("PERKPASS_CREDENTIAL_LIFETIME", _int, 1),
        refresh_after=get("PERKPASS_REFRESH_AFTER", _int, 1),
        certificate_lifetime=get("PERKPASS_CERTIFICATE_LIFETIME", _int, 600, MAX_CERT_LIFETIME),
        pp3_schemes=get("PERKPASS_PP3_SCHEMES", _schemes),
        pp3_key_days=get("PERKPASS_PP3_KEY_DAYS", _int, 8),
        max_holder_devices=get("PERKPASS_MAX_HOLDER_DEVICES", _int, 1),
        clock_leeway=get("PERKPASS_CLOCK_LEEWAY", _int),
        kiosk_clock_skew=get("PERKPASS_KIOSK_CLOCK_SKEW", _int),
        batch_max=get("PERKPASS_BATCH_MAX", _int, 1, MAX_ITEMS),
        access_token_ttl=get("PERKPASS_ACCESS_TOKEN_TTL", _int, 1),
        otp_ttl=get("PERKPASS_OTP_TTL", _int, 1),
        otp_max_attempts=get("PERKPASS_OTP_MAX_ATTEMPTS", _int, 1),
        login_lockout_failures=get("PERKPASS_LOGIN_LOCKOUT_FAILURES", _int),
        login_lockout_seconds=get("PERKPASS_LOGIN_LOCKOUT_SECONDS", _int, 1),
        sms_sender=get("PERKPASS_SMS_SENDER", _text),
        allow_console_sender=get("PERKPASS_ALLOW_CONSOLE_SENDER", _bool),
        trust_list_next_update=get("PERKPASS_TRUST_LIST_NEXT_UPDATE", _int, 1),
        trust_list_valid_for=get("PERKPASS_TRUST_LIST_VALID_FOR", _int, 1),
        trust_monitor_critical_seconds=get("PERKPASS_TRUST_MONITOR_CRITICAL_SECONDS", _int, 1),
        key_activation_delay=get("PERKPASS_KEY_ACTIVATION_DELAY", _int),
        signing_key_max_age=get("PERKPASS_SIGNING_KEY_MAX_AGE", _int, 1),
        key_cache_seconds=get("PERKPASS_KEY_CACHE_SECONDS", _seconds),
        compromised_key_listed=get("PERKPASS_COMPROMISED_KEY_LISTED", _int, 1),
        enrolment_code_ttl=get("PERKPASS_ENROLMENT_CODE_TTL", _int, 1),
        retention_days=get("PERKPASS_RETENTION_DAYS", _int, 1),
        dispute_window_days=get("PERKPASS_DISPUTE_WINDOW_DAYS", _int, 1),
        dispute_statement_days=get("PERKPASS_DISPUTE_STATEMENT_DAYS", _int, 1),
        reference_keys=_reference_keys(config, production),
        reports_database_url=get("PERKPASS_REPORTS_DATABASE_URL", _optional_text),
        console_idle_seconds=get("PERKPASS_CONSOLE_IDLE_SECONDS", _int, 1),
        console_session_seconds=get("PERKPASS_CONSOLE_SESSION_SECONDS", _int, 1),
        console_kiosk_online_seconds=get("PERKPASS_CONSOLE_KIOSK_ONLINE_SECONDS", _int, 1),
        app_static_dir=_path("PERKPASS_APP_STATIC_DIR", config["PERKPASS_APP_STATIC_DIR"])
        if config.get("PERKPASS_APP_STATIC_DIR") else None,
        app_optimise=get("PERKPASS_APP_OPTIMISE", _bool),
        app_minify=None if config.get("PERKPASS_APP_MINIFY") is None else get("PERKPASS_APP_MINIFY", _bool),
        hsts_max_age=get("PERKPASS_HSTS_MAX_AGE", _int),
        proxy_fix=get("PERKPASS_PROXY_FIX", _bool),
        log_level=get("PERKPASS_LOG_LEVEL", _text),
        log_json=get("PERKPASS_LOG_JSON", _bool),
        rate_limits_enabled=get("RATELIMIT_ENABLED", _bool),
        rate_limit_storage_uri=str(config.get("RATELIMIT_STORAGE_URI") or "memory://"),
        local_rate_limits=get("PERKPASS_LOCAL_RATE_LIMITS", _bool),
        rate_limit_issue_shared=get("PERKPASS_RATE_LIMIT_ISSUE_SHARED", _bool),
        rate_limits=MappingProxyType({name: get("PERKPASS_RATE_LIMIT_" + name.upper(), _limit)
                                      for name in RATE_LIMITS}),
    )
    _check(s)
    return s


def _reference_keys(config: Mapping[str, Any], production: bool) -> tuple[bytes, ...]:
    """Production: the configured keys, each a strong secret, none twice (fail closed without them: provider
    events and withdrawals would all be refused). Elsewhere, without keys, one derived from SECRET_KEY keeps
    development and tests working."""
    keys = parse_reference_keys(config.get("PERKPASS_REFERENCE_KEY"))
    if production:
        if not keys:
            raise ConfigError("production configuration needs PERKPASS_REFERENCE_KEY (the HMAC key of providers' "
                              "references; several keys, newest first, during a rotation)")
        for n, key in enumerate(keys, 1):
            why = weak_secret(key.decode())
            if why:
                raise ConfigError(f"production configuration refuses PERKPASS_REFERENCE_KEY (key {n}): {why}; set a "
                                  f"random value of {MIN_SECRET_LENGTH} characters or more")
    if len(set(keys)) != len(keys):
        raise ConfigError("PERKPASS_REFERENCE_KEY lists the same key twice")
    if keys:
        return keys
    return (hmac.new(str(config.get("SECRET_KEY") or "").encode(), _DEV_REFERENCE_CONTEXT, hashlib.sha256).digest(),)


def _check(s: Settings) -> None:
    """The rules between settings, and production's: what would be unsafe refuses to start."""
    if len(s.issuer) > 64:
        raise ConfigError("PERKPASS_ISSUER is at most 64 characters (it is inside every code)")
    if s.refresh_after >= s.credential_lifetime:
        raise ConfigError("PERKPASS_REFRESH_AFTER must be shorter than PERKPASS_CREDENTIAL_LIFETIME")
    if not s.production:
        return
    if s.kdf_cost < 14:
        raise ConfigError("production configuration needs PERKPASS_KDF_COST >= 14")
    if s.sms_sender == "console" and not s.allow_console_sender:
        raise ConfigError("production configuration refuses the console SMS sender; set PERKPASS_SMS_SENDER")
    if s.rate_limit_storage_uri.startswith("memory://") and not s.local_rate_limits:
        # memory:// counts per worker process: with 4 workers a limit of 5 lets 20 through
        raise ConfigError("production configuration refuses in-memory rate limits (each worker would count "
                          "alone); set REDIS_URL, or PERKPASS_LOCAL_RATE_LIMITS=1 when one worker process runs")


# ------------------------------------------------------------------------------------------- access

def install(app: Flask) -> Settings:
    """Build the app's settings from ``app.config`` (ConfigError when they are unusable) and keep them."""
    s = app.extensions[EXTENSION] = from_config(app.config)
    return s


def settings_of(app: Flask) -> Settings:
    return app.extensions[EXTENSION]


def settings() -> Settings:
    """The running app's settings."""
    return current_app.extensions[EXTENSION]


@contextlib.contextmanager
def override(app: Flask, **changes: Any) -> Iterator[Settings]:
    """Run with some settings changed (by field name; not checked again: a test may need an edge value); the
    old ones come back after."""
    old = settings_of(app)
    unknown = set(changes) - {f.name for f in fields(Settings)}
    if unknown:
        raise TypeError(f"no such setting: {sorted(unknown)}")
    app.extensions[EXTENSION] = replace(old, **changes)
    try:
        yield app.extensions[EXTENSION]
    finally:
        app.extensions[EXTENSION] = old
