"""``flask --app backend ledger ...``: point rules, data providers, reviewers, the review queue, decisions,
the audit log. The same services as the HTTP API (backend/services/ledger/). Documented in docs/backend.md
and docs/ledger.md; shared command-line bits in common.py; added to the app by commands.register_cli."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup
from marshmallow import ValidationError
from sqlalchemy import select

from .common import call, fail, now, read_text, when
from ..extensions import db
from ..demo.ledger import seed_ledger_demo
from ..models import DataProvider, Reviewer
from ..schemas.ledger import ProviderEventIn
from ..services import ledger

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
@click.option("--name", required=True, help="English name (proposed for the catalogue).")
@click.option("--name-zh", default=None, help="Chinese name (proposed for the catalogue).")
@click.option("--reference-format", required=True, help="Its references: fixed capitals, digits, - and /, # for "
                                                        "each digit that varies (FZ-TP-####-######).")
@click.option("--scheme", "schemes", multiple=True, required=True, help="Scheme it may send events for (repeat).")
@click.option("--category", "categories", multiple=True, help="Restrict to these point-rule codes (repeat).")
def providers_create(code, name, name_zh, reference_format, schemes, categories):
    """Create a provider, print its token (shown once, stored hashed) and propose its catalogue entry; it
    sends nothing until a second operator approves the entry in the console."""
    p, token = call(ledger.create_provider, code, name, list(schemes), now(), categories=list(categories) or None,
                    name_zh=name_zh, reference_format=reference_format)
    click.echo(f"provider {p.code} for {', '.join(p.schemes)}: its catalogue entry waits for approval in the console")
    click.echo(token)


@providers.command("list")
def providers_list():
    """Data providers, their schemes and categories, when each was last seen."""
    for p in db.session.scalars(select(DataProvider).order_by(DataProvider.id)):
        click.echo(f"{p.code:<28} {p.name} [{', '.join(p.schemes)}]"
                   + ("" if ledger.catalogue_entry("provider", p.code) else " (catalogue entry not approved)")
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
INGEST_BATCH = 1000  # events per transaction, as the API's largest batch


def _field_errors(messages: dict) -> str:
    """``line N field: problem`` for a strict-schema refusal (``events.N.field``), without the refused values."""
    out = []
    for i, per in sorted(((k, v) for k, v in (messages.get("events") or {}).items() if isinstance(v, dict)),
                         key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0):
        for name, msgs in per.items():
            what = "unknown field" if msgs == ["Unknown field."] else "; ".join(map(str, msgs))
            out.append(f"event {int(i) + 1} field {name if what != 'unknown field' else '(not allowed)'}: {what}")
    for k, v in messages.items():
        if k != "events":
            out.append(f"{k}: {'; '.join(map(str, v)) if isinstance(v, list) else 'invalid'}")
    return "; ".join(out[:20]) or "invalid batch"


@ledger_cli.command("ingest")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--provider", "provider_code", required=True, help="The provider the events come from.")
def ingest_cmd(path, provider_code):
    """Ingest a JSON batch ({"events": [...]}) as PROVIDER, exactly like POST /api/v1/provider/events: the
    whole file is checked first (nothing stored when an event is refused), then recorded in batches."""
    from .progress import Progress
    try:
        raw = json.loads(read_text(path))
    except ValueError as e:  # a JSONDecodeError says where; a file that is not UTF-8 does not
        fail(f"not JSON: {e.msg} (line {e.lineno})" if isinstance(e, json.JSONDecodeError) else "not JSON")
    if isinstance(raw, list):
        raw = {"events": raw}
    if not isinstance(raw, dict) or set(raw) != {"events"} or not isinstance(raw["events"], list) or not raw["events"]:
        fail('[validation_error] the file is {"events": [...]} (or a list of events) and nothing else; '
             "nothing was stored")
    provider = call(ledger.provider_by_code, provider_code)
    try:
        events = ProviderEventIn(many=True).load(raw["events"])
    except ValidationError as e:
        fail(f"[validation_error] {_field_errors({'events': e.messages})}; nothing was stored")
    call(ledger.check_events, provider, events, now())  # all of the file, before anything is stored
    progress = Progress(len(events), "ingest", unit="events")
    results = []
    for i in range(0, len(events), INGEST_BATCH):
        part = events[i:i + INGEST_BATCH]
        results.extend(call(ledger.ingest, provider, part, now()).results)
        progress.advance(len(part))
    progress.done()
    c = ledger.IngestResult(results).counts()
    for r in results:
        click.echo(f"{r['reference']}: {r['status']}" + (f" ({r['event_status']})" if r["event_status"] else ""))
    click.echo(f"accepted {c['accepted']}, duplicate {c['duplicate']}, conflict {c['conflict']}, "
               f"not enrolled {c['not_enrolled']}")


@ledger_cli.command("withdraw")
@click.argument("reference")
@click.option("--provider", "provider_code", required=True)
@click.option("--reason", required=True, help="An approved withdrawal reason code (ledger catalogue list "
                                              "--kind reason_code); the citizen reads its label.")
def withdraw_cmd(reference, provider_code, reason):
    """Withdraw a provider's event, by its reference, on its behalf (it stops counting at once)."""
    provider = call(ledger.provider_by_code, provider_code)
    out = call(ledger.withdraw, provider, reference, reason, now())
    click.echo(f"{out['reference']}: {out['status']}")


