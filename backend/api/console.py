"""The operator and reviewer console, ``/console/`` (issue 13).

Static page files in ``backend/static/console/`` (plain ES modules, no CDN, the same strict CSP as the
citizen page) and a JSON API under ``/console/api/`` that is not part of the public OpenAPI document: it is
for this page only, authenticated by a session cookie (HttpOnly, SameSite=Strict, path /console) plus a
CSRF header on every change. Roles: an ``operator`` sees the overview, kiosks, keys and trust list,
replays and anomalies and manages accounts; a ``reviewer`` sees only the review queue. Every read of
personal data (review cases, the replay report's pseudonyms) and every change is written to the
append-only audit log with the account.
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path

import werkzeug.exceptions
from flask import Blueprint, Response, abort, g, jsonify, redirect, request, send_from_directory

from ..http.errors import APIError
from ..extensions import client_address, limiter
from ..http.log import event
from ..schemas.console import AccountIn, DecisionIn, EnrolmentCodeIn, LoginIn, PasswordIn
from ..services import console as console_service
from ..services import console_auth
from ..services import console_charts as charts
from ..services.ledger import CaseStatus
from .app_page import SECURITY_HEADERS, TYPES
from .common import config_limit, json_body, load, now

bp = Blueprint("console", __name__)
log = logging.getLogger("perkpass.console")
STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "console"
COOKIE = "pp_console"
CSRF_HEADER = "X-CSRF-Token"


def _secure(resp, cache: str = "no-cache"):
    for k, v in SECURITY_HEADERS.items():
        resp.headers[k] = v
    resp.headers["Cache-Control"] = cache
    return resp


# ------------------------------------------------------------------------------------------ pages

@bp.get("/console")
def console_redirect():
    return _secure(redirect("/console/", code=308))


@bp.get("/console/")
def console_index():
    return _secure(send_from_directory(STATIC_DIR, "index.html", mimetype="text/html", max_age=0))


@bp.get("/console/<path:filename>")
def console_file(filename: str):
    suffix = Path(filename).suffix.lower()
    if filename.startswith(("api/", ".")) or "/." in filename or suffix not in TYPES:
        abort(404)
    return _secure(send_from_directory(STATIC_DIR, filename, mimetype=TYPES[suffix], max_age=0))


# ------------------------------------------------------------------------------------------ session glue

def _json(obj, status: int = 200) -> Response:
    resp = jsonify(obj)
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    return _secure(resp, "no-store")


def _actor() -> str:
    return f"{g.console.account.role}:{g.console.account.username}"


def _audit(action: str, target_type: str, target_ref, details: dict, t: int) -> None:
    from ..extensions import db
    from ..services.ledger import audit
    acc = g.console.account
    audit(acc.role, f"console:{acc.username}", action, target_type, target_ref, details, t)
    db.session.commit()


def console_view(role: str | None = None, write: bool = False):
    """Require a live session (and ``role`` if given); a change also needs the CSRF header."""
    def deco(fn):
        @functools.wraps(fn)
        def view(**kwargs):
            t = now()
            s = console_auth.session_for_token(request.cookies.get(COOKIE), t)
            if s is None:
                raise APIError(401, "signed_out", "Sign in to the console.", {})
            if role is not None:
                console_auth.require_role(s, role)
            if write and not console_auth.csrf_ok(s, request.headers.get(CSRF_HEADER)):
                raise APIError(403, "csrf", "Reload the page: the form's security token is missing or old.", {})
            g.console = s
            return fn(t=t, **kwargs)
        return view
    return deco


def _body(schema):
    return load(schema, json_body())


def _lang() -> str:
    return "zh-CN" if (request.args.get("lang") or "").lower().startswith("zh") else "en"


# ------------------------------------------------------------------------------------------ sign-in

@bp.post("/console/api/login")
@limiter.limit(config_limit("login"), key_func=client_address)
def login():
    data = _body(LoginIn)
    t = now()
    s = console_auth.sign_in(data["username"], data["password"], data["code"], t)
    event(log, "console.signed_in", account=s.account.id, role=s.account.role)
    resp = _json({"account": {"username": s.account.username, "role": s.account.role}, "csrf": s.csrf})
    assert s.token is not None, "sign_in returns the new session's token"
    resp.set_cookie(COOKIE, s.token, max_age=int(s.row.expires_at - t), path="/console", httponly=True,
                    samesite="Strict", secure=request.is_secure)
    return resp


@bp.get("/console/api/session")
@console_view()
def session_info(t):
    acc = g.console.account
    return _json({"account": {"username": acc.username, "role": acc.role},
                  "csrf": console_auth.new_csrf(g.console), "expires_at": g.console.row.expires_at})


@bp.post("/console/api/logout")
@console_view(write=True)
def logout(t):
    console_auth.sign_out(g.console, t)
    resp = _json({"signed_out": True})
    resp.delete_cookie(COOKIE, path="/console")
    return resp


@bp.post("/console/api/password")
@console_view(write=True)
def change_password(t):
    data = _body(PasswordIn)
    console_auth.change_password(g.console, data["old_password"], data["new_password"], t)
    return _json({"changed": True})


# ------------------------------------------------------------------------------------------ operator screens

def _days() -> int:
    try:
        return max(1, min(60, int(request.args.get("days", 14))))
    except ValueError:
        return 14


@bp.get("/console/api/overview")
@console_view("operator")
def overview(t):
    return _json(console_service.overview(t, _days()))


def _tz() -> int:
    """The viewer's UTC offset in minutes east (the page sends it), for the hours of the hourly chart."""
    try:
        return max(-14 * 60, min(14 * 60, int(request.args.get("tz", 0))))
    except ValueError:
        return 0


