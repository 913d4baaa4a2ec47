"""Flask extension singletons (initialised in :func:`backend.create_app`)."""
from typing import Any, cast

from flask import request
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import CursorResult, Executable, MetaData

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()


def rows_changed(statement: Executable) -> int:
    """Run an UPDATE or DELETE in the current session; the number of rows it changed.

    (SQLAlchemy types ``Session.execute`` as ``Result``; for these statements it is a ``CursorResult``.)"""
    return cast("CursorResult[Any]", db.session.execute(statement)).rowcount


def client_address() -> str:
    # Behind a proxy, deploy werkzeug's ProxyFix (see docs/backend.md) so remote_addr is the client.
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_address)