# ------------------------------------------------------------------ catalogue
catalogue_cli = AppGroup("catalogue", help="The catalogue: rules, categories, providers, source systems and reason "
                                          "codes with their labels; changes take effect when a second operator "
                                          "approves them in the console.")
ledger_cli.add_command(catalogue_cli)


@catalogue_cli.command("list")
@click.option("--kind", type=click.Choice(list(ledger.CATALOGUE_KINDS)), default=None)
def catalogue_list(kind):
    """Approved entries."""
    for e in ledger.catalogue_entries(kind):
        scope = f"{e.scope}/" if e.scope else ""
        click.echo(f"{e.kind:<14} {scope}{e.code:<32} {e.labels['en']} / {e.labels['zh-CN']}"
                   + (f"  {json.dumps(e.data, ensure_ascii=False)}" if e.data else ""))


@catalogue_cli.command("pending")
def catalogue_pending():
    """Changes waiting for a second operator."""
    rows = ledger.catalogue_changes()
    if not rows:
        click.echo("no pending changes")
    for c in rows:
        click.echo(f"change {c.id:<5} {c.kind:<14} {(c.scope + '/') if c.scope else ''}{c.code:<32} "
                   f"{c.labels['en']} / {c.labels['zh-CN']}  proposed by {c.proposed_by} {when(c.proposed_at)}")


@catalogue_cli.command("propose")
@click.argument("kind", type=click.Choice(list(ledger.CATALOGUE_KINDS)))
@click.argument("code")
@click.option("--en", "label_en", required=True, help="English label.")
@click.option("--zh", "label_zh", required=True, help="Chinese label.")
@click.option("--scheme", default="", help="A rule's scheme.")
@click.option("--data", "data_json", default="{}", help='The kind\'s data as JSON, e.g. {"category": "traffic", '
                                                       '"min": -5, "max": -5} for a rule.')
@click.option("--by", "proposer", required=True, help="Your name (recorded; a different operator approves).")
def catalogue_propose(kind, code, label_en, label_zh, scheme, data_json, proposer):
    """Propose an entry or a change; it takes effect when a different operator approves it in the console."""
    try:
        data = json.loads(data_json)
    except ValueError:
        fail("--data is not JSON")
    c = call(ledger.propose, kind, code, {"en": label_en, "zh-CN": label_zh}, data, f"cli:{proposer}"[:64], now(),
             scope=scheme)
    click.echo(f"change {c.id} proposed: waits for a second operator's approval (console, Catalogue)")


# ------------------------------------------------------------------ review
def _case_line(c: dict) -> str:
    e = c["event"]
    kind = "DISPUTE" if c["disputed"] else "PENDING"
    return (f"case {c['id']:<5} {kind:<8} {e['scheme'] or '-':<10} {e['category'] or e['kind']:<24} "
            f"{e['points']:+5d}  from {e['source']['name']}  "
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
    from .progress import Progress
    progress = Progress(None, "recompute", unit="memberships")
    out = ledger.recompute_all(now(), on_progress=progress.advance)
    progress.done()
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
