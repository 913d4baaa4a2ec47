"""Accessibility of every console screen (issue 13), in English and Chinese: the same check as the citizen
page (axe-core reports no serious or critical violation, landmarks have unique names, every control is a
44 px target) on sign-in (with its error), overview, kiosks (with a fresh enrolment code), keys and trust
list, replays and anomalies, accounts (with a new account's secrets), and the review queue with an open case
and a decided one, on a desktop and on a phone."""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from .test_accessibility import check
from .test_citizen_page import operator
from .test_console import _account, _kiosk_with_counts, _sign_in

OPERATOR_SCREENS = ["overview", "kiosks", "keys", "replays", "catalogue", "accounts"]


def _switch_to(page, lang: str) -> None:
    if page.get_attribute("html", "lang") != lang:
        page.click("#lang")
    page.wait_for_selector(f"html[lang='{lang}']")


def _disputed_case(server) -> str:
    """A citizen's disputed ledger record, waiting in the review queue; returns its reference."""
    phone = server.citizen("office + metro 20%")["phone"]
    code = requests.post(server.base + "/api/v1/auth/request-code", json={"phone": phone}, timeout=10).json()["dev_code"]
    token = requests.post(server.base + "/api/v1/auth/login", json={"phone": phone, "code": code},
                          timeout=10).json()["access_token"]
    operator(server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 685,
        "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    suffix = str(uuid.uuid4().int)[:8]
    reference = "A11Y-" + suffix
    from .test_ledger_page import approved_provider
    prov = approved_provider(server, f"a11y-{suffix}", "Gulou Volunteer Centre", "A11Y-########")
    r = requests.post(server.base + "/api/v1/provider/events", headers={"Authorization": "Bearer " + prov}, timeout=10,
                      json={"events": [{"reference": reference, "phone": phone, "scheme": "moli",
                                        "rule": "VOLUNTEER-SERVICE", "points": 10,
                                        "occurred_at": int(time.time()) - 86400}]})
    assert r.status_code == 200, r.text
    auth = {"Authorization": "Bearer " + token}
    ev = next(e for e in requests.get(server.base + "/api/v1/me/score/moli", headers=auth, timeout=10).json()["events"]
              if e["kind"] == "point")
    # the ledger keeps no readable reference: the citizen's statement names it, so the reviewer's card shows it
    r = requests.post(server.base + f"/api/v1/me/score/events/{ev['id']}/dispute", headers=auth, timeout=10,
                      json={"statement": f"I was not in Fuzhou that weekend; record {reference} is not mine."})
    assert r.status_code == 201, r.text
    return reference


@pytest.mark.parametrize("lang,phone", [("en", False), ("zh-CN", False), ("en", True), ("zh-CN", True)])
def test_every_operator_screen_passes_axe_with_44px_targets(server, console_page, lang, phone):
    username = f"ops.a11y.{uuid.uuid4().hex[:8]}"
    secret = _account(server, username, "operator")
    _kiosk_with_counts(server, "Library desk a11y")
    page = console_page(390, 844, mobile=True) if phone else console_page()
    page.goto("/console/")
    page.wait_for_selector("#login-form")
    _switch_to(page, lang)
    check(page, "sign-in")
    page.fill("#username", username)
    page.fill("#password", "wrong password")
    page.fill("#code", "000000")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    check(page, "sign-in error")
    _sign_in(page, username, secret)
    _switch_to(page, lang)
    for screen in OPERATOR_SCREENS:
        page.click(f"#nav a[href='#/{screen}']")
        page.wait_for_selector(f"#view[data-screen={screen}][data-lang={lang}] h1")
        check(page, screen)
    # the states a screen is in after its action: an enrolment code shown, a new account's secrets shown,
    # the overview's table opened
    page.click("#nav a[href='#/kiosks']")
    page.wait_for_selector(f"#view[data-screen=kiosks][data-lang={lang}] #enrol-form")
    page.click("#enrol-form button[type=submit]")
    page.wait_for_selector("#enrol-code")
    check(page, "kiosks with an enrolment code")
    page.click("#nav a[href='#/accounts']")
    page.wait_for_selector(f"#view[data-screen=accounts][data-lang={lang}] #account-form")
    page.fill("#new-user", f"rev.a11y.{uuid.uuid4().hex[:8]}")
    page.click("#account-form button[type=submit]")
    page.wait_for_selector("#new-secret")
    check(page, "accounts with a new account")
    page.click("#nav a[href='#/overview']")
    page.wait_for_selector(f"#view[data-screen=overview][data-lang={lang}] details")
    page.click("#view details summary")
    check(page, "overview with its table open")


@pytest.mark.parametrize("lang,phone", [("en", False), ("zh-CN", False), ("en", True), ("zh-CN", True)])
def test_the_review_queue_and_a_case_pass_axe_with_44px_targets(server, console_page, lang, phone):
    reference = _disputed_case(server)
    username = f"rev.a11y.{uuid.uuid4().hex[:8]}"
    secret = _account(server, username, "reviewer")
    page = console_page(390, 844, mobile=True) if phone else console_page()
    _sign_in(page, username, secret)
    _switch_to(page, lang)
    card = page.locator(f"#view[data-lang={lang}] article.case:has-text('{reference}')")
    card.wait_for()
    check(page, "review queue with an open case")
    card.locator("input[value=confirm]").check()
    card.locator("textarea").fill("The centre's sign-in sheet shows this citizen on that day.")
    card.locator("button[type=submit]").click()
    page.wait_for_selector(f"article.case:has-text('{reference}')", state="detached")
    page.click("#view button[aria-pressed=false]")   # the "Decided" tab
    page.locator(f"article.case:has-text('{reference}')").wait_for()
    check(page, "review queue, decided")
