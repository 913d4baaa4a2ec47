"""Operator command line: ``flask --app backend <command>``.

Every command is documented in docs/backend.md ("Command line"); tests/backend/test_cli_docs.py checks
that the table there names every command registered here. This module holds the platform's commands as
module-level click groups; the ledger's are in ``ledger.py``, the console accounts' in ``console.py``;
the bits they share (clock, times, service errors) in ``common.py``. ``register_cli`` adds them all."""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select, text

from .common import call, fail, guard_commands, now, parse_instant, when
from .console import console_cli
from ..demo.city import print_summary, seed_demo
from ..extensions import db
from .ledger import ledger_cli
from ..models import Device, Partner
from .progress import Progress
from ..services import auth as auth_service
from ..services import console as console_service
from ..services import keys as key_service
from ..services import operators as operator_service
from ..services import partners as partner_service
from ..services import redemptions as redemption_service
from ..services import retention as retention_service
from ..services import scores as score_service
from ..services import secrets_store
from ..settings import settings
from ..services.import_codes import import_codes
from ..services import trust_list as trust_service


def ensure_schema() -> None:
    """PostgreSQL: create the configured schema (PERKPASS_DATABASE_SCHEMA) if needed."""
    schema = current_app.config.get("DATABASE_SCHEMA")
    if schema and db.engine.dialect.name == "postgresql":
        if not schema.replace("_", "").isalnum():
            fail("PERKPASS_DATABASE_SCHEMA must be letters, digits and underscores")
        with db.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))


def init_database(quiet: bool = False) -> dict:
    """Upgrade the schema to the newest migration, sync schemes, create missing keys. Idempotent."""
    from flask_migrate import upgrade

    ensure_schema()
    upgrade(directory=current_app.extensions["migrate"].directory)
    t = now()
    schemes = score_service.sync_schemes(t)
    from ..services.ledger import seed_catalogue
    seed_catalogue(t)  # a fresh catalogue: the point-rule files as approved entries; later file edits: proposals
    created = key_service.ensure_keys(t)
    secrets_store.ensure_all(t)
    tl = trust_service.current(t)
    return {"schemes": schemes, "keys_created": created, "trust_list_sequence": tl.sequence}


# ------------------------------------------------------------------ database and demo data
@click.command("init-db")
@with_appcontext
def init_db_cmd():
    """Create or upgrade the tables, load the schemes, create the root and first signing key."""
    out = init_database()
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")
    click.echo("schemes: " + ", ".join(f"{k} ({v})" for k, v in out["schemes"].items()))
    click.echo("keys created: " + (", ".join(out["keys_created"]) or "none (already present)"))
    click.echo(f"trust list sequence: {out['trust_list_sequence']}")


@click.command("seed-demo")
@click.option("--reset", is_flag=True, help="Delete the demo partners and citizens first.")
@click.option("--json", "as_json", is_flag=True, help="Print the demo data as JSON.")
@click.option("--activity", is_flag=True,
              help="Also make the console's last 14 days up to now: demo kiosks, codes issued, grants and refusals "
                   "(replaces the last generated ones; make demo passes it).")
@with_appcontext
def seed_demo_cmd(reset, as_json, activity):
    """Create demo partners, venues, citizens in every band and fresh enrolment codes (idempotent)."""
    init_database()
    out = seed_demo(now(), reset=reset)
    if activity:
        from ..demo.activity import seed_activity
        out["activity"] = seed_activity(now())
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print_summary(out, click.echo)


@click.command("purge-expired")
@with_appcontext
def purge_cmd():
    """Delete expired access tokens and old log-in codes."""
    with Progress(None, "purge-expired") as progress:
        n = auth_service.purge_expired(now())
        progress.advance(n)
    click.echo(f"deleted {n} rows")


# ------------------------------------------------------------------ retention (docs/deploy.md)
retention = AppGroup("retention", help="Personal history older than PERKPASS_RETENTION_DAYS.")


@retention.command("purge")
@click.option("--days", type=int, default=None, help="Retention in days (default: PERKPASS_RETENTION_DAYS).")
@click.option("--batch-size", type=int, default=2000, show_default=True, help="Rows per transaction.")
@click.option("--pause", type=float, default=0.05, show_default=True, help="Seconds between batches.")
@click.option("--max-batches", type=int, default=None, help="Stop after this many batches per table.")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
def retention_purge(days, batch_size, pause, max_batches, dry_run):
    """Delete redemptions, certificates, revocations and device challenges older than the retention,
    in short batches (safe from cron while the service runs)."""
    days = settings().retention_days if days is None else days
    t = now()
    try:
        if dry_run:
            out = retention_service.pending(t, days)
        else:
            progress = Progress(None, "retention purge")
            if progress.enabled:  # the count costs a scan per table: only for someone watching
                progress.total = sum(retention_service.pending(t, days).values())
            with progress:
                out = retention_service.purge(t, days, batch_size=batch_size, pause=pause, max_batches=max_batches,
                                              on_batch=progress.advance,
                                              statement_days=settings().dispute_statement_days)
    except ValueError as e:
        fail(str(e))
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"retention {days} days (before {when(t - days * 86400, '%Y-%m-%d %H:%M UTC')}): "
               + ", ".join(f"{verb} {n} {name}" for name, n in out.items()))


