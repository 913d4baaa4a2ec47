"""Accessibility of every screen of the citizen page, in English and Chinese: axe-core (vendored by
web/build.mjs into tests/browser/vendor/, never loaded from a CDN, never served with the page) reports no
serious or critical violation, landmarks have unique names, every control is a 44 px target, and names the
backend keeps in both languages (venues, data providers) and the source of an import read in Chinese."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import requests

from partner_sdk import Verifier

from .test_citizen_page import log_in, new_phone, operator, sign_up, trust

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")

# axe-core runs in the page through the DevTools protocol (page.evaluate), which the page's strict CSP does
# not govern; the experimental label-content-name-mismatch rule is switched on (speech control users say the
# words they see)
RUN = """async () => {
  const r = await axe.run(document, {rules: {"label-content-name-mismatch": {enabled: true}},
                                     resultTypes: ["violations"]});
  return r.violations.map(v => ({id: v.id, impact: v.impact,
                                 nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary)}));
}"""

# Every visible control at least 44 x 44 CSS px (WCAG 2.5.5), except links inside a sentence (the
# exception the criterion makes); a checkbox or radio button counts with the label that wraps it.
SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
    "a[href], button, summary, select, input:not([type=hidden]), [role=button]"))
  .map(e => ((e.type === "checkbox" || e.type === "radio") && e.closest("label")) || e)
  .filter(e => { const r = e.getBoundingClientRect();
                 return r.width > 0 && r.height > 0 && !e.closest("[hidden]") && !e.classList.contains("skip")
                        && !(e.tagName === "A" && e.closest("p")); })
  .filter(e => { const r = e.getBoundingClientRect(); return r.height < 44 || r.width < 44; })
  .map(e => (e.id ? "#" + e.id : e.tagName.toLowerCase() + "." + e.className) + " " +
            Math.round(e.getBoundingClientRect().width) + "x" + Math.round(e.getBoundingClientRect().height))"""


def check(page, screen: str) -> None:
    page.wait_for_timeout(150)  # let the screen's last paint settle (focus moves, live regions)
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE)
    found = page.evaluate(RUN)
    bad = [v for v in found if v["impact"] in ("serious", "critical") or v["id"] == "landmark-unique"]
    assert not bad, f"{screen}: {bad}"
    small = page.evaluate(SMALL_TARGETS)
    assert not small, f"{screen}: targets under 44 px: {small}"


def _redeemed_at_two_venues(server, phone: str) -> None:
    """A metro code of this citizen used at a gate, synced by the kiosk (for the history screen)."""
    code = requests.post(server.base + "/api/v1/auth/request-code", json={"phone": phone}, timeout=10).json()["dev_code"]
    token = requests.post(server.base + "/api/v1/auth/login", json={"phone": phone, "code": code},
                          timeout=10).json()["access_token"]
    cred = requests.post(server.base + "/api/v1/credentials", json={"audience": "metro"}, timeout=10,
                         headers={"Authorization": "Bearer " + token}).json()
    d = Verifier(trust(server), audience="metro").verify(cred["qr_text"])
    venue = server.venue("metro", "MOLI-METRO20")
    enrol_code = operator(server, "POST", f"/api/v1/operator/venues/{venue['venue_id']}/enrolment-codes",
                          json={})["enrolment_code"]
    kiosk = requests.post(server.base + "/api/v1/kiosk/enroll", timeout=10,
                          json={"enrolment_code": enrol_code, "device_name": "a11y gate"}).json()["device_token"]
    r = requests.post(server.base + "/api/v1/kiosk/redemptions", timeout=10, headers={"Authorization": "Bearer " + kiosk},
                      json={"redemptions": [{"id": str(uuid.uuid4()), "jti": d.jti, "pseudonym": d.pseudonym,
                                             "perk": "MOLI-METRO20", "scanned_at": int(time.time())}]})
    assert r.json()["accepted"] == 1, r.text


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_every_screen_passes_axe_with_44px_targets(make_page, server, locale):
    page, _ = make_page(locale=locale)
    page.goto("/app/")
    page.wait_for_selector("#go-join")
    check(page, "welcome")
    page.goto("/app/#/join")
    page.wait_for_selector("#consent-text")
    check(page, "join")
    page.goto("/app/#/login")
    page.wait_for_selector("#phone")
    check(page, "login")

    phone = server.citizen("office + metro 20%")["phone"]
    _redeemed_at_two_venues(server, phone)
    log_in(page, phone)
    check(page, "home")
    for route, ready in (("#/code/metro", "svg.qr-svg"), ("#/code/hospital", "#no-perk"),
                         ("#/history", "#history-list"), ("#/privacy", "#view h2"), ("#/devices", "#view h2"),
                         ("#/score/moli", ".ledger-list")):
        page.goto("/app/" + route)
        page.wait_for_selector(ready)
        check(page, route)
    page.goto("/app/#/privacy")
    page.wait_for_selector("#view h2")
    page.evaluate("localStorage.removeItem('perkpass.session')")
    page.goto("/app/#/session")
    page.wait_for_selector("#view h2")
    check(page, "session ended")


def test_names_and_sources_read_in_chinese(make_page, server):
    """Venue and provider names the backend keeps in Chinese, and the source of an import, are Chinese on a
    Chinese page (they stayed English before)."""
    page, _ = make_page(locale="zh-CN")
    phone = new_phone()
    sign_up(page, phone)
    operator(server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 690,
        "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    suffix = phone[-6:]
    from .test_ledger_page import approved_provider
    prov = approved_provider(server, f"fz-civil-{suffix}", "Fuzhou Civil Affairs Bureau", "FZ-VOL-######",
                             name_zh="福州市民政局")
    r = requests.post(server.base + "/api/v1/provider/events", headers={"Authorization": "Bearer " + prov}, timeout=10,
                      json={"events": [{"reference": f"FZ-VOL-{suffix}", "phone": phone, "scheme": "moli",
                                        "rule": "VOLUNTEER-SERVICE", "points": 3,
                                        "occurred_at": int(time.time()) - 86400}]})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    _redeemed_at_two_venues(server, phone)
    page.goto("/app/#/score/moli")
    page.wait_for_selector(".ledger-list")
    text = page.inner_text(".ledger-list")
    assert "来源：福州市民政局" in text and "来源：城市平台" in text
    assert "Fuzhou" not in text and "operator-api" not in text
    page.goto("/app/#/history")
    page.wait_for_selector("#history-list")
    assert "福州地铁1号线" in page.inner_text("#history-list") and "Dongjiekou" not in page.inner_text("#history-list")
    page.click("#lang")
    page.wait_for_selector("#history-list")
    assert "Dongjiekou" in page.inner_text("#history-list")
