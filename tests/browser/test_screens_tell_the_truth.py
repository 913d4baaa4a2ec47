"""Issue 22, citizen page items 1-6: every screen says what is true in the states people meet — a phone going in
and out of signal, a second phone at the device limit, a clock that is off, a dispute. Real Chromium, the real
backend, real QR decode and the partner SDK where a claim is about what a gate will do."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from partner_sdk import Status, Verifier

from .conftest import Server
from .test_citizen_page import log_in, new_phone, operator, sign_up, trust
from .test_ledger_page import _event, _provider, _send
from .test_offline_codes import metro_citizen, show_offline_code, skew_clock

REPO = Path(__file__).resolve().parents[2]
APP_JS = REPO / "backend" / "static" / "app" / "js"
RAW_VALUE = re.compile(r"\b(null|undefined|NaN)\b|\[object |\{[a-z]+\}")


def assert_no_raw_values(page, where: str) -> None:
    text = page.inner_text("body")
    bad = [line for line in text.splitlines() if RAW_VALUE.search(line)]
    assert not bad, f"{where}: a missing value written out: {bad}"


# ---- item 1: a missing value never reaches the screen -------------------------------------------

def test_page_scripts_add_children_only_through_helpers_that_drop_missing_values():
    """The DOM's own append/replaceChildren/prepend/after write null as the text "null" (how "null" reached the
    code screen's perk list and the quick view): every child goes through h()/el() or fill/add/addFirst/addAfter,
    which leave missing values out. A call of the raw methods anywhere else fails here."""
    raw = re.compile(r"\.(append|replaceChildren|prepend|after|before)\(")
    found = []
    for path in sorted(APP_JS.glob("*.js")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if raw.search(line) and not re.match(r"\s*function (fill|add|addFirst|addAfter)\(", line):
                found.append(f"{path.name}:{n}: {line.strip()}")
    assert not found, found


def test_code_screen_and_quick_view_never_show_null(make_page, server, shoot):
    page, _ = make_page(locale="en-US")
    metro_citizen(page, server)
    assert_no_raw_values(page, "home with codes")
    page.context.set_offline(True)
    page.evaluate("localStorage.removeItem('perkpass.session')")    # the session ran out while offline
    page.goto("/app/#/code/metro")
    page.reload()
    page.wait_for_selector("svg.qr-svg[data-mode=pp2]")
    assert_no_raw_values(page, "offline code without a session")
    page.goto("/app/#/home")
    page.wait_for_selector("#quick-codes .quick-code")
    assert_no_raw_values(page, "quick view without a session")


# ---- item 2: the device limit -------------------------------------------------------------------

@pytest.fixture(scope="module")
def one_phone_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("browser-one-phone"), PERKPASS_MAX_HOLDER_DEVICES=1)
    yield srv
    srv.stop()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_at_the_device_limit_the_page_says_so_and_lets_the_citizen_remove_one(make_page, one_phone_server, shoot,
                                                                               locale):
    srv = one_phone_server
    first, _ = make_page(locale=locale, target=srv)
    phone = new_phone()
    sign_up(first, phone)
    operator(srv, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 713,
        "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    first.reload()
    first.wait_for_selector("#quick-codes #offline-ready")             # the first phone holds codes

    second, _ = make_page(locale=locale, target=srv)
    log_in(second, phone)
    second.wait_for_selector("#quick-codes #holder-full")              # refused (409): said, not silent
    text = second.inner_text("#holder-full")
    assert ("most phones allowed" in text) if locale == "en-US" else ("上限" in text)
    assert second.locator("#quick-codes #offline-ready").count() == 0  # and no promise of offline codes
    suffix = "" if locale == "en-US" else "-zh"
    shoot(second, f"device-limit{suffix}")
    second.click("#holder-full-devices")
    second.wait_for_selector("#devices-body[aria-busy=false] #device-list")
    assert second.locator("#devices-body #holder-full").count() == 1
    assert second.locator("li.device").count() == 1 and second.locator("li.device .you").count() == 0
    shoot(second, f"device-limit-devices{suffix}")
    item = second.locator("li.device").first
    item.locator("button").click()
    item.locator("button").click()                                     # a second tap confirms
    second.wait_for_selector("li.device .you")                         # this phone took its place
    assert second.locator("#devices-body #holder-full").count() == 0
    # and it really holds codes now: offline, the code screen shows one the SDK grants
    second.context.set_offline(True)
    second.goto("/app/#/code/metro")
    text, _ = show_offline_code(second, shoot, f"device-limit-offline-code{suffix}")
    assert Verifier(trust(srv), audience="metro").verify(text).status is Status.GRANTED


# ---- item 3: offline states say what the person can do ------------------------------------------

def test_offline_banner_says_until_when_codes_work_or_to_connect_once(make_page, server, shoot):
    page, _ = make_page(locale="en-US")
    metro_citizen(page, server)
    page.context.set_offline(True)
    page.goto("/app/#/home")
    page.reload()
    page.wait_for_selector("#offline:not([hidden])")
    banner = page.inner_text("#offline")
    assert "work without signal until" in banner and re.search(r"\d{1,2}:\d{2}", banner), banner
    shoot(page, "offline-banner-ready")

    # a day and more later, still offline, logged out by time: the codes have ended
    late = page.context.new_page()
    late.add_init_script(skew_clock(2 * 86_400))
    late.goto("/app/")
    late.wait_for_selector("#offline:not([hidden])")
    late.wait_for_selector("#home-body")
    assert late.get_attribute("#view", "data-view") == "home"          # never the welcome / join screen
    assert late.locator("#go-join").count() == 0
    banner = late.inner_text("#offline")
    assert "expired" in banner and "Connect to the internet once" in banner, banner
    assert "still work" not in late.inner_text("body")
    assert "Connect to the internet and log in once" in late.inner_text("#home-body")
    assert late.locator("#quick-codes .quick-code").count() == 0      # no button to a code a gate would refuse
    assert_no_raw_values(late, "a day offline")
    shoot(late, "offline-expired-home")


def test_offline_banner_on_a_phone_that_never_held_codes_says_to_connect(make_page, server):
    page, _ = make_page(locale="en-US")
    page.goto("/app/")
    page.wait_for_selector("#go-join")
    page.context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    page.wait_for_selector("#offline:not([hidden])")
    assert "no codes saved for use without signal" in page.inner_text("#offline")


# ---- item 4: the codes come with logging in -----------------------------------------------------

def test_offline_right_after_logging_in_still_has_a_code(make_page, server, shoot):
    page, _ = make_page(locale="en-US")
    phone = metro_citizen(page, server)
    page.click("#logout")                                      # a shared phone: logging out removes the codes
    page.wait_for_selector("#send-code")
    page.goto("/app/#/login")
    page.fill("#phone", phone)
    page.click("#send-code")
    page.wait_for_selector("#dev-code:not([hidden])")
    page.fill("#code", re.search(r"\b(\d{6})\b", page.inner_text("#dev-code")).group(1))
    page.click("#submit")
    page.wait_for_url(re.compile(r"#/home$"))
    page.context.set_offline(True)                             # into the metro the moment the home screen shows
    page.goto("/app/#/code/metro")
    text, _ = show_offline_code(page, shoot, "offline-right-after-login")
    assert Verifier(trust(server), audience="metro").verify(text).status is Status.GRANTED


def test_joining_a_scheme_brings_its_offline_codes_at_once(make_page, server):
    page, _ = make_page(locale="en-US")
    sign_up(page, new_phone())
    page.click("#no-schemes [data-scheme=rongcheng]")          # base 1000 = band A: deposit-free rental
    page.wait_for_selector("#quick-codes .quick-code[data-audience=rental]")
    page.wait_for_selector("#quick-codes #offline-ready")
    page.context.set_offline(True)
    page.goto("/app/#/code/rental")
    page.wait_for_selector("svg.qr-svg[data-mode=pp2]")


# ---- item 5: a clock that is off ------------------------------------------------------------------

def test_clock_off_is_explained_where_codes_are_and_what_it_says_is_what_gates_do(make_page, server, shoot):
    """Seven minutes slow: the home screen and the code screen say so, and that changing the clock before the
    next online visit makes gates refuse the codes. Both halves are checked with the partner SDK: the corrected
    code is granted; with the clock set right and no online visit since, the code is refused (CLOCK_SKEW)."""
    page, _ = make_page(locale="en-US")
    page.add_init_script(skew_clock(-7 * 60))            # this tab's clock; a new tab has it set right
    metro_citizen(page, server)
    page.wait_for_selector("#quick-codes #clock-skew")
    home_note = page.inner_text("#quick-codes #clock-skew")
    assert "7 min slow" in home_note and "If you change the clock" in home_note and "refuse" in home_note
    shoot(page, "clock-slow-home")
    page.context.set_offline(True)
    page.goto("/app/#/code/metro")
    page.wait_for_selector("#clock-status #clock-skew")
    text, _ = show_offline_code(page, shoot, "clock-slow-code")
    store = trust(server)
    assert Verifier(store, audience="metro").verify(text).status is Status.GRANTED
    fixed = page.context.new_page()                      # the clock set right, still no signal
    fixed.goto("/app/#/code/metro")
    stale, _ = show_offline_code(fixed, shoot, "clock-set-right-code")
    assert Verifier(store, audience="metro").verify(stale).status is Status.CLOCK_SKEW


def test_a_clock_put_back_since_the_last_online_visit_is_caught(make_page, server, shoot):
    """Seven minutes fast when last online, then set right (back) with no signal: the page can tell (the time is
    before its last online visit), says so, and shows no code a gate would refuse."""
    page, _ = make_page(locale="en-US")
    page.add_init_script(skew_clock(7 * 60))
    metro_citizen(page, server)
    page.wait_for_selector("#quick-codes #clock-skew")
    assert "7 min fast" in page.inner_text("#quick-codes #clock-skew")
    page.context.set_offline(True)
    fixed = page.context.new_page()
    fixed.goto("/app/#/code/metro")
    fixed.wait_for_selector("#clock-status #clock-skew")
    assert "clock has changed" in fixed.inner_text("#clock-status")
    fixed.wait_for_selector("#code-panel[data-state=renew]")
    assert fixed.locator("svg.qr-svg").count() == 0
    shoot(fixed, "clock-changed")


# ---- item 6: the dispute dialog says what a dispute does -----------------------------------------

def test_dispute_dialog_says_a_counted_record_keeps_counting_and_it_does(make_page, server, shoot):
    page, _ = make_page("en")
    phone = new_phone()
    sign_up(page, phone)
    operator(server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 685,
        "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    page.goto("/app/#/score/moli")
    page.wait_for_selector("#ledger-body[aria-busy=false] .ledger-summary")
    assert page.inner_text("[data-testid=ledger-score]") == "685"
    imported = page.locator(".ledger-item[data-status=confirmed]").first
    imported.locator(".dispute-btn").click()
    page.wait_for_selector("#dispute-dialog[open]")
    said = page.inner_text("#dispute-dialog")
    assert "keeps counting (+185" in said and "does not count" not in said, said
    shoot(page, "ledger-dispute-dialog")
    page.fill("#dispute-text", "The annual recalculation left out my volunteer hours.")
    page.click("#dispute-send")
    page.wait_for_selector(".ledger-item[data-status=disputed]")
    assert page.inner_text("[data-testid=ledger-score]") == "685"          # still counted, as the dialog said
    page.goto("/app/#/home")
    page.wait_for_selector("#home-body[aria-busy=false] [data-testid=score]")
    assert page.inner_text("[data-testid=score]") == "685"


def test_dispute_dialog_says_a_waiting_record_still_does_not_count_and_it_does_not(make_page, server):
    page, _ = make_page("en")
    phone = new_phone()
    sign_up(page, phone)
    operator(server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 685,
        "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    suffix = phone[-6:]
    _send(server, _provider(server, f"truth-police-{suffix}"), [_event(phone, "OFFENCE-MINOR", -5, "FZ-TP-2026-102")])
    page.goto("/app/#/score/moli")
    page.wait_for_selector("#ledger-body[aria-busy=false] .ledger-item[data-status=pending_review]")
    page.locator(".ledger-item[data-status=pending_review] .dispute-btn").click()
    page.wait_for_selector("#dispute-dialog[open]")
    said = page.inner_text("#dispute-dialog")
    assert "still does not count" in said and "keeps counting" not in said, said
    page.fill("#dispute-text", "This offence was somebody else: I was abroad that day.")
    page.click("#dispute-send")
    page.wait_for_selector("[data-testid=frozen]")
    assert page.inner_text("[data-testid=ledger-score]") == "685"          # the -5 still does not count