# ------------------------------------------------------------------ keys
keys = AppGroup("keys", help="Signing keys (encrypted at rest) and the root key.")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
def keys_list(as_json):
    """Every key with its state (root, pending, active, retiring, expired, superseded, compromised)."""
    rows = key_service.listing(now())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    fmt = "%Y-%m-%d %H:%M:%S"
    click.echo(f"{'kid':<24} {'role':<8} {'state':<11} {'activates (UTC)':<20} {'signs until':<20} "
               f"{'published until':<20}")
    for r in rows:
        click.echo(f"{r['kid']:<24} {r['role']:<8} {r['state']:<11} {when(r['activates_at'], fmt):<20} "
                   f"{when(r['signs_until'], fmt):<20} "
                   f"{when(r['not_after'], fmt) if r['role'] == 'signing' else '-':<20}")


@keys.command("root")
@click.option("--json", "as_json", is_flag=True, help="Print the trust-root document and the thumbprint as JSON.")
def keys_root(as_json):
    """The root public key verifiers pin, as GET /api/v1/trust-root publishes it, and its RFC 7638 SHA-256
    thumbprint: read the thumbprint to integrators over a second channel (perkpass-verify --root-thumbprint)."""
    from partner_sdk.keys import load_public_key, root_thumbprint
    root = trust_service.root_jwk()
    doc = {"issuer": settings().issuer, "root_public_key": root}
    thumbprint = root_thumbprint(load_public_key(doc))
    if as_json:
        click.echo(json.dumps({**doc, "thumbprint": thumbprint}, indent=2))
        return
    click.echo(f"root key {root['kid']} of issuer {doc['issuer']}")
    click.echo(f"thumbprint (RFC 7638, SHA-256): {thumbprint}")
    click.echo(json.dumps(doc))


@keys.command("rotate")
@click.option("--activate-in", type=click.IntRange(min=0), default=None,
              help="Seconds between publishing the new key and its first signature "
                   "(default PERKPASS_KEY_ACTIVATION_DELAY).")
@click.option("--now", "at_once", is_flag=True, help="Activate at once (same as --activate-in 0).")
def keys_rotate(activate_in, at_once):
    """Publish a new signing key; the current key stops signing when it activates."""
    t = now()
    row = key_service.rotate(t, 0 if at_once else activate_in)
    tl = trust_service.current(t)
    click.echo(f"new signing key {row.kid}: published in trust list #{tl.sequence}, signs from "
               f"{when(row.activates_at, '%Y-%m-%d %H:%M:%S UTC')}")


@keys.command("retire")
@click.argument("kid")
@click.option("--force", is_flag=True, help="Allow retiring the only key that signs now.")
@click.option("--compromised", is_flag=True,
              help="Drop it from the trust list at once (its outstanding codes stop verifying).")
def keys_retire(kid, force, compromised):
    """Stop a signing key; it stays published until its last credential expired."""
    t = now()
    try:
        row = key_service.retire(kid, t, force=force, compromised=compromised)
    except key_service.KeyError_ as e:
        fail(str(e))
    tl = trust_service.current(t)
    click.echo(f"retired {row.kid}; published until {when(row.not_after, '%Y-%m-%d %H:%M:%S UTC')} "
               f"(trust list #{tl.sequence})")


@keys.command("compromise")
@click.argument("kid")
@click.option("--at", "at", default=None,
              help="Refuse its codes from this instant (epoch seconds or ISO 8601 UTC, default now; "
                   "earlier if the leak began earlier).")
def keys_compromise(kid, at):
    """Key-compromise drill: a new key signs at once, KID is marked compromised in an emergency trust
    list published now, and verifiers refuse every code KID signed from --at on (REVOKED)."""
    t = now()
    try:
        instant = parse_instant(at) if at else t
        row, new = key_service.compromise(kid, t, instant)
    except (key_service.KeyError_, ValueError) as e:
        fail(str(e))
    tl = trust_service.current(t)
    click.echo(f"compromised {row.kid}: every code it signed is refused from "
               f"{when(row.compromised_at, '%Y-%m-%d %H:%M:%S UTC')}")
    click.echo(f"signing now with {new.kid}" if new else "it was not signing; the active key is unchanged")
    click.echo(f"emergency trust list #{tl.sequence} published (kiosks take it on their next sync; "
               f"offline ones: `trust-list export` to a USB stick); the JWKS no longer lists {row.kid}")


