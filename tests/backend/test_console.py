"""The operator and reviewer console's API (issue 13): accounts with Argon2id + TOTP, lock-out, sessions that
expire, role separation, CSRF, the audit of reads and changes, kiosks' self-reports, the review queue and the
trust-list publication monitor. Real database (SQLite and PostgreSQL), real HTTP through the Flask app."""
from __future__ import annotations

import re
import time

import pytest

from backend.services import console_auth as ca


def NOW() -> int:
    return int(time.time())


PASSWORD = "correct horse battery staple"


class Console:
    """A browser of the console: cookie jar of the test client plus the CSRF token."""

    def __init__(self, app, h):
        self.app, self.h = app, h
        self.c = app.test_client()
        self.csrf = None

    def account(self, username, role, password=PASSWORD):
        new = ca.create_account(username, role, NOW(), password=password)
        return new.totp_secret

    def login(self, username, secret, password=PASSWORD, at=None, expect=200):
        code = ca.totp_now(secret, at or NOW())
        r = self.c.post("/console/api/login", json={"username": username, "password": password, "code": code})
        assert r.status_code == expect, r.json
        if expect == 200:
            self.csrf = r.json["csrf"]
        return r

    def get(self, path, expect=200, **kw):
        r = self.c.get("/console/api/" + path, **kw)
        assert r.status_code == expect, (path, r.status_code, r.data[:300])
        return r

    def post(self, path, body=None, expect=200, csrf=True):
        headers = {"X-CSRF-Token": self.csrf} if csrf and self.csrf else {}
        r = self.c.post("/console/api/" + path, json=body if body is not None else {}, headers=headers)
        assert r.status_code == expect, (path, r.status_code, r.json)
        return r


@pytest.fixture
def con(app, h):
    return Console(app, h)


def _audit(h, action=None):
    r = h.client.get("/api/v1/operator/ledger/audit", query_string={"limit": 500, **({"action": action} if action else {})},
                     headers=h.op())
    return r.json["entries"]