def _figures(t: int) -> charts.ChartFigures:
    return charts.ChartFigures(t, console_service.days_back(t, _days()), _tz())


@bp.get("/console/api/charts")
@console_view("operator")
def chart_list(t):
    """Every overview chart's legend, summary and data table (the text alternative of its SVG), from the same
    figures the SVGs are drawn from."""
    fig, lang = _figures(t), _lang()
    return _json({"charts": [charts.build(name, fig, lang).to_dict() for name in charts.NAMES]})


@bp.get("/console/api/reasons")
@console_view()
def reason_list(t):
    """Each refusal reason's label, severity and colour, for the page's tables."""
    return _json(charts.reasons(_lang()))


@bp.get("/console/api/charts/<name>.svg")
@console_view("operator")
def chart(t, name):
    if name not in charts.NAMES:  # the URL names no chart: routing's not-found
        raise werkzeug.exceptions.NotFound("No such chart.")
    try:
        width = int(request.args["w"]) if "w" in request.args else None
    except ValueError:
        width = None
    svg = charts.build(name, _figures(t), _lang()).svg(width)
    resp = Response(svg, mimetype="image/svg+xml")
    return _secure(resp, "no-store")


@bp.get("/console/api/kiosks")
@console_view("operator")
def kiosks(t):
    return _json({"kiosks": console_service.kiosk_list(t), "venues": console_service.venue_list(),
                  "online_window": console_service.online_window()})


@bp.post("/console/api/venues/<int:venue_id>/enrolment-codes")
@console_view("operator", write=True)
def enrolment_code(t, venue_id):
    from ..services import partners as partner_service
    data = _body(EnrolmentCodeIn) if request.get_data() else {}
    ttl = data["ttl_hours"] * 3600 if data.get("ttl_hours") else None
    code, row = partner_service.create_enrolment_code(venue_id, t, ttl)
    _audit("console.enrolment_code_created", "venue", venue_id, {"code_id": row.id, "expires_at": row.expires_at}, t)
    return _json({"enrolment_code": code, "venue_id": venue_id, "expires_at": row.expires_at}, 201)


@bp.post("/console/api/kiosks/<device_id>/revoke")
@console_view("operator", write=True)
def revoke_kiosk(t, device_id):
    from ..services import partners as partner_service
    d = partner_service.revoke_device(device_id[:40], t)
    _audit("console.kiosk_revoked", "device", d.public_id, {"venue": d.venue_id}, t)
    event(log, "console.kiosk_revoked", device_id=d.public_id, account=g.console.account.id)
    return _json({"device_id": d.public_id, "revoked_at": d.revoked_at})


@bp.get("/console/api/keys")
@console_view("operator")
def keys(t):
    return _json(console_service.keys_view(t))


