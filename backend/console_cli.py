"""``flask --app backend console …``: console accounts from the command line (the first operator has no
console to be created in), and ``flask --app backend trust-list check`` for cron and monitoring."""
from __future__ import annotations

import json
import sys
import time

import click
from flask.cli import AppGroup

from .errors import APIError

console_cli = AppGroup("console", help="Operator and reviewer accounts of the /console/ page.")


def _now() -> int:
    return int(time.time())


def _create(username: str, role: str, password_stdin: bool) -> None:
    from .services import console_auth
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    try:
        new = console_auth.create_account(username, role, _now(), password=password, actor="cli")
    except APIError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"created {role} account {new.account.username!r}")
    if password is None:
        click.echo(f"password (shown once): {new.password}")
    click.echo(f"TOTP secret (shown once; add it to an authenticator app): {new.totp_secret}")
    click.echo(f"otpauth URI: {new.otpauth_uri}")


@console_cli.command("create-operator")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input "
                                                     "(else one is generated and shown once).")
def create_operator(username, password_stdin):
    """Create an operator account (the first one has to come from here)."""
    _create(username, "operator", password_stdin)


@console_cli.command("create-account")
@click.argument("username")
@click.option("--role", type=click.Choice(["operator", "reviewer"]), required=True)
@click.option("--password-stdin", is_flag=True)
def create_account(username, role, password_stdin):
    """Create an operator or reviewer account."""
    _create(username, role, password_stdin)


@console_cli.command("list")
def list_accounts():
    from .services import console_auth
    for a in console_auth.list_accounts(_now()):
        state = "disabled" if a["disabled_at"] else "locked" if a["locked"] else "active"
        click.echo(f"{a['id']:>4}  {a['username']:<24} {a['role']:<9} {state}")


@console_cli.command("unlock")
@click.argument("account_id", type=int)
def unlock(account_id):
    """Clear an account's lock-out after failed sign-ins."""
    from .services import console_auth
    try:
        a = console_auth.unlock_account(account_id, _now(), actor="cli")
    except APIError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"unlocked {a.username}")


@click.command("check")
@click.option("--json", "as_json", is_flag=True)
def trust_list_check(as_json):
    """Is the newest published trust list fresh? Exit 0 ok, 1 warning (past next_update), 2 critical
    (a venue type stops granting within 12 hours) or expired. Read-only: it never signs a list."""
    from .services.console import MONITOR_EXIT, trust_monitor
    m = trust_monitor(_now())
    if as_json:
        click.echo(json.dumps(m, sort_keys=True))
    else:
        click.echo(f"{m['level'].upper()}: {m['message']}")
    sys.exit(MONITOR_EXIT[m["level"]])