def test_rfc6238_test_vectors():
    # RFC 6238 appendix B, SHA-1 secret "12345678901234567890", 8 digits there; our 6 digits are its last six
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    for t, code8 in [(59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924"), (2000000000, "69279037")]:
        assert ca.totp_now(secret, t) == code8[-6:]
    assert ca.totp_match(secret, "287082", 59 + 30) == 1, "the previous step is accepted (clock drift)"
    assert ca.totp_match(secret, "287082", 59 + 90) is None, "two steps late: refused"
    assert ca.totp_match(secret, "28708", 59) is None and ca.totp_match(secret, "abcdef", 59) is None


def test_first_operator_from_the_cli_signs_in_with_password_and_totp(app, runner, con):
    out = runner.invoke(args=["console", "create-operator", "Ops.Lead", "--password-stdin"], input=PASSWORD + "\n")
    assert out.exit_code == 0, out.output
    secret = re.search(r"TOTP secret \(shown once; add it to an authenticator app\): ([A-Z2-7]+)", out.output).group(1)
    assert "otpauth://totp/" in out.output and PASSWORD not in out.output
    from backend.models.console import ConsoleAccount
    acc = ConsoleAccount.query.filter_by(username="ops.lead").one()
    assert acc.password_hash.startswith("$argon2id$") and secret not in acc.totp_secret, "hashed and sealed at rest"
    con.get("overview", expect=401)
    r = con.c.post("/console/api/login", json={"username": "ops.lead", "password": PASSWORD, "code": "000000"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_credentials"
    signed_in_at = NOW()
    r = con.login("ops.lead", secret, at=signed_in_at)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert r.json["account"] == {"username": "ops.lead", "role": "operator"}
    assert con.get("overview").json["kiosks"] == {"online": 0, "offline": 0, "revoked": 0}
    # the same code a second time (seen over a shoulder) does not open a second session
    other = Console(app, con.h)
    r = other.c.post("/console/api/login", json={"username": "ops.lead", "password": PASSWORD,  # the code used above
                                                 "code": ca.totp_now(secret, signed_in_at)})
    assert r.status_code == 401
    # a generated password when none is given; a weak one is refused
    out = runner.invoke(args=["console", "create-account", "rev.a", "--role", "reviewer"])
    assert out.exit_code == 0 and "password (shown once):" in out.output
    out = runner.invoke(args=["console", "create-operator", "weak.one", "--password-stdin"], input="short\n")
    assert out.exit_code != 0 and "12 to 256 characters" in out.output


def test_lock_out_after_five_failures_and_unlock(app, con, runner, monkeypatch):
    secret = con.account("li.wei", "operator")
    for _ in range(5):
        r = con.c.post("/console/api/login", json={"username": "li.wei", "password": "wrong password!!", "code": "123456"})
        assert r.status_code == 401
    r = con.c.post("/console/api/login", json={"username": "li.wei", "password": PASSWORD,
                                               "code": ca.totp_now(secret, NOW())})
    assert r.status_code == 423 and r.json["error"]["code"] == "account_locked" and int(r.headers["Retry-After"]) > 800
    # a wrong username looks exactly like a wrong password
    r = con.c.post("/console/api/login", json={"username": "nobody", "password": PASSWORD, "code": "123456"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_credentials"
    from backend.models.console import ConsoleAccount
    acc_id = ConsoleAccount.query.filter_by(username="li.wei").one().id
    assert runner.invoke(args=["console", "unlock", str(acc_id)]).exit_code == 0
    con.login("li.wei", secret, at=NOW() + 30)
    fails = [e for e in _audit(con.h, "console.sign_in_failed") if e["target"]["ref"] == str(acc_id)]
    assert len(fails) == 5 and fails[-1]["details"] == {"why": "password", "locked": True}


def test_sessions_expire_when_idle_and_at_their_absolute_end(app, con, monkeypatch):
    import backend.api.console as view
    secret = con.account("ops.one", "operator")
    t0 = NOW()
    monkeypatch.setattr(view, "now", lambda: t0)
    con.login("ops.one", secret, at=t0)
    monkeypatch.setattr(view, "now", lambda: t0 + 29 * 60)
    con.get("kiosks")
    monkeypatch.setattr(view, "now", lambda: t0 + 29 * 60 + 30 * 60 + 1)   # 30 min idle after the last request
    assert con.get("kiosks", expect=401).json["error"]["code"] == "signed_out"
    # absolute end: active every 20 minutes, still signed out after 12 hours
    monkeypatch.setattr(view, "now", lambda: t0 + 3600)
    con.login("ops.one", secret, at=t0 + 3600)
    t = t0 + 3600
    while t < t0 + 3600 + 12 * 3600 - 1200:
        t += 1200
        monkeypatch.setattr(view, "now", lambda t=t: t)
        con.get("kiosks")
    monkeypatch.setattr(view, "now", lambda: t0 + 3600 + 12 * 3600)
    con.get("kiosks", expect=401)
    # sign-out ends the session on the server (the old cookie is useless even if kept)
    monkeypatch.setattr(view, "now", lambda: t0 + 14 * 3600)
    con.login("ops.one", secret, at=t0 + 14 * 3600)
    cookie = con.c.get_cookie("pp_console", path="/console").value
    con.post("logout")
    con.c.set_cookie("pp_console", cookie, path="/console")
    con.get("kiosks", expect=401)


def test_roles_see_only_what_they_need_and_changes_need_the_csrf_token(app, con):
    op_secret = con.account("ops.two", "operator")
    rv_secret = con.account("rev.two", "reviewer")
    rev = Console(app, con.h)
    rev.login("rev.two", rv_secret)
    for path in ("overview", "kiosks", "keys", "replays", "accounts", "charts/activity.svg"):
        assert rev.get(path, expect=403).status_code == 403
    rev.get("review")
    con.login("ops.two", op_secret)
    assert con.get("review", expect=403).json["error"]["code"] == "forbidden"
    r = con.post("accounts", {"username": "new.rev", "role": "reviewer"}, expect=403, csrf=False)
    assert r.json["error"]["code"] == "csrf"
    out = con.post("accounts", {"username": "new.rev", "role": "reviewer"}, expect=201).json
    assert len(out["password"]) >= 12 and out["otpauth_uri"].startswith("otpauth://totp/")
    me = next(a for a in con.get("accounts").json["accounts"] if a["username"] == "ops.two")
    assert con.post(f"accounts/{me['id']}/disable", expect=409).json["error"]["code"] == "conflict"
    # disabling an account ends its sessions at once
    rv = next(a for a in con.get("accounts").json["accounts"] if a["username"] == "rev.two")
    con.post(f"accounts/{rv['id']}/disable")
    rev.get("review", expect=401)
    created = [e for e in _audit(con.h, "console.account_created") if e["details"]["username"] == "new.rev"]
    assert created[0]["actor"] == {"type": "operator", "ref": "console:ops.two"}


def test_a_reviewer_decides_a_dispute_with_a_reason_and_the_citizen_sees_it(app, con, h):
    from tests.backend.test_ledger import Ledger
    lg = Ledger(h)
    phone = "+8613800009001"
    tok = h.citizen(phone, {"moli": 680})
    prov = lg.provider()
    lg.one(prov, phone, "moli", "VOLUNTEER-SERVICE", 10)
    ev = lg.score(tok, "moli")["events"][0]
    lg.dispute(tok, ev["id"], "I never volunteered there; this is someone else's record.")
    secret = con.account("rev.chen", "reviewer")
    con.login("rev.chen", secret)
    cases = con.get("review").json["cases"]
    case = next(c for c in cases if c["event"]["id"] == ev["id"])
    assert case["statement"].startswith("I never") and case["rule"]["code"] == "VOLUNTEER-SERVICE"
    assert case["days_left"] in (9, 10) and case["deadline"] > NOW() + 9 * 86400
    detail = con.get(f"review/{case['id']}").json

    def values(x):  # every leaf value: the score compared as a value (timestamps may contain "690" by chance)
        if isinstance(x, dict):
            for k, v in x.items():
                yield k
                yield from values(v)
        elif isinstance(x, list):
            for v in x:
                yield from values(v)
        else:
            yield x
    leaves = list(values(detail))
    assert 680 not in leaves and 690 not in leaves and not any("score" in str(k) for k in leaves), "no score"
    assert phone not in str(detail), "no phone number"
    r = con.post(f"review/{case['id']}/decision", {"decision": "reverse", "reason": "short"}, expect=400)
    assert "reason" in r.json["error"]["fields"]
    out = con.post(f"review/{case['id']}/decision",
                   {"decision": "reverse", "reason": "The volunteer centre has no record of this person."}).json
    assert out["status"] == "decided" and out["reviewer"] == "console:rev.chen"
    con.post(f"review/{case['id']}/decision", {"decision": "confirm", "reason": "Changed my mind on this."}, expect=409)
    mine = next(e for e in lg.score(tok, "moli")["events"] if e["id"] == ev["id"])
    assert mine["status"] == "reversed" and mine["case"]["decision_reason"].startswith("The volunteer centre")
    reads = [e for e in _audit(h, "console.read") if e["actor"]["ref"] == "console:rev.chen"]
    assert {e["target"]["type"] for e in reads} == {"review_queue", "ledger_case"}, "every read of a case is audited"
    decided = [e for e in _audit(h, "case.decided") if e["actor"]["ref"] == "console:rev.chen"]
    assert decided and decided[0]["details"]["decision"] == "reverse"
    assert h.client.get("/api/v1/operator/ledger/audit/verify", headers=h.op()).json["ok"]


def test_kiosk_reports_show_on_the_kiosks_screen_and_in_the_overview(app, con, h):
    vid = h.venue("Gulou Metro Gate 3", "metro")
    enrolled = h.enrol(vid, "gate 3 left")
    dev = h.bearer(enrolled["device_token"])
    today = time.strftime("%Y-%m-%d", time.gmtime())
    report = {"app_version": "0.2.0", "pending": 4,
              "trust_list": {"seq": 7, "issued_at": NOW() - 3600, "next_update": NOW() + 82800},
              "scans": [{"day": today, "counts": {"GRANTED": 30, "EXPIRED": 5, "REPLAYED": 2}}]}
    r = h.client.post("/api/v1/kiosk/report", json=report, headers=dev)
    assert r.status_code == 200 and r.json == {"stored": 3}
    report["scans"][0]["counts"]["EXPIRED"] = 6      # a later report of the same day replaces, never adds
    assert h.client.post("/api/v1/kiosk/report", json=report, headers=dev).status_code == 200
    for bad in ({"scans": [{"day": "yesterday", "counts": {}}]}, {"scans": [{"day": today, "counts": {"x": 1}}]},
                {"pending": -1}, {"extra": 1}, {"scans": [{"day": today, "counts": {"EXPIRED": "many"}}]}):
        r = h.client.post("/api/v1/kiosk/report", json=bad, headers=dev)
        assert r.status_code == 400 and r.json["error"]["code"] == "validation_error", bad
    assert h.client.post("/api/v1/kiosk/report", json=report).status_code == 401
    secret = con.account("ops.k", "operator")
    con.login("ops.k", secret)
    k = next(x for x in con.get("kiosks").json["kiosks"] if x["device_id"] == enrolled["device_id"])
    assert k["online"] and k["app_version"] == "0.2.0" and k["pending"] == 4 and k["venue"]["name"] == "Gulou Metro Gate 3"
    assert k["trust_list"]["seq"] == 7 and k["trust_list"]["policy_state"] == "fresh"
    ov = con.get("overview").json
    assert ov["refusals"]["by_reason"] == {"EXPIRED": 6, "REPLAYED": 2} and ov["refusals"]["by_audience"] == {"metro": 8}
    svg = con.get("charts/refusals-by-reason.svg?lang=zh-CN")
    text = svg.get_data(as_text=True)
    assert svg.mimetype == "image/svg+xml" and "按原因的拒绝" in text and "二维码过期 · 不适用于此时此地: 6" in text
    assert 'data-category="EXPIRED" data-value="6"' in text and 'data-category="REPLAYED" data-value="2"' in text
    assert "script" not in svg.get_data(as_text=True).lower()
    # enrolment code, then revoke: the kiosk is refused at once
    code = con.post(f"venues/{vid}/enrolment-codes", expect=201).json
    assert re.match(r"^[A-Z0-9-]{8,}$", code["enrolment_code"])
    con.post(f"kiosks/{enrolled['device_id']}/revoke")
    assert h.client.post("/api/v1/kiosk/report", json=report, headers=dev).status_code == 403
    assert next(x for x in con.get("kiosks").json["kiosks"] if x["device_id"] == enrolled["device_id"])["revoked"]
    assert [e["action"] for e in _audit(h) if e["action"].startswith("console.kiosk")] == ["console.kiosk_revoked"]


def test_codes_issued_are_counted_per_venue_type(app, con, h):
    tok = h.citizen("+8613800009002", {"moli": 700})
    h.issue(tok, "metro")
    h.issue(tok, "metro")
    secret = con.account("ops.i", "operator")
    con.login("ops.i", secret)
    ov = con.get("overview").json
    assert ov["totals"]["issued"] == 2 and sum(ov["issued"]["by_audience"]["metro"]) == 2


def test_anomalies_flag_a_kiosk_whose_refusal_rate_jumps(app, con, h):
    from backend.services.console import anomalies
    quiet, jumpy = (h.enrol(h.venue(n, "library"), n) for n in ("Quiet Library", "Jumpy Library"))
    now = NOW()
    days = [time.strftime("%Y-%m-%d", time.gmtime(now - 86400 * i)) for i in range(4, -1, -1)]
    for enrolled, last in ((quiet, {"GRANTED": 95, "EXPIRED": 5}), (jumpy, {"GRANTED": 40, "BAD_SIGNATURE": 60})):
        scans = [{"day": d, "counts": {"GRANTED": 95, "EXPIRED": 5}} for d in days[:-1]] + [{"day": days[-1], "counts": last}]
        r = h.client.post("/api/v1/kiosk/report", json={"scans": scans}, headers=h.bearer(enrolled["device_token"]))
        assert r.status_code == 200
    found = anomalies(now)
    assert [a["device_id"] for a in found] == [jumpy["device_id"]]
    assert found[0]["rate"] == 0.6 and found[0]["baseline_rate"] == 0.05 and found[0]["reasons"] == {"BAD_SIGNATURE": 60}
    secret = con.account("ops.a", "operator")
    con.login("ops.a", secret)
    assert con.get("replays").json["anomalies"][0]["name"] == "Jumpy Library"
    assert [e for e in _audit(h, "console.read") if e["target"]["type"] == "replay_report"], "pseudonyms read: audited"


def test_trust_list_check_exit_codes_at_each_level(app, runner, monkeypatch):
    import backend.cli.commands as cli
    from backend.models import TrustListVersion
    from backend.services.venue_types import get_venue_types
    latest = TrustListVersion.query.order_by(TrustListVersion.sequence.desc()).first()
    nu = latest.issued_at + app.config["PERKPASS_TRUST_LIST_NEXT_UPDATE"]
    # the venue type of the registry with the shortest grace stops first
    first_stop = nu + min(t.grace_after_next_update for t in get_venue_types(app).types)
    for at, code, level in [(nu - 1, 0, "OK"), (nu, 1, "WARNING"), (first_stop - 43200 - 1, 1, "WARNING"),
                            (first_stop - 43200, 2, "CRITICAL"), (first_stop, 2, "EXPIRED")]:
        monkeypatch.setattr(cli, "now", lambda at=at: at)
        out = runner.invoke(args=["trust-list", "check"])
        assert out.exit_code == code and out.output.startswith(level), (at - nu, out.output)
    out = runner.invoke(args=["trust-list", "check", "--json"])
    assert '"level": "expired"' in out.output and TrustListVersion.query.count() == 1, "the check never signs"


def test_console_pages_carry_the_strict_csp(app):
    c = app.test_client()
    r = c.get("/console/")
    assert r.status_code == 200 and "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in r.headers["Content-Security-Policy"] and r.headers["X-Frame-Options"] == "DENY"
    assert c.get("/console/js/console.js").mimetype == "text/javascript"
    assert c.get("/console/../app/index.html").status_code == 404
    assert c.get("/console/api/nothing").status_code in (401, 404, 405)
    html = r.get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html and "http" not in html.replace("http-equiv", "")
