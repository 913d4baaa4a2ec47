""""Why is my score this?" in a real browser: the explanation of every point, a dispute from the page
that freezes the record, and a reviewer's decision with its reason shown to the citizen."""
from __future__ import annotations

import time

import requests

from .test_citizen_page import new_phone, operator, sign_up


def approved_provider(server, code: str, name: str, reference_format: str, name_zh: str | None = None) -> str:
    """A provider whose catalogue entry (names, reference format) a second operator approved; its token."""
    body = {"code": code, "name": name, "schemes": ["moli"], "reference_format": reference_format}
    if name_zh:
        body["name_zh"] = name_zh
    token = operator(server, "POST", "/api/v1/operator/ledger/providers", json=body)["token"]
    from backend.extensions import db
    from backend.services import ledger
    with server.app.app_context():
        change = next(c for c in ledger.catalogue_changes() if c.kind == "provider" and c.code == code)
        ledger.decide_change(change.id, True, "operator:browser-second", int(time.time()))
        db.session.remove()
    return token


def _provider(server, code: str) -> str:
    return approved_provider(server, code, "Fuzhou Traffic Police", "FZ-TP-####-###")


def _reviewer(server, name: str) -> str:
    return operator(server, "POST", "/api/v1/operator/ledger/reviewers", json={"name": name})["token"]


def _send(server, token: str, events: list) -> dict:
    r = requests.post(server.base + "/api/v1/provider/events", json={"events": events},
                      headers={"Authorization": "Bearer " + token}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _event(phone, rule, points, reference):
    return {"reference": reference, "phone": phone, "scheme": "moli", "rule": rule, "points": points,
            "occurred_at": int(time.time()) - 86400}


def test_why_is_my_score_this_and_a_dispute_decided_by_a_person(server, make_page, shoot):
    page, _watch = make_page("en")
    phone = new_phone()
    sign_up(page, phone)
    operator(server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 685,
        "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    suffix = phone[-6:]
    prov = _provider(server, f"fz-police-{suffix}")
    rev = _reviewer(server, f"Reviewer {suffix}")
    _send(server, prov, [_event(phone, "SOCIAL-SECURITY-ONTIME", 1, "FZ-TP-2026-001"),
                         _event(phone, "OFFENCE-MINOR", -5, "FZ-TP-2026-777")])

    page.goto("/app/#/home")
    page.reload()  # the home view was drawn before the import
    page.wait_for_selector("#home-body[aria-busy=false] #why-moli")
    page.click("#why-moli")
    page.wait_for_selector("#ledger-body[aria-busy=false] .ledger-summary")
    assert page.url.endswith("#/score/moli")
    assert page.inner_text("[data-testid=ledger-score]") == "686"
    assert page.inner_text("[data-testid=formula]") == "Starting score 500 + 186 from the records that count = 686"
    assert page.inner_text("[data-testid=pending]") == "Waiting for a reviewer, not counted yet: −5 points."
    items = page.locator(".ledger-item")
    assert items.count() == 3  # offence (pending), social security (+1), the import
    pending = page.locator(".ledger-item[data-status=pending_review]")
    assert "Minor offence" in pending.inner_text() and "Fuzhou Traffic Police" in pending.inner_text()
    assert "FZ-TP-2026-777" not in pending.inner_text(), "the ledger keeps only the reference's keyed digest"
    assert "Does not count" in pending.inner_text()
    shoot(page, "ledger", full_page=True)

    # dispute the +1 from the page: it is under review and keeps counting until a reviewer decides
    good = page.locator(".ledger-item", has_text="Social security paid on time")
    good.locator(".dispute-btn").click()
    page.wait_for_selector("#dispute-dialog[open]")
    page.fill("#dispute-text", "short")
    page.click("#dispute-send")
    page.wait_for_selector("#dispute-notice .notice-error")
    page.fill("#dispute-text", "I paid no social security that month: I was between jobs.")
    page.click("#dispute-send")
    page.wait_for_selector("#ledger-flash .notice-info")
    page.wait_for_selector(".ledger-item[data-status=disputed]")
    assert page.inner_text("[data-testid=ledger-score]") == "686"
    disputed = page.locator(".ledger-item[data-status=disputed]")
    assert "I was between jobs" in disputed.inner_text() and disputed.locator(".dispute-btn").count() == 0
    assert "Under review" in disputed.inner_text() and page.locator("[data-testid=frozen]").count() == 0
    shoot(page, "ledger-disputed", full_page=True)

    # a reviewer reverses it with a written reason; the citizen reads the decision
    queue = requests.get(server.base + "/api/v1/reviewer/queue?reason=dispute",
                         headers={"Authorization": "Bearer " + rev}, timeout=10).json()
    case = next(c for c in queue["cases"] if c["event"]["category"] == "SOCIAL-SECURITY-ONTIME" and c["disputed"])
    r = requests.post(server.base + f"/api/v1/reviewer/cases/{case['id']}/decision",
                      json={"decision": "reverse", "reason": "The social security bureau found no payment that month."},
                      headers={"Authorization": "Bearer " + rev}, timeout=10)
    assert r.status_code == 200, r.text
    page.reload()
    page.wait_for_selector(".ledger-item[data-status=reversed]")
    reversed_item = page.locator(".ledger-item[data-status=reversed]")
    assert "The social security bureau found no payment that month." in reversed_item.inner_text()
    assert "reversed" in reversed_item.locator(".ledger-decision").inner_text()
    assert page.inner_text("[data-testid=ledger-score]") == "685"

    # the same view in Chinese
    page.click("#lang")
    page.wait_for_selector("#ledger-body[aria-busy=false] .ledger-summary")
    assert page.inner_text("h2.page-title") == "我的分数为什么是这样？"
    assert "经您的异议已撤销" in page.locator(".ledger-item[data-status=reversed]").inner_text()
    shoot(page, "ledger-zh", full_page=True)


def test_a_withdrawal_shows_the_catalogue_label_of_its_reason_in_the_page_language(server, make_page):
    page, _watch = make_page("en")
    phone = new_phone()
    sign_up(page, phone)
    operator(server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 650,
        "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    suffix = phone[-6:]
    prov = approved_provider(server, f"fz-wd-{suffix}", "Fuzhou Traffic Police", "FZ-TP-####-###")
    _send(server, prov, [_event(phone, "VOLUNTEER-SERVICE", 5, "FZ-TP-2026-555")])
    r = requests.post(server.base + "/api/v1/provider/withdrawals", json={"reference": "FZ-TP-2026-555",
                      "reason": "wrong-person"}, headers={"Authorization": "Bearer " + prov}, timeout=10)
    assert r.status_code == 200, r.text
    page.goto("/app/#/score/moli")
    page.wait_for_selector(".ledger-item[data-status=withdrawn]")
    item = page.locator(".ledger-item[data-status=withdrawn]")
    assert "Recorded for the wrong person" in item.inner_text()
    page.click("#lang")
    page.wait_for_function("() => document.body.innerText.includes('记录对象有误')")