@keys.command("rotate-root")
def keys_rotate_root():
    """Replace the root key: the old root announces the new one, which signs every trust list from now on."""
    t = now()
    row = key_service.rotate_root(t)
    tl = trust_service.current(t)
    click.echo(f"new root key {row.kid} (version {len(key_service.root_rows())}), announced by the previous "
               f"root; trust list #{tl.sequence} is signed by it and carries the root chain")


# ------------------------------------------------------------------ scores
scores = AppGroup("scores", help="Citizens' current scores.")


@scores.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def scores_import(path):
    """Import FILE.csv (- for standard input) with exactly the columns phone,citizen_id,scheme,score,reason,
    source_system: codes and numbers only. Any bad row refuses the whole file (its line and field are
    printed) and nothing is imported; the file is read twice (checked, then applied), never held in memory."""
    with _reopenable(path) as open_rows:
        try:
            with Progress(None, "checking") as progress:
                total = score_service.check_import(open_rows(), on_rows=progress.advance)
            with Progress(total, "importing") as progress:
                report = score_service.apply_import(open_rows(), now=now(), actor="cli", on_rows=progress.advance)
        except score_service.ImportRefused as refused:
            for where, problems in refused.details.items():
                for problem in problems:
                    click.echo(f"{where}: {problem}", err=True)
            fail(refused.message)
    click.echo(f"rows {report.rows}: imported {report.imported}, unchanged {report.unchanged}, "
               f"waiting for a reviewer {report.pending_review}, "
               f"skipped (not enrolled) {report.skipped_not_enrolled}")


@contextmanager
def _reopenable(path: str) -> Iterator[Callable[[], Iterator[tuple[int, dict[str, str]]]]]:
    """A function giving the file's rows afresh on each call (an import reads its file twice). Standard
    input is copied to a temporary file first, so memory stays flat whatever its size."""
    spooled: Path | None = None
    if path == "-":
        with tempfile.NamedTemporaryFile(prefix="perkpass-import-", suffix=".csv", delete=False) as spool:
            spooled = Path(spool.name)
            shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
        path = str(spooled)

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with open(path, encoding="utf-8-sig", newline="") as f:
            yield from score_service.read_csv(f)
    try:
        yield rows
    finally:
        if spooled is not None:
            spooled.unlink(missing_ok=True)


@scores.command("codes")
def scores_codes():
    """The reason codes and source systems an import may name, with their labels."""
    codes = import_codes()
    click.echo("reason codes (the reason column):")
    for r in codes.reasons.values():
        click.echo(f"  {r.code:<28} {r.label['en']} / {r.label['zh-CN']}")
    click.echo("source systems (the source_system column) and the schemes each may set:")
    for s in codes.sources.values():
        click.echo(f"  {s.code:<28} {s.label['en']} / {s.label['zh-CN']} [{', '.join(sorted(s.schemes))}]")


# ------------------------------------------------------------------ partners & venues
partners = AppGroup("partners", help="Partner organisations.")


@partners.command("create")
@click.argument("name")
@click.option("--contact", default=None, help="Who to call at the partner.")
def partners_create(name, contact):
    """Add a partner organisation."""
    p = call(partner_service.create_partner, name, now(), contact)
    click.echo(f"partner {p.id}: {p.name}")


@partners.command("list")
def partners_list():
    """Partners and their venues."""
    for p in db.session.scalars(select(Partner).order_by(Partner.id)):
        click.echo(f"partner {p.id}: {p.name}")
        for v in p.venues:
            click.echo(f"  venue {v.id}: {v.name} [{v.audience}] perks {', '.join(v.perk_codes)}"
                       + ("" if v.active else " (inactive)"))


venues = AppGroup("venues", help="Venues (one audience each).")


@venues.command("create")
@click.option("--partner", "partner_id", type=int, required=True, help="The partner's id.")
@click.option("--name", required=True)
@click.option("--audience", required=True, help="The type of venue (library, metro, hospital, …).")
@click.option("--perk", "perks", multiple=True, help="Perk code offered (repeat; default: all of the audience).")
def venues_create(partner_id, name, audience, perks):
    """Add a venue verifying one audience."""
    v = call(partner_service.create_venue, partner_id, name, audience, list(perks) or None, now())
    click.echo(f"venue {v.id}: {v.name} [{v.audience}] perks {', '.join(v.perk_codes)}")


