"""Perkpass issuer backend (Flask).

    flask --app backend init-db      # create/upgrade tables, keys, schemes (idempotent)
    flask --app backend seed-demo    # demo partners, venues, citizens, enrolment codes
    flask --app backend run          # development server
    gunicorn 'backend.wsgi:app'      # production
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import cast

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from sqlalchemy import event as sa_event

__version__ = "0.1.0"


def _resolve_config(app: Flask, config) -> None:
    from .config import CONFIGS, env_overrides

    name = None
    overrides: dict = {}
    if config is None or isinstance(config, dict):
        overrides = dict(config or {})
        name = overrides.pop("ENV_NAME", None) or os.environ.get("PERKPASS_ENV") or (
            "testing" if overrides.get("TESTING") else "development")
        base = CONFIGS.get(name)
        if base is None:
            raise ValueError(f"unknown PERKPASS_ENV {name!r}; use one of {', '.join(CONFIGS)}")
    elif isinstance(config, str):
        base = CONFIGS[config]
    else:
        base = config
    app.config.from_object(base)
    app.config.update(env_overrides())
    app.config.update(overrides)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "perkpass.db")
    from .config import normalise_database_url
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    opts = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        opts.setdefault("connect_args", {}).setdefault("timeout", 30)
    else:
        # no pre-ping (it would double the round trips of every request); recycle idle connections instead
        opts.setdefault("pool_recycle", 1800)
        opts.setdefault("pool_size", 10)
        opts.setdefault("max_overflow", 10)
        schema = app.config.get("DATABASE_SCHEMA")
        if schema:
            opts.setdefault("connect_args", {})["options"] = f"-csearch_path={schema}"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = opts


def _sqlite_pragmas(app: Flask) -> None:
    from .extensions import db

    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "sqlite":
            return

        @sa_event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in str(engine.url):
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA mmap_size=268435456")  # read pages from a mapping, not a syscall each
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()


def create_app(config=None) -> Flask:
    """Build the app. ``config``: None (environment, PERKPASS_ENV), a name ('development', 'testing',
    'production'), a config class, or a dict of overrides."""
    app = Flask(__name__, instance_relative_config=True)
    _resolve_config(app, config)
    from .config import ConfigError
    from .settings import install as install_settings
    settings = install_settings(app)  # typed and checked once: a missing or unsafe setting refuses to start
    from .services.senders import SenderConfigError, load_sender, sender_problem
    try:  # built now: a sender that cannot be loaded refuses to start instead of failing every log-in
        app.extensions["perkpass_sender"] = load_sender(settings.sms_sender)
    except SenderConfigError as exc:
        raise ConfigError(str(exc)) from exc
    problem = sender_problem(app.extensions["perkpass_sender"])
    if problem and settings.production:  # e.g. the gateway's credentials are missing
        raise ConfigError(f"PERKPASS_SMS_SENDER={settings.sms_sender!r} is not ready: {problem}")
    from .services.perks import CatalogueError, get_catalogue
    try:  # the schemes and the venue type registry, read now: a mistake in them refuses to start (fail closed)
        get_catalogue(app)
    except CatalogueError as exc:
        raise ConfigError(f"scheme or venue type configuration: {exc}") from exc

    from .extensions import db, limiter, migrate
    from .http.log import configure_logging

    configure_logging(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    limiter.init_app(app)
    _sqlite_pragmas(app)

    from . import models  # noqa: F401 - imported for its side effect: registers the tables
    from .api import register_blueprints
    from .cli.commands import register_cli
    from .http.errors import register_error_handlers

    register_error_handlers(app)
    from .http.guard import install as install_http_guard
    install_http_guard(app)
    register_blueprints(app)
    register_cli(app)
    cast(DefaultJSONProvider, app.json).sort_keys = False  # the provider create_app's Flask made
    return app
