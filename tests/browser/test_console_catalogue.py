"""The catalogue's four eyes in a real browser (issue 19): one operator proposes a new point rule in the
console, sees it waiting with no way to approve it themselves; a second operator sees it pending, approves it,
and from then on a provider can send events of that rule and the citizen reads its title."""
from __future__ import annotations

import time

from .test_console import _account, _sign_in


def test_a_second_operator_approves_a_proposed_rule_in_the_console(server, console_page):
    proposer, approver = _account(server, "ops.proposer", "operator"), _account(server, "ops.approver", "operator")
    page = console_page()
    _sign_in(page, "ops.proposer", proposer)
    page.goto("/console/#/catalogue")
    page.wait_for_selector("#view[data-screen=catalogue] #catalogue-form")
    page.select_option("#cat-kind", "rule")
    page.fill("#cat-code", "TREE-PLANTING")
    page.fill("#cat-scope", "moli")
    page.fill("#cat-en", "Planted a tree on the city's planting day")
    page.fill("#cat-zh", "参加城市植树日植树")
    page.fill("#cat-data", '{"category": "volunteering", "min": 2, "max": 2}')
    page.click("#catalogue-form button[type=submit]")
    page.wait_for_selector("#catalogue-result .notice.ok")
    card = page.locator("article[data-change]", has_text="TREE-PLANTING")
    assert card.locator("[data-own]").count() == 1 and card.locator("[data-approve]").count() == 0
    assert "Planted a tree on the city's planting day · 参加城市植树日植树" in card.inner_text()

    from backend.services import ledger
    with server.app.app_context():
        assert ledger.get_point_rules().schemes["moli"].rules.get("TREE-PLANTING") is None, "not before approval"

    other = console_page()
    _sign_in(other, "ops.approver", approver)
    other.goto("/console/#/catalogue")
    other.wait_for_selector("#view[data-screen=catalogue]")
    assert other.inner_text("#pending-count") != "0"
    card = other.locator("article[data-change]", has_text="TREE-PLANTING")
    assert "console:ops.proposer" in card.inner_text() and "nothing (a new entry)" in card.inner_text()
    card.locator("[data-approve]").click()
    other.wait_for_function("() => !document.body.innerText.includes('Your own proposal') && "
                            "![...document.querySelectorAll('article[data-change] [data-approve]')].length")
    with server.app.app_context():
        ledger.invalidate_point_rules(server.app)
        rule = ledger.get_point_rules().schemes["moli"].rules["TREE-PLANTING"]
        assert (rule.min, rule.max, rule.title["zh-CN"]) == (2, 2, "参加城市植树日植树")
        from backend.extensions import db
        from backend.models import CatalogueChange
        change = db.session.query(CatalogueChange).filter_by(code="TREE-PLANTING").one()
        assert (change.status, change.proposed_by, change.decided_by) == ("approved", "console:ops.proposer",
                                                                           "console:ops.approver")
        actions = [e["action"] for e in ledger.audit_page(0, 500, target_type="catalogue_change")["entries"]
                   if e["target"]["ref"] == str(change.id)]
        assert actions == ["catalogue.proposed", "catalogue.approved"]
        db.session.remove()
    # the proposer's page, reloaded in Chinese, shows the decision in the history
    page.click("#lang")
    page.wait_for_selector("#view[data-screen=catalogue][data-lang=zh-CN]")
    assert "目录" in page.inner_text("h1") and "等待另一名运营人员批准" in page.inner_text("#view")
    time.sleep(0)  # nothing else waits
