"""``flask --app backend ledger ...``: point rules, data providers, reviewers, the review queue, decisions,
the audit log. The same services as the HTTP API (backend/services/ledger/). Documented in docs/backend.md
and docs/ledger.md; shared command-line bits in cli_common.py; added to the app by cli.register_cli."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup
from marshmallow import ValidationError
from sqlalchemy import select

from .cli_common import call, fail, now, read_text, when
from .extensions import db
from .ledger_demo import seed_ledger_demo
from .models import DataProvider, Reviewer
from .schemas.ledger import ProviderBatchIn
from .services import ledger

ledger_cli = AppGroup("ledger", help="Score ledger: point rules, data providers, reviewers, review queue, audit log.")


@ledger_cli.command("rules")
@click.option("--scheme", default=None, help="Only this scheme's rules.")
def rules_cmd(scheme):
    """Show the point rules (assets/point-rules/) and the forbidden data categories."""
    pr = ledger.get_point_rules()
    for code, sr in sorted(pr.schemes.items()):
        if scheme and code != scheme:
            continue
        click.echo(f"{code}: review {sr.review}, dispute window {sr.dispute_window_days} days, "
                   f"while disputed {sr.while_disputed}")
        for r in sr.rules.values():
            pts = f"{r.min:+d}" if r.fixed else f"{r.min:+d}..{r.max:+d}"
            click.echo(f"  {r.code:<28} {pts:>10}  {r.title['en']} / {r.title['zh-CN']}")
    click.echo("forbidden: " + ", ".join(c.code for c in pr.forbidden))


# ------------------------------------------------------------------ providers
providers = AppGroup("providers", help="Data providers (departments that send score events).")
ledger_cli.add_command(providers)


@providers.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--scheme", "schemes", multiple=True, required=True, help="Scheme it may send events for (repeat).")
@click.option("--category", "categories", multiple=True, help="Restrict to these point-rule codes (repeat).")
def providers_create(code, name, schemes, categories):
    """Create a provider and print its token (shown once, stored hashed)."""
    p, token = call(ledger.create_provider, code, name, list(schemes), now(), categories=list(categories) or None)
    click.echo(f"provider {p.code} ({p.name}) for {', '.join(p.schemes)}")
    click.echo(token)


@providers.command("list")
def providers_list():
    """Data providers, their schemes and categories, when each was last seen."""
    for p in db.session.scalars(select(DataProvider).order_by(DataProvider.id)):
        click.echo(f"{p.code:<28} {p.name} [{', '.join(p.schemes)}]"
                   + (f" categories {', '.join(p.categories)}" if p.categories else "")
                   + f" last seen {when(p.last_seen_at)}" + (" REVOKED" if p.revoked_at else ""))


@providers.command("revoke")
@click.argument("code")
def providers_revoke(code):
    """Revoke a provider's token (its events stay)."""
    p = call(ledger.revoke_provider, code, now())
    click.echo(f"revoked {p.code}")


@providers.command("rotate-token")
@click.argument("code")
def providers_rotate(code):
    """Give a provider a new token (the old one stops working)."""
    p, token = call(ledger.rotate_provider_token, code, now())
    click.echo(f"new token for {p.code}:")
    click.echo(token)


# ------------------------------------------------------------------ reviewers
reviewers = AppGroup("reviewers", help="Reviewers (people who decide disputes and pending negative events).")
ledger_cli.add_command(reviewers)


@reviewers.command("create")
@click.argument("name")
def reviewers_create(name):
    """Create a reviewer and print the token (shown once, stored hashed)."""
    r, token = call(ledger.create_reviewer, name, now())
    click.echo(f"reviewer {r.id}: {r.name}")
    click.echo(token)


@reviewers.command("list")
def reviewers_list():
    """Reviewers."""
    for r in db.session.scalars(select(Reviewer).order_by(Reviewer.id)):
        click.echo(f"{r.id}: {r.name}" + (" REVOKED" if r.revoked_at else ""))


@reviewers.command("revoke")
@click.argument("reviewer")
def reviewers_revoke(reviewer):
    """Revoke a reviewer (by name or id)."""
    r = call(ledger.revoke_reviewer, reviewer, now())
    click.echo(f"revoked reviewer {r.id}: {r.name}")


# ------------------------------------------------------------------ ingestion
@ledger_cli.command("ingest")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--provider", "provider_code", required=True, help="The provider the events come from.")
def ingest_cmd(path, provider_code):
    """Ingest a JSON batch ({"events": [...]}) as PROVIDER, exactly like POST /api/v1/provider/events."""
    try:
        raw = json.loads(read_text(path))
    except ValueError as e:
        fail(f"not JSON: {e}")
    if isinstance(raw, list):
        raw = {"events": raw}
    provider = call(ledger.provider_by_code, provider_code)
    call(ledger.screen_batch, provider, raw.get("events") if isinstance(raw, dict) else None, now())
    try:
        data = ProviderBatchIn().load(raw)
    except ValidationError as e:
        fail(f"[validation_error] {json.dumps(e.messages, ensure_ascii=False)}")
    result = call(ledger.ingest, provider, data["events"], now(), screened=True)
    for r in result.results:
        click.echo(f"{r['id']}: {r['status']}" + (f" ({r['event_status']})" if r["event_status"] else ""))
    c = result.counts()
    click.echo(f"accepted {c['accepted']}, duplicate {c['duplicate']}, conflict {c['conflict']}, "
               f"not enrolled {c['not_enrolled']}")


