"""What every ``flask --app backend …`` command shares: the clock, times for people, reading a file or
standard input, and one way to turn a service's refusal into a command-line error.

The command modules (``commands.py``, ``ledger.py``, ``console.py``) define module-level click groups
whose commands call services; ``cli.register_cli`` adds them all to the app. They import from here; this
module imports no command module."""
from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn, TypeVar

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from ..http.errors import APIError
from ..services.crypto import DecryptionError
from ..services.errors import DomainError
from ..services.ledger import PointRulesError

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


def _operator_mistake(exc: BaseException) -> str | None:
    """The one line for a mistake an operator makes with files, keys or the database's address, or None for
    a bug (which keeps its traceback: somebody has to fix it)."""
    if isinstance(exc, PointRulesError):  # a rule file that breaks a rule, or names a forbidden category
        return f"[point_rules] {exc}: fix the file (PERKPASS_POINT_RULES_DIR), nothing was loaded"
    if isinstance(exc, DecryptionError):
        return ("[wrong_passphrase] cannot decrypt the stored keys: PERKPASS_KEY_PASSPHRASE is not the one they "
                "were encrypted with (or the database is damaged)")
    if isinstance(exc, OperationalError):
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(getattr(exc, "orig", exc)).strip() else ""
        if "no such table" in first or "does not exist" in first:
            return f"[database] the tables are missing ({first}): run `flask --app backend init-db` first"
        return f"[database] cannot use the database of DATABASE_URL: {first or type(exc).__name__}"
    if isinstance(exc, ProgrammingError) and "does not exist" in str(getattr(exc, "orig", "")):
        first = str(exc.orig).strip().splitlines()[0]
        return f"[database] the tables are missing ({first}): run `flask --app backend init-db` first"
    if isinstance(exc, OSError) and exc.filename:
        where = Path(str(exc.filename))
        hint = ""
        if isinstance(exc, FileNotFoundError) and not where.parent.exists():
            hint = f" (the folder {where.parent} does not exist)"
        return f"[file] {where}: {exc.strerror or exc}{hint}"
    return None


def operator_errors(callback: Callable[..., T]) -> Callable[..., T]:
    """Wrap a command: a wrong passphrase, an unusable file or a service's refusal that the command did not
    catch itself (the trust list over capacity, from any command that publishes one) ends it with
    ``Error: [code] …`` (one line, exit 1), whatever the command; ``register_cli`` wraps every command with it."""
    @functools.wraps(callback)
    def wrapped(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except (DomainError, APIError) as err:
            raise click.ClickException(describe(err)) from None
        except (DecryptionError, OSError, OperationalError, ProgrammingError, PointRulesError) as exc:
            line = _operator_mistake(exc)
            if line is None:
                raise
            raise click.ClickException(line) from None
    wrapped.perkpass_guarded = True  # type: ignore[attr-defined]
    return wrapped


def guard_commands(command: click.Command) -> None:
    """Apply :func:`operator_errors` to ``command`` and, for a group, to every command under it."""
    if command.callback is not None and not getattr(command.callback, "perkpass_guarded", False):
        command.callback = operator_errors(command.callback)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            guard_commands(sub)
