"""The operator and reviewer console in a real browser (issue 13): sign-in with password and a TOTP code,
every screen in English and Chinese on a desktop and a phone, charts drawn by the server, a kiosk revoked,
an account created, and a reviewer deciding a dispute that the citizen then reads on /app/."""
from __future__ import annotations

import os
import shutil
import time

import requests

from .conftest import DOCS_SHOTS
from .test_citizen_page import new_phone, operator, sign_up

PASSWORD = "console browser test password"
SCREENS = ["overview", "kiosks", "keys", "replays", "catalogue", "accounts"]


def _account(server, username: str, role: str) -> str:
    from backend.extensions import db
    from backend.services import console_auth
    with server.app.app_context():
        secret = console_auth.create_account(username, role, int(time.time()), password=PASSWORD).totp_secret
        db.session.remove()
    return secret


def _code(secret: str) -> str:
    from backend.services.console_auth import totp_now
    return totp_now(secret, int(time.time()))


def _shot(target, name: str, tmp_path) -> None:
    path = tmp_path / f"console-{name}.png"
    target.screenshot(path=str(path), full_page=True)
    if os.environ.get("PERKPASS_UPDATE_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SHOTS / path.name)


def _sign_in(page, username: str, secret: str, password: str = PASSWORD) -> None:
    page.goto("/console/")
    page.wait_for_selector("#login-form")
    page.fill("#username", username)
    page.fill("#password", password)
    page.fill("#code", _code(secret))
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#nav a[aria-current=page]")


def _kiosk_with_counts(server, name: str) -> dict:
    venue = server.venue("library")
    code = operator(server, "POST", f"/api/v1/operator/venues/{venue['venue_id']}/enrolment-codes", json={})["enrolment_code"]
    kiosk = requests.post(server.base + "/api/v1/kiosk/enroll", json={"enrolment_code": code, "device_name": name},
                          timeout=10).json()
    today = time.strftime("%Y-%m-%d", time.gmtime())
    r = requests.post(server.base + "/api/v1/kiosk/report", headers={"Authorization": "Bearer " + kiosk["device_token"]},
                      json={"app_version": "0.1", "pending": 2,
                            "trust_list": {"seq": 1, "issued_at": int(time.time()) - 7200,
                                           "next_update": int(time.time()) + 79200},
                            "scans": [{"day": today, "counts": {"GRANTED": 41, "EXPIRED": 6, "REPLAYED": 2,
                                                                "WRONG_AUDIENCE": 3}}]}, timeout=10)
    assert r.status_code == 200, r.text
    return kiosk


def test_operator_signs_in_with_totp_and_sees_every_screen_in_both_languages(server, console_page, tmp_path):
    secret = _account(server, "ops.browser", "operator")
    kiosk = _kiosk_with_counts(server, "Library desk 1")
    doomed = _kiosk_with_counts(server, "Library desk 2 (stolen)")
    page = console_page()
    page.goto("/console/")
    page.wait_for_selector("#login-form")
    page.fill("#username", "ops.browser")
    page.fill("#password", PASSWORD)
    page.fill("#code", "000000")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "Wrong username, password or code." in page.inner_text("#login-error")
    _shot(page, "sign-in", tmp_path)
    page.fill("#code", _code(secret))
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#view[data-screen=overview] .stat")
    assert page.inner_text("#who").startswith("ops.browser")
    # the charts are SVG drawn by the server and loaded as images
    page.wait_for_function("() => [...document.querySelectorAll('figure.chart img')].every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("figure.chart img").count() == 6
    assert page.get_attribute("figure.chart img >> nth=0", "alt").startswith("Codes issued and grants per day")
    # (the overview's screenshots show the demo's fortnight: tests/browser/test_console_charts.py)

    for lang, title in (("en", {"overview": "Overview", "kiosks": "Kiosks", "keys": "Keys and trust list",
                                 "replays": "Replays and anomalies", "catalogue": "Catalogue", "accounts": "Accounts"}),
                        ("zh-CN", {"overview": "概览", "kiosks": "核验终端", "keys": "密钥与信任列表",
                                   "replays": "重放与异常", "catalogue": "目录", "accounts": "账户"})):
        if lang == "zh-CN":
            page.click("#lang")
            page.wait_for_selector("#view[data-lang=zh-CN]")
        for screen in SCREENS:
            page.click(f"#nav a[href='#/{screen}']")
            page.wait_for_selector(f"#view[data-screen={screen}][data-lang={lang}] h1")
            assert page.inner_text("#view h1").startswith(title[screen]), (lang, screen)
            assert page.get_attribute(f"#nav a[href='#/{screen}']", "aria-current") == "page"
            if screen == "overview":
                continue
            _shot(page, f"{screen}-zh" if lang == "zh-CN" else screen, tmp_path)
    page.click("#lang")
    page.wait_for_selector("#view[data-lang=en]")

    # kiosks: the reported state is shown, an enrolment code is made, a kiosk is revoked
    page.click("#nav a[href='#/kiosks']")
    row = page.locator(f"tr[data-device='{kiosk['device_id']}']")
    row.wait_for()
    assert "Library desk 1" in row.inner_text() and "online" in row.inner_text() and "#1" in row.inner_text()
    page.click("#enrol-form button[type=submit]")
    page.wait_for_selector("#enrol-code")
    assert len(page.inner_text("#enrol-code")) >= 8
    page.click(f"tr[data-device='{doomed['device_id']}'] button")
    page.wait_for_selector(f"tr[data-device='{doomed['device_id']}'] .pill.bad")
    r = requests.post(server.base + "/api/v1/kiosk/report", json={"pending": 0},
                      headers={"Authorization": "Bearer " + doomed["device_token"]}, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_revoked"

    # keys: the monitor says the list is fresh; the policy table lists venue types
    page.click("#nav a[href='#/keys']")
    page.wait_for_selector("#monitor .notice.ok")
    assert page.locator("#policy tbody tr").count() >= 8

    # accounts: a reviewer account, its one-time password and TOTP secret shown once
    page.click("#nav a[href='#/accounts']")
    page.fill("#new-user", "rev.made.in.browser")
    page.click("#account-form button[type=submit]")
    page.wait_for_selector("#new-secret")
    assert len(page.inner_text("#new-password")) >= 12 and len(page.inner_text("#new-secret")) == 32

    # signing out ends the session on the server
    page.click("#logout")
    page.wait_for_selector("#login-form")
    page.goto("/console/#/kiosks")
    page.wait_for_selector("#login-form")


def test_a_reviewer_decides_a_dispute_and_the_citizen_sees_the_outcome(server, console_page, make_page, tmp_path):
    # a citizen disputes a record (through the API; the citizen page's own dispute is tested elsewhere)
    citizen_page, _w = make_page("en")
    phone = new_phone()
    sign_up(citizen_page, phone)
    token = citizen_page.evaluate("JSON.parse(localStorage.getItem('perkpass.session')).token")
    operator(server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 685,
        "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    suffix = phone[-6:]
    from .test_ledger_page import approved_provider
    prov = approved_provider(server, f"fz-vol-{suffix}", "Gulou Volunteer Centre", "GL-VOL-######")
    r = requests.post(server.base + "/api/v1/provider/events", headers={"Authorization": "Bearer " + prov}, timeout=10,
                      json={"events": [{"reference": f"GL-VOL-{suffix}", "phone": phone, "scheme": "moli",
                                        "rule": "VOLUNTEER-SERVICE", "points": 10,
                                        "occurred_at": int(time.time()) - 86400}]})
    assert r.status_code == 200, r.text
    auth = {"Authorization": "Bearer " + token}
    ev = next(e for e in requests.get(server.base + "/api/v1/me/score/moli", headers=auth, timeout=10).json()["events"]
              if e["kind"] == "point")
    r = requests.post(server.base + f"/api/v1/me/score/events/{ev['id']}/dispute", headers=auth, timeout=10,
                      json={"statement": f"I was in Xiamen that weekend (trip GL-VOL-{suffix}); this is not my volunteer record."})
    assert r.status_code == 201, r.text

    # the reviewer, on a phone, in Chinese
    secret = _account(server, f"rev.{suffix}", "reviewer")
    page = console_page(390, 844, mobile=True)
    _sign_in(page, f"rev.{suffix}", secret)
    assert page.locator("#nav a").count() == 1, "a reviewer sees the review queue only"
    card = page.locator(f"article.case:has-text('GL-VOL-{suffix}')")
    card.wait_for()
    text = card.inner_text()
    assert "I was in Xiamen that weekend" in text and "VOLUNTEER-SERVICE" in text and "days left" in text
    assert "685" not in text and phone not in text
    page.click("#lang")
    page.wait_for_selector("#view[data-lang=zh-CN] article.case")
    card = page.locator(f"article.case:has-text('GL-VOL-{suffix}')")
    assert "市民的陈述" in card.inner_text() and "剩余" in card.inner_text()
    _shot(page, "review-zh", tmp_path)
    page.click("#lang")
    page.wait_for_selector("#view[data-lang=en] article.case")   # the form is drawn anew: fill the new one
    card = page.locator(f"article.case:has-text('GL-VOL-{suffix}')")
    card.locator("input[value=reverse]").check()
    card.locator("textarea").fill("too short")
    assert card.locator("textarea").evaluate("t => !t.checkValidity()"), "a reason of at least 10 characters"
    card.locator("textarea").fill("The volunteer centre's sign-in sheet has no entry for this citizen.")
    _shot(page, "review", tmp_path)
    card.locator("button[type=submit]").click()
    page.wait_for_selector(f"article.case:has-text('GL-VOL-{suffix}')", state="detached")
    page.click("#view button[aria-pressed=false]")   # the "Decided" tab
    decided = page.locator(f"article.case:has-text('GL-VOL-{suffix}')")
    decided.wait_for()
    assert "reverse" in decided.inner_text() and f"console:rev.{suffix}" in decided.inner_text()

    # the citizen reads the outcome on /app/ (the page's existing ledger view)
    citizen_page.goto("/app/#/score/moli")
    citizen_page.reload()
    citizen_page.wait_for_selector(".ledger-item[data-status=reversed]")
    assert ("The volunteer centre's sign-in sheet has no entry for this citizen."
            in citizen_page.locator(".ledger-item[data-status=reversed]").inner_text())