@ledger_cli.command("withdraw")
@click.argument("provider_event_id")
@click.option("--provider", "provider_code", required=True)
@click.option("--reason", required=True, help="Shown to the citizen (at least 10 characters).")
def withdraw_cmd(provider_event_id, provider_code, reason):
    """Withdraw a provider's event on its behalf (it stops counting at once)."""
    if len(reason.strip()) < 10:
        fail("write a reason of at least 10 characters")
    provider = call(ledger.provider_by_code, provider_code)
    out = call(ledger.withdraw, provider, provider_event_id, reason, now())
    click.echo(f"{out['id']}: {out['status']}")


# ------------------------------------------------------------------ review
def _case_line(c: dict) -> str:
    e = c["event"]
    kind = "DISPUTE" if c["disputed"] else "PENDING"
    return (f"case {c['id']:<5} {kind:<8} {e['scheme'] or '-':<10} {e['category'] or e['kind']:<24} "
            f"{e['points']:+5d}  from {e['source']['name']}  ref {e['reference'] or '-'}  "
            f"opened {when(c['opened_at'])}")


@ledger_cli.command("queue")
@click.option("--reason", type=click.Choice(["dispute", "pending_review"]), default=None)
@click.option("--scheme", default=None)
@click.option("--decided", is_flag=True, help="Show recently decided cases instead.")
@click.option("--limit", type=click.IntRange(1, 500), default=100)
@click.option("--json", "as_json", is_flag=True)
def queue_cmd(reason, scheme, decided, limit, as_json):
    """Cases waiting for a reviewer, oldest first."""
    cases = ledger.queue(reason=reason, scheme=scheme, status="decided" if decided else "open", limit=limit)
    if as_json:
        click.echo(json.dumps({"cases": cases, "counts": ledger.queue_counts()}, ensure_ascii=False, indent=2))
        return
    if not cases:
        click.echo("nothing to decide" if not decided else "no decided cases")
    for c in cases:
        click.echo(_case_line(c))
        if c["statement"]:
            click.echo(f"           citizen: {c['statement']}")
        if c["decision"]:
            click.echo(f"           {c['decision']} by {c['reviewer']}: {c['decision_reason']}")


@ledger_cli.command("show")
@click.argument("case_id", type=int)
def show_cmd(case_id):
    """One case in full."""
    click.echo(json.dumps(call(ledger.get_case, case_id), ensure_ascii=False, indent=2))


@ledger_cli.command("decide")
@click.argument("case_id", type=int)
@click.option("--confirm", "decision", flag_value="confirm", help="The event counts.")
@click.option("--reverse", "decision", flag_value="reverse", help="The event does not count.")
@click.option("--reason", required=True, help="Written reason, shown to the citizen (at least 10 characters).")
@click.option("--reviewer", "reviewer_ref", required=True, help="Your reviewer name or id (recorded in the audit log).")
def decide_cmd(case_id, decision, reason, reviewer_ref):
    """Decide a case as a named reviewer."""
    if decision is None:
        fail("choose --confirm or --reverse")
    reviewer = call(ledger.reviewer_by_ref, reviewer_ref)
    c = call(ledger.decide, case_id, reviewer, decision, reason, now())
    click.echo(f"case {c['id']}: {c['decision']} -> event {c['event']['id']} is now {c['event']['status']}")


# ------------------------------------------------------------------ audit & maintenance
@ledger_cli.command("audit")
@click.option("--after", type=click.IntRange(min=0), default=0)
@click.option("--limit", type=click.IntRange(1, 500), default=100)
@click.option("--json", "as_json", is_flag=True)
@click.option("--verify", is_flag=True, help="Check the hash chain instead of listing.")
def audit_cmd(after, limit, as_json, verify):
    """The append-only audit log (who changed what)."""
    if verify:
        out = ledger.verify_audit()
        if as_json:
            click.echo(json.dumps(out, indent=2))
        elif out["ok"]:
            click.echo(f"audit log intact: {out['entries']} entries")
        else:
            click.echo(f"audit log BROKEN at entry {out['broken_at']}: {out['problem']}")
        if not out["ok"]:
            sys.exit(1)
        return
    page = ledger.audit_page(after, limit)
    if as_json:
        click.echo(json.dumps(page, ensure_ascii=False, indent=2))
        return
    for e in page["entries"]:
        click.echo(f"{e['id']:>6} {when(e['at'])} {e['actor']['type']}:{e['actor']['ref']:<24} {e['action']:<24} "
                   f"{e['target']['type']}:{e['target']['ref']} {json.dumps(e['details'], ensure_ascii=False)}")
    if page["next_after"]:
        click.echo(f"... more: --after {page['next_after']}")


@ledger_cli.command("recompute")
def recompute_cmd():
    """Rebuild every cached score from the ledger (after changing a scheme's base or rules)."""
    out = ledger.recompute_all(now())
    click.echo(f"checked {out['checked']} memberships, changed {out['changed']}")


@ledger_cli.command("seed-demo")
def seed_demo_cmd():
    """Demo providers, a reviewer and events for the demo citizens (run `seed-demo` first)."""
    out = seed_ledger_demo(now())
    for code, token in out["provider_tokens"].items():
        click.echo(f"provider {code}: {token}")
    if out["reviewer_token"]:
        click.echo(f"reviewer {out['reviewer']}: {out['reviewer_token']}")
    for eid, status in out["events"]:
        click.echo(f"event {eid}: {status}")
    q = out["queue"]
    click.echo(f"review queue: {q['pending_review']} pending, {q['disputes']} disputes "
               "(flask --app backend ledger queue)")