@bp.get("/console/api/replays")
@console_view("operator")
def replays(t):
    from ..services.redemptions import replay_report
    rows = replay_report(limit=100)
    # the report names pseudonyms (linkable within one venue type): a read of personal data
    _audit("console.read", "replay_report", "all", {"jtis": len(rows)}, t)
    return _json({"replays": rows, "anomalies": console_service.anomalies(t)})


@bp.get("/console/api/accounts")
@console_view("operator")
def accounts(t):
    return _json({"accounts": console_auth.list_accounts(t)})


@bp.post("/console/api/accounts")
@console_view("operator", write=True)
def create_account(t):
    data = _body(AccountIn)
    new = console_auth.create_account(data["username"], data["role"], t, actor=_actor())
    return _json({"account": console_auth.account_dict(new.account, t), "password": new.password,
                  "totp_secret": new.totp_secret, "otpauth_uri": new.otpauth_uri}, 201)


@bp.post("/console/api/accounts/<int:account_id>/disable")
@console_view("operator", write=True)
def disable_account(t, account_id):
    done = console_auth.disable_account(account_id, t, _actor(), by_account_id=g.console.account.id)
    return _json({"account": console_auth.account_dict(done, t)})


@bp.post("/console/api/accounts/<int:account_id>/unlock")
@console_view("operator", write=True)
def unlock_account(t, account_id):
    return _json({"account": console_auth.account_dict(console_auth.unlock_account(account_id, t, _actor()), t)})


# ------------------------------------------------------------------------------------------ reviewer screens

@bp.get("/console/api/review")
@console_view("reviewer")
def review_queue(t):
    status = CaseStatus.DECIDED if request.args.get("status") == CaseStatus.DECIDED else CaseStatus.OPEN
    cases = console_service.review_queue(t, status=status)
    _audit("console.read", "review_queue", status, {"cases": [c["id"] for c in cases][:200]}, t)
    return _json({"cases": cases, "status": status})


@bp.get("/console/api/review/<int:case_id>")
@console_view("reviewer")
def review_case(t, case_id):
    case = console_service.review_case(case_id, t)
    _audit("console.read", "ledger_case", case_id, {"event": case["event"]["id"]}, t)
    return _json(case)


@bp.post("/console/api/review/<int:case_id>/decision")
@console_view("reviewer", write=True)
def decide(t, case_id):
    from ..services import ledger
    data = _body(DecisionIn)
    reviewer = console_auth.reviewer_of(g.console)
    ledger.decide(case_id, reviewer, data["decision"], data["reason"], t)
    event(log, "console.case_decided", case_id=case_id, decision=data["decision"], account=g.console.account.id)
    return _json(console_service.review_case(case_id, t))



# ------------------------------------------------------------------------------------------ catalogue (four eyes)

def _catalogue_actor() -> str:
    """The person, as the catalogue's four-eyes check and its audit entries name them."""
    return f"console:{g.console.account.username}"


@bp.get("/console/api/catalogue")
@console_view("operator")
def catalogue(t):
    from ..services import ledger
    me = _catalogue_actor()
    decided = [c for c in ledger.catalogue_changes(None, limit=40) if c.status != "pending"][:20]
    return _json({"pending": [ledger.change_dict(c, me) for c in ledger.catalogue_changes()],
                  "decided": [ledger.change_dict(c, me) for c in decided],
                  "kinds": list(ledger.CATALOGUE_KINDS), "me": me})


@bp.post("/console/api/catalogue/changes")
@console_view("operator", write=True)
def catalogue_propose(t):
    from ..schemas.ledger import CatalogueChangeIn
    from ..services import ledger
    data = _body(CatalogueChangeIn)
    c = ledger.propose(data["kind"], data["code"], data["labels"], data["data"], _catalogue_actor(), t,
                       scope=data.get("scope") or "")
    event(log, "console.catalogue_proposed", change=c.id, kind=c.kind, account=g.console.account.id)
    return _json(ledger.change_dict(c, _catalogue_actor()), 201)


@bp.post("/console/api/catalogue/changes/<int:change_id>/<any(approve, reject):verb>")
@console_view("operator", write=True)
def catalogue_decide(t, change_id, verb):
    from ..services import ledger
    c = ledger.decide_change(change_id, verb == "approve", _catalogue_actor(), t)
    event(log, "console.catalogue_decided", change=c.id, status=c.status, account=g.console.account.id)
    return _json(ledger.change_dict(c, _catalogue_actor()))
