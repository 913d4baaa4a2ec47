"""``flask --app backend console …``: console accounts from the command line (the first operator has no
console to be created in). Documented in docs/backend.md and docs/console.md; shared command-line bits in
common.py; added to the app by commands.register_cli."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from .common import call, now
from ..services import console_auth

console_cli = AppGroup("console", help="Operator and reviewer accounts of the /console/ page.")


def _create(username: str, role: str, password_stdin: bool) -> None:
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    new = call(console_auth.create_account, username, role, now(), password=password, actor="cli")
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
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input "
                                                     "(else one is generated and shown once).")
def create_account(username, role, password_stdin):
    """Create an operator or reviewer account."""
    _create(username, role, password_stdin)


@console_cli.command("list")
def list_accounts():
    """Console accounts: role and whether each is active, locked or disabled."""
    for a in console_auth.list_accounts(now()):
        state = "disabled" if a["disabled_at"] else "locked" if a["locked"] else "active"
        click.echo(f"{a['id']:>4}  {a['username']:<24} {a['role']:<9} {state}")


@console_cli.command("unlock")
@click.argument("account_id", type=int)
def unlock(account_id):
    """Clear an account's lock-out after failed sign-ins."""
    a = call(console_auth.unlock_account, account_id, now(), actor="cli")
    click.echo(f"unlocked {a.username}")
