"""What every ``flask --app backend …`` command shares: the clock, times for people, reading a file or
standard input, and one way to turn a service's refusal into a command-line error.

The command modules (``cli.py``, ``ledger_cli.py``, ``console_cli.py``) define module-level click groups
whose commands call services; ``cli.register_cli`` adds them all to the app. They import from here; this
module imports no command module."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn, TypeVar

import click

from .errors import APIError
from .services.errors import DomainError

T = TypeVar("T")


def now() -> int:
    """The command's clock, epoch seconds (tests replace a module's ``now``)."""
    return int(time.time())


def when(t: int | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An epoch time for people, in UTC (``-`` for none)."""
    return time.strftime(fmt, time.gmtime(t)) if t else "-"


def parse_instant(value: str) -> int:
    """Epoch seconds or an ISO 8601 time (UTC unless it says otherwise); ValueError when it is neither."""
    try:
        return int(value)
    except ValueError:
        pass
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())


def read_text(path: str, encoding: str = "utf-8") -> str:
    """A file's text, or standard input for ``-``."""
    return sys.stdin.read() if path == "-" else Path(path).read_text(encoding=encoding)


def fail(message: str) -> NoReturn:
    """Stop the command: ``Error: MESSAGE`` on standard error, exit status 1."""
    raise click.ClickException(message)


def describe(err: DomainError | APIError) -> str:
    """``[code] message (field: reason; …)``: the same code and fields the HTTP API answers with."""
    detail = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in (err.fields or {}).items())
    return f"[{err.code}] {err.message}" + (f" ({detail})" if detail else "")


@contextmanager
def service_errors() -> Iterator[None]:
    """Inside, a service's refusal (a domain error, or an APIError of a service not yet moved to domain
    errors) ends the command with its code and message instead of a traceback."""
    try:
        yield
    except (DomainError, APIError) as err:
        raise click.ClickException(describe(err)) from None


def call(fn: Callable[..., T], *args, **kwargs) -> T:
    """``fn(*args, **kwargs)`` with :func:`service_errors`."""
    with service_errors():
        return fn(*args, **kwargs)