@venues.command("enrolment-code")
@click.option("--venue", "venue_id", type=int, required=True)
@click.option("--ttl", type=click.IntRange(min=60), default=None, help="Seconds the code stays valid.")
def venues_code(venue_id, ttl):
    """Create a one-time kiosk enrolment code (shown once)."""
    code, row = call(partner_service.create_enrolment_code, venue_id, now(), ttl)
    click.echo(f"enrolment code for venue {venue_id}: {code} (expires {when(row.expires_at, '%Y-%m-%d %H:%M UTC')})")


# ------------------------------------------------------------------ kiosks
kiosk = AppGroup("kiosk", help="Kiosk devices.")


@kiosk.command("export-enrolment")
@click.option("--venue", "venue_id", type=int, required=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True)
def kiosk_export(venue_id, out_path):
    """Write the venue configuration (no device token) for a kiosk that is never online."""
    data = call(partner_service.export_enrolment, venue_id, now())
    Path(out_path).write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    click.echo(f"wrote {out_path} (venue {venue_id}, audience {data['venue']['audience']})")


@kiosk.command("list")
def kiosk_list():
    """Enrolled kiosks."""
    for d in db.session.scalars(select(Device).order_by(Device.id)):
        click.echo(f"{d.public_id} venue {d.venue_id} {d.name!r}" + (" REVOKED" if d.revoked_at else ""))


@kiosk.command("revoke")
@click.argument("device_id")
def kiosk_revoke(device_id):
    """Revoke a kiosk: its token answers 403 from now on."""
    d = call(partner_service.revoke_device, device_id, now())
    click.echo(f"revoked {d.public_id}")


# ------------------------------------------------------------------ operators
operators = AppGroup("operators", help="Operator API tokens.")


@operators.command("create-token")
@click.argument("name")
def op_create(name):
    """Create an operator API token and print it (shown once)."""
    click.echo(operator_service.create_token(name, now()))


@operators.command("list")
def op_list():
    """Operator tokens (ids and names, never the tokens)."""
    for r in operator_service.listing():
        click.echo(f"{r['id']}: {r['name']}" + (" (revoked)" if r["revoked_at"] else ""))


@operators.command("revoke")
@click.argument("token_id", type=int)
def op_revoke(token_id):
    """Revoke an operator token by its id."""
    if not operator_service.revoke(token_id, now()):
        fail("unknown token id")
    click.echo("revoked")


# ------------------------------------------------------------------ redemptions & trust list
redemptions = AppGroup("redemptions", help="Synced redemptions.")


@redemptions.command("replays")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def red_replays(as_json):
    """Codes accepted at more than one venue."""
    rows = redemption_service.replay_report()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no cross-venue replays")
    for r in rows:
        names = sorted({s["venue_name"] for s in r["scans"]})
        click.echo(f"jti {r['jti']}: {r['redemptions']} scans at {len(r['venues'])} venues ({', '.join(names)})")


trust = AppGroup("trust-list", help="The signed trust list.")


@trust.command("export")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True)
@click.option("--root-key-out", type=click.Path(dir_okay=False), default=None,
              help="Also write the root public key (JWK) verifiers pin.")
def trust_export(out_path, root_key_out):
    """Write the current signed trust list (and the root public key) for offline distribution."""
    for target in filter(None, (out_path, root_key_out)):  # both folders checked before either file is written
        if not Path(target).parent.is_dir():
            fail(f"[file] {target}: the folder {Path(target).parent} does not exist")
    row = trust_service.current(now())
    Path(out_path).write_text(row.jws, encoding="ascii")
    click.echo(f"wrote trust list #{row.sequence} to {out_path}")
    if root_key_out:
        Path(root_key_out).write_text(json.dumps(trust_service.root_jwk(), indent=2), encoding="ascii")
        click.echo(f"wrote root public key to {root_key_out}")


@trust.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one line of JSON.")
def trust_list_check(as_json):
    """Is the newest published trust list fresh? Exit 0 ok, 1 warning (past next_update), 2 critical
    (a venue type stops granting within 12 hours) or expired. Read-only: it never signs a list."""
    m = console_service.trust_monitor(now())
    if as_json:
        click.echo(json.dumps(m, sort_keys=True))
    else:
        click.echo(f"{m['level'].upper()}: {m['message']}")
    sys.exit(console_service.MONITOR_EXIT[m["level"]])


COMMANDS = (init_db_cmd, seed_demo_cmd, purge_cmd, retention, keys, scores, partners, venues, kiosk, operators,
            redemptions, trust, ledger_cli, console_cli)


def register_cli(app: Flask) -> None:
    for command in COMMANDS:
        guard_commands(command)  # a wrong passphrase or a missing folder: one line, never a traceback
        app.cli.add_command(command)
