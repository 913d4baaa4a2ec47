"""Issue 22 item 10, the console as operators and reviewers meet it: the accounts table refreshes and says what
changed, its columns line up, it is usable on a phone (a short top bar, one card per account), and a decided
review reads as words in Chinese, not as API codes or scheme ids. Real Chromium, the real backend."""
from __future__ import annotations

import time

import requests

from .test_citizen_page import new_phone, operator, sign_up
from .test_console import _account, _shot, _sign_in
from .test_ledger_page import approved_provider


def test_accounts_refresh_after_a_change_and_line_up(server, console_page, tmp_path):
    secret = _account(server, "op.truth.desk", "operator")
    page = console_page()
    _sign_in(page, "op.truth.desk", secret)
    page.click("#nav a[href='#/accounts']")
    page.fill("#new-user", "rev.truth.desk")
    page.click("#account-form button[type=submit]")
    page.wait_for_selector("#new-secret")
    # every column of the table starts where its heading does (the actions cell was a flex box, not a cell)
    heads = page.locator("#account-table thead th")
    cells = page.locator("#account-table tbody tr[data-account='rev.truth.desk'] > *")
    assert heads.count() == cells.count() == 5
    for i in range(5):
        assert abs(heads.nth(i).bounding_box()["x"] - cells.nth(i).bounding_box()["x"]) < 1.5, i
    # a change shows at once, and says what happened
    row = page.locator("#account-table tr[data-account='rev.truth.desk']")
    assert "active" in row.inner_text()
    row.locator("button.danger").click()                 # the confirm() dialog is accepted by the fixture
    page.wait_for_selector("#account-result .notice.ok")
    assert "rev.truth.desk is disabled" in page.inner_text("#account-result")
    assert "disabled" in page.locator("#account-table tr[data-account='rev.truth.desk']").inner_text()
    assert page.locator("#account-table tr[data-account='rev.truth.desk'] button.danger").count() == 0
    _shot(page, "accounts", tmp_path)


def test_accounts_on_a_phone_short_bar_and_one_card_per_account(server, console_page, tmp_path):
    secret = _account(server, "op.truth.phone", "operator")
    _account(server, "rev.truth.phone", "reviewer")
    page = console_page(390, 844, mobile=True)
    _sign_in(page, "op.truth.phone", secret)
    bar = page.locator("header.topbar").bounding_box()
    assert bar["height"] <= 160, bar                     # it was 475 px of the phone's 844
    links = page.locator("#nav a").evaluate_all("as => as.map((a) => [a.offsetLeft, a.offsetWidth, a.scrollWidth])")
    for (x, w, sw), (nx, _nw, _nsw) in zip(links[:-1], links[1:], strict=True):
        assert x + w <= nx and sw <= w, links            # one row that scrolls, no link over another
    page.click("#nav a[href='#/accounts']")
    page.wait_for_selector("#account-table")
    wrap = page.locator("#account-table").evaluate("t => [t.scrollWidth, t.parentElement.clientWidth]")
    assert wrap[0] <= wrap[1] + 1, wrap                  # nothing to scroll sideways
    card = page.locator("#account-table tr[data-account='rev.truth.phone']")
    labels = card.locator("td[data-label]").evaluate_all(
        "tds => tds.map((td) => getComputedStyle(td, '::before').content)")
    assert labels == ['"Role · "', '"State · "', '"Last sign-in · "'], labels   # every value says what it is
    page.click("#lang")
    page.wait_for_selector("#view[data-lang=zh-CN] #account-table")
    assert page.locator("#account-table tr[data-account='rev.truth.phone'] td[data-label]").first.get_attribute(
        "data-label") == "角色"
    _shot(page, "accounts-phone-zh", tmp_path)
    page.click("#lang")
    page.wait_for_selector("#view[data-lang=en] #account-table")
    _shot(page, "accounts-phone", tmp_path)


def test_a_decided_case_reads_as_words_in_chinese(server, console_page, make_page, tmp_path):
    citizen, _w = make_page("en")
    phone = new_phone()
    sign_up(citizen, phone)
    token = citizen.evaluate("JSON.parse(localStorage.getItem('perkpass.session')).token")
    operator(server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 685,
        "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    suffix = phone[-6:]
    prov = approved_provider(server, f"truth-vol-{suffix}", "Gulou Volunteer Centre", "GL-VOL-######")
    r = requests.post(server.base + "/api/v1/provider/events", headers={"Authorization": "Bearer " + prov}, timeout=10,
                      json={"events": [{"reference": f"GL-VOL-{suffix}", "phone": phone, "scheme": "moli",
                                        "rule": "VOLUNTEER-SERVICE", "points": 10,
                                        "occurred_at": int(time.time()) - 86400}]})
    assert r.status_code == 200, r.text
    auth = {"Authorization": "Bearer " + token}
    ev = next(e for e in requests.get(server.base + "/api/v1/me/score/moli", headers=auth, timeout=10).json()["events"]
              if e["kind"] == "point")
    r = requests.post(server.base + f"/api/v1/me/score/events/{ev['id']}/dispute", headers=auth, timeout=10,
                      json={"statement": f"That weekend (trip GL-VOL-{suffix}) I was in Xiamen, not at the volunteer centre."})
    assert r.status_code == 201, r.text

    secret = _account(server, f"rev.zh.{suffix}", "reviewer")
    page = console_page(390, 844, mobile=True)
    _sign_in(page, f"rev.zh.{suffix}", secret)
    page.click("#lang")
    card = page.locator(f"article.case:has-text('GL-VOL-{suffix}')")
    page.wait_for_selector("#view[data-lang=zh-CN] article.case")
    assert "茉莉" in card.inner_text() and "moli" not in card.inner_text()     # the scheme by its name
    card.locator("input[value=reverse]").check()
    card.locator("textarea").fill("志愿服务中心的签到表上没有此市民的记录。")
    card.locator("button[type=submit]").click()
    page.wait_for_selector(f"article.case:has-text('GL-VOL-{suffix}')", state="detached")
    page.click("#view button[aria-pressed=false]")      # the "decided" tab
    decided = page.locator(f"article.case:has-text('GL-VOL-{suffix}')")
    decided.wait_for()
    said = decided.locator(".notice.ok").inner_text()
    assert "撤销，该记录不计分" in said and "reverse" not in said, said
    assert "moli" not in decided.inner_text()
    _shot(page, "review-decided-zh", tmp_path)
