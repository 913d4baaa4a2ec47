"""The citizen page in a real browser: sign up, log in, perks, a live QR that refreshes by itself and
verifies offline with the partner SDK, "no perk here", where codes were used, offline and session
states, opting out, languages. Every test also fails on third-party requests, JavaScript errors,
server errors or a traceback on the page (see conftest.make_page)."""
from __future__ import annotations

import base64
import hashlib
import re
import time
import uuid

import pytest
import requests
import zxingcpp
from PIL import Image

from partner_sdk import Status, TrustStore, Verifier, load_public_key

from .conftest import CREDENTIAL_LIFETIME, REFRESH_AFTER

_phone_counter = iter(range(10_000))


def new_phone() -> str:
    """A fresh, valid Chinese mobile number nobody in the demo data has."""
    return f"+86137{int(time.time()) % 10_000:04d}{next(_phone_counter):04d}"


def request_code(page) -> str:
    page.click("#send-code")
    page.wait_for_selector("#dev-code:not([hidden])")
    return re.search(r"\b(\d{6})\b", page.inner_text("#dev-code")).group(1)


def log_in(page, phone: str) -> None:
    page.goto("/app/#/login")
    page.fill("#phone", phone)
    page.fill("#code", request_code(page))
    page.click("#submit")
    page.wait_for_selector("#home-body[aria-busy=false] .menu")


def sign_up(page, phone: str) -> None:
    page.goto("/app/#/join")
    page.wait_for_selector("#consent-text")
    page.fill("#phone", phone)
    page.fill("#code", request_code(page))
    page.check("#accept")
    page.click("#submit")
    page.wait_for_selector("#home-body[aria-busy=false] .menu")


def trust(server):
    """The backend's trust list and root key, fetched once: verification after that is offline."""
    root = requests.get(server.base + "/api/v1/trust-root", timeout=10).json()
    jws = requests.get(server.base + "/api/v1/trust-list", timeout=10).content
    store = TrustStore(load_public_key(root["root_public_key"]))
    store.load_bytes(jws)
    return store


def decode_qr(path) -> str:
    results = zxingcpp.read_barcodes(Image.open(path), formats=zxingcpp.BarcodeFormat.QRCode)
    texts = [r.text for r in results if r.valid]
    assert len(texts) == 1, f"expected one QR code in {path}, found {len(texts)}"
    return texts[0]


def operator(server, method: str, path: str, **kwargs):
    r = requests.request(method, server.base + path, headers={"Authorization": "Bearer " + server.operator_token},
                         timeout=10, **kwargs)
    assert r.status_code < 300, r.text
    return r.json()


def session_token(page) -> str:
    import json
    return json.loads(page.evaluate("localStorage.getItem('perkpass.session')"))["token"]


# --- headers, CSP, catalogue (no browser needed) ------------------------------------------------

def test_page_is_served_with_a_strict_csp(server):
    r = requests.get(server.base + "/app/", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    directives = dict((d.split(" ", 1) + [""])[:2] for d in (x.strip() for x in csp.split(";")))
    assert directives["default-src"] == "'none'"
    # scripts from this origin, and the page's own inline boot script by its hash: exactly the inline scripts
    # the document holds, so no other inline script (an injected one) can run
    inline = re.findall(r"<script>(.*?)</script>", r.text, re.S)
    hashes = ["'sha256-" + base64.b64encode(hashlib.sha256(x.encode()).digest()).decode() + "'" for x in inline]
    assert inline and directives["script-src"] == " ".join(["'self'", *hashes])
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    # no inline script or style in the document, no third-party URL anywhere in it
    html = r.text
    assert not re.search(r"<script(?![^>]*\bsrc=)(?!>)", html), "inline <script> with attributes"
    assert "style=" not in html and "<style" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)

    js = requests.get(server.base + "/app/js/main.js", timeout=10)
    assert js.headers["Content-Type"].startswith("text/javascript") and js.headers["X-Content-Type-Options"] == "nosniff"
    vendor = requests.get(server.base + "/app/vendor/qrcode.mjs", timeout=10)
    assert vendor.status_code == 200 and vendor.headers["Content-Type"].startswith("text/javascript")
    assert requests.get(server.base + "/app/vendor/LICENSE-qrcode-generator.txt", timeout=10).status_code == 200
    redirect = requests.get(server.base + "/app", allow_redirects=False, timeout=10)
    assert redirect.status_code in (301, 308) and redirect.headers["Location"].endswith("/app/")
    for bad in ("/app/../api/__init__.py", "/app/%2e%2e/api/app_page.py", "/app/js/nope.js", "/app/.hidden.js",
                "/app/vendor/MANIFEST.json/x", "/app/app_page.py"):
        resp = requests.get(server.base + bad, timeout=10)
        assert resp.status_code == 404, bad
        assert "Traceback" not in resp.text


def test_catalogue_explains_bands_and_venue_types(server):
    r = requests.get(server.base + "/api/v1/catalogue", timeout=10)
    assert r.status_code == 200
    cat = r.json()
    assert {"library", "metro", "hospital", "gov-office"} <= set(cat["audiences"])
    moli = next(s for s in cat["schemes"] if s["code"] == "moli")
    assert [b["min"] for b in moli["bands"]][0] == moli["range"]["min"]
    assert moli["bands"][-1]["max"] == moli["range"]["max"]
    for a, b in zip(moli["bands"], moli["bands"][1:], strict=False):
        assert a["max"] == b["min"] - 1
    metro = next(p for p in moli["perks"] if p["code"] == "MOLI-METRO20")
    assert metro["min_score"] == 686 and metro["audience"] == "metro"
    spec = requests.get(server.base + "/api/v1/openapi.json", timeout=10).json()
    assert "/api/v1/catalogue" in spec["paths"]


# --- first visit, consent, sign-up, no perk ------------------------------------------------------

def test_first_visit_sign_up_and_no_perk_here(make_page, server, shoot):
    page, watch = make_page(locale="zh-CN")
    page.goto("/app/")
    page.wait_for_selector("#go-join")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert "自愿" in page.inner_text("main")  # voluntary
    shoot(page, "welcome-zh")

    page.click("#go-join")
    page.wait_for_selector("#consent-text")
    consent = requests.get(server.base + "/api/v1/auth/consent", timeout=10).json()
    assert page.inner_text("#consent-text").strip() == consent["text"]["zh-CN"]
    shoot(page, "join-zh")
    phone = new_phone()
    page.fill("#phone", phone)
    code = request_code(page)
    page.fill("#code", code)
    # joining without ticking the consent box is refused on the page, before any request
    page.click("#submit")
    assert page.locator("#auth-notice [role=alert]").is_visible()
    assert "勾选同意" in page.inner_text("#auth-notice")
    page.check("#accept")
    page.click("#submit")
    page.wait_for_selector("#no-schemes")
    assert "尚未加入" in page.inner_text("#no-schemes")

    # join Fuzhou Moli at its base score (500): no perk anywhere yet
    page.click("#no-schemes [data-scheme=moli]")
    page.wait_for_selector(".score-card[data-scheme=moli]")
    assert page.inner_text(".score-card[data-scheme=moli] [data-testid=score]") == "500"
    assert page.locator(".show-code").count() == 0
    assert page.locator(".venue-has").count() == 0
    for aud in ("library", "metro", "hospital", "gov-office"):
        row = page.locator(f".venue-none[data-audience={aud}]")
        assert row.is_visible() and "此处暂无权益" in row.inner_text()
    shoot(page, "home-no-perk-zh", full_page=True)

    # even asking for the code directly shows "no perk here" and no QR
    page.goto("/app/#/code/library")
    page.wait_for_selector("#no-perk")
    assert page.locator("svg.qr-svg").count() == 0
    assert page.locator("#no-perk h2").inner_text() == "此处暂无权益"
    shoot(page, "no-perk-zh")
    # a made-up or malformed venue type in the address: the same, never an error or a retry loop
    for bad in ("zoo", "NOT_A-venue", "%E0%A4%A"):
        page.goto(f"/app/#/code/{bad}")
        page.wait_for_selector("#no-perk")
        assert page.locator("svg.qr-svg").count() == 0


def test_log_in_needs_consent_for_an_unknown_phone(make_page):
    page, _ = make_page(locale="en-GB")
    page.goto("/app/#/login")
    phone = new_phone()
    page.fill("#phone", phone)
    page.fill("#code", request_code(page))
    page.click("#submit")
    # the page moves to joining, keeps the phone and the (still valid) code, and explains why
    page.wait_for_selector("#consent-text")
    assert "has not joined" in page.inner_text("#auth-flash")
    assert page.input_value("#phone") == phone
    page.check("#accept")
    page.click("#submit")
    page.wait_for_selector("#no-schemes")


def test_without_development_mode_the_code_comes_only_by_sms(make_page, prod_like_server, shoot):
    srv = prod_like_server
    phone = srv.citizen("office + metro 20%")["phone"]
    r = requests.post(srv.base + "/api/v1/auth/request-code", json={"phone": phone}, timeout=10).json()
    assert "dev_code" not in r
    page, _ = make_page(locale="en-US", target=srv)
    page.goto("/app/#/login")
    page.fill("#phone", phone)
    page.click("#send-code")
    page.wait_for_selector("#code-row:not([hidden])")
    assert page.locator("#dev-code").is_hidden()
    assert "Development mode" not in page.inner_text("main")
    code = srv.last_sms_code(phone)
    assert code and re.fullmatch(r"\d{6}", code)
    page.fill("#code", code)
    shoot(page, "login")
    page.click("#submit")
    page.wait_for_selector(".venue-has[data-audience=metro] .show-code")


def test_wrong_code_and_bad_phone_are_explained(make_page):
    page, _ = make_page(locale="en-US")
    page.goto("/app/#/login")
    page.fill("#phone", "12")
    page.click("#send-code")
    assert "does not look like a mobile number" in page.inner_text("#auth-notice")
    page.fill("#phone", "+8613900000104")
    request_code(page)
    assert page.is_disabled("#send-code")  # resend waits
    page.fill("#phone", "+8613900000103")  # another number needs its own code
    assert page.locator("#code-row").is_hidden() and page.is_enabled("#send-code")
    request_code(page)
    page.fill("#code", "000000")
    page.click("#submit")
    page.wait_for_selector("#auth-notice [role=alert]")
    assert "wrong or has expired" in page.inner_text("#auth-notice")


# --- the main flow: perks, a live code, refresh, offline verification, history ------------------

def test_code_refreshes_and_verifies_offline(make_page, server, shoot, shot_dir):
    store = trust(server)
    phone = new_phone()
    page, watch = make_page(locale="en-US")
    sign_up(page, phone)
    # the city's data provider imports a Moli score of 713: metro 20% and the Gulou office perks
    report = operator(server, "POST", "/api/v1/operator/scores",
                      json={"scores": [{"phone": phone, "scheme": "moli", "score": 713,
                          "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    assert report["imported"] == 1
    page.click("#logout")
    page.wait_for_selector("#send-code")
    log_in(page, phone)

    card = page.locator(".score-card[data-scheme=moli]")
    assert card.locator("[data-testid=score]").inner_text() == "713"
    assert "Excellent credit" in card.inner_text()
    assert "686 to 1000" in card.inner_text()
    metro = page.locator(".venue-has[data-audience=metro]")
    assert "20% off" in metro.inner_text()
    assert page.locator(".venue-has[data-audience=gov-office] .ticks li").count() == 3
    assert "No perk here" in page.locator(".venue-none[data-audience=library]").inner_text()
    shoot(page, "home")  # the first screen (README)
    shoot(page, "home-full", full_page=True)
    # what the band means: every band of the scheme, its range and the perks it brings, mine marked
    card.locator("details.bands summary").click()
    current = card.locator("details.bands tr.is-current")
    assert "Excellent credit" in current.inner_text() and "686–1000" in current.inner_text()
    assert "Metro: 20% off each ride" in current.inner_text()
    assert card.locator("details.bands tbody tr").count() == 4
    page.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 64)",
                  card.element_handle())
    shoot(page, "bands")

    metro.locator(".show-code").click()
    page.wait_for_selector("svg.qr-svg")
    page.evaluate("window.__sameDocument = true")
    first_jti = page.get_attribute("svg.qr-svg", "data-jti")
    box = page.locator("svg.qr-svg").bounding_box()
    assert box["width"] >= 300 and box["height"] >= 300, box  # big: most of a 390 px wide screen
    assert "Valid for 0:" in page.inner_text("#countdown")
    assert "brightness" in page.inner_text("#brightness")
    path = shoot(page, "code")
    # On a loaded machine the page may already have refreshed by the time the screenshot is taken:
    # the picture then shows the next code, which is just as valid.
    shown_jti = page.get_attribute("svg.qr-svg", "data-jti")
    text = decode_qr(path)
    decision = Verifier(store, audience="metro").verify(text)
    assert decision.status is Status.GRANTED, decision.message
    assert decision.perks == ("MOLI-METRO20",) and decision.jti in (first_jti, shown_jti)
    first_jti = decision.jti
    # the wrong venue type refuses it
    assert Verifier(store, audience="library").verify(text).status is Status.WRONG_AUDIENCE

    # wait through a refresh: a new code arrives without reloading the page
    page.wait_for_function("(j) => { const s = document.querySelector('svg.qr-svg');"
                           " return s && s.dataset.jti && s.dataset.jti !== j; }", arg=first_jti,
                           timeout=(REFRESH_AFTER + 10) * 1000)
    assert page.evaluate("window.__sameDocument") is True
    second_jti = page.get_attribute("svg.qr-svg", "data-jti")
    page.wait_for_timeout(300)
    path2 = shoot(page, "code-refreshed")
    decision2 = Verifier(store, audience="metro").verify(decode_qr(path2))
    assert decision2.status is Status.GRANTED and decision2.jti == second_jti != first_jti
    # same venue type, same UTC day: same pairwise pseudonym (it changes with the day)
    assert (decision2.pseudonym == decision.pseudonym) is (decision2.issued_at // 86_400 == decision.issued_at // 86_400)

    # a metro gate enrolled with the demo code accepts it and reports the redemption
    venue = server.venue("metro", "MOLI-METRO20")
    enrol = requests.post(server.base + "/api/v1/kiosk/enroll", timeout=10,
                          json={"enrolment_code": venue["enrolment_code"], "device_name": "browser-test gate"})
    assert enrol.status_code == 201, enrol.text
    token = enrol.json()["device_token"]
    up = requests.post(server.base + "/api/v1/kiosk/redemptions", timeout=10, headers={"Authorization": "Bearer " + token},
                       json={"redemptions": [{"id": str(uuid.uuid4()), "jti": decision2.jti, "pseudonym": decision2.pseudonym,
                                              "perk": "MOLI-METRO20", "scanned_at": int(time.time())}]})
    assert up.status_code == 200 and up.json()["accepted"] == 1

    page.click("#back")
    page.wait_for_selector("#go-history")
    page.click("#go-history")
    page.wait_for_selector("#history-list")
    item = page.locator("#history-list li").first
    assert venue["venue"] in item.inner_text()
    assert "Metro: 20% off each ride" in item.inner_text()
    assert page.locator("#history-list li").count() == 1
    # the retention the server applies (PERKPASS_RETENTION_DAYS, default 180), said where the records are
    assert page.locator("#history-kept").inner_text() == "Each record is deleted 180 days after the code was used."
    shoot(page, "history")


def _kiosk_token(server, venue_id: int) -> str:
    code = operator(server, "POST", f"/api/v1/operator/venues/{venue_id}/enrolment-codes", json={})["enrolment_code"]
    r = requests.post(server.base + "/api/v1/kiosk/enroll", timeout=10,
                      json={"enrolment_code": code, "device_name": f"browser-test {venue_id}"})
    assert r.status_code == 201, r.text
    return r.json()["device_token"]


def test_history_warns_when_one_code_was_used_at_two_venues(make_page, server, shoot):
    """A copied code accepted at two metro systems: both uses are listed with a plain warning."""
    store = trust(server)
    phone = server.citizen("Two schemes")["phone"]
    code = requests.post(server.base + "/api/v1/auth/request-code", json={"phone": phone}, timeout=10).json()["dev_code"]
    token = requests.post(server.base + "/api/v1/auth/login", json={"phone": phone, "code": code}, timeout=10).json()["access_token"]
    cred = requests.post(server.base + "/api/v1/credentials", json={"audience": "metro"}, timeout=10,
                         headers={"Authorization": "Bearer " + token}).json()
    decision = Verifier(store, audience="metro").verify(cred["qr_text"])
    assert decision.granted
    # a second gate that offers the same perk (the backend refuses a redemption of a perk a venue does not offer)
    partner = next(p for p in operator(server, "GET", "/api/v1/operator/partners")["partners"] if p["name"] == "Fuzhou Metro")
    line2 = operator(server, "POST", "/api/v1/operator/venues", json={
        "partner_id": partner["id"], "name": "Fuzhou Metro Line 2 - Nanmendou gate", "audience": "metro",
        "perks": ["MOLI-METRO20"]})
    t0 = int(time.time())
    for i, venue_id in enumerate([server.venue("metro", "MOLI-METRO20")["venue_id"], line2["id"]]):
        kiosk = _kiosk_token(server, venue_id)
        r = requests.post(server.base + "/api/v1/kiosk/redemptions", timeout=10, headers={"Authorization": "Bearer " + kiosk},
                          json={"redemptions": [{"id": str(uuid.uuid4()), "jti": decision.jti, "pseudonym": decision.pseudonym,
                                                 "perk": "MOLI-METRO20", "scanned_at": t0 - 120 + 90 * i}]})
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    page, _ = make_page(locale="zh-CN")
    log_in(page, phone)
    page.click("#go-history")
    page.wait_for_selector("#history-list")
    items = page.locator("#history-list li")
    assert items.count() == 2
    for i in range(2):
        assert "另一场所" in items.nth(i).locator(".notice-warn").inner_text()
    assert "Line 2" in items.nth(0).inner_text()  # newest first
    assert "地铁：每次乘车八折" in items.nth(0).inner_text()
    assert "180 天后删除" in page.locator("#history-kept").inner_text()
    shoot(page, "history-replay-zh")


def test_back_arrow_steps_back_like_a_mini_program(make_page, server):
    page, _ = make_page(locale="en-US")
    log_in(page, server.citizen("office + metro 20%")["phone"])
    depth = page.evaluate("history.length")
    page.locator(".show-code[data-audience=metro]").click()
    page.wait_for_selector("svg.qr-svg")
    page.click("#back")
    page.wait_for_selector("#home-body[aria-busy=false] .menu")
    page.click("#go-history")
    page.wait_for_selector("#history-body")
    page.click("#back")
    page.wait_for_selector("#home-body[aria-busy=false] .menu")
    # two visits and two returns leave the history one entry deeper at most (the last forward entry)
    assert page.evaluate("history.length") <= depth + 1
    assert page.url.endswith("#/home")


def test_code_for_a_citizen_in_two_schemes_can_switch_scheme(make_page, server):
    """Moli 697 + Sesame 731: the rental code comes from Sesame; the metro code from Moli."""
    page, _ = make_page(locale="en-US")
    log_in(page, server.citizen("Two schemes")["phone"])
    assert page.locator(".score-card").count() == 2
    page.locator(".show-code[data-audience=rental]").click()
    page.wait_for_selector("svg.qr-svg")
    assert "Deposit-free shared bikes" in page.inner_text("#code-perks")
    assert "Sesame" in page.inner_text("#code-perks")


def test_two_schemes_at_one_venue_type_let_the_citizen_choose(make_page, server, shoot):
    """Moli 713 and Osmanthus 120 both give a metro perk: one code at a time (a code carries one scheme),
    and the citizen can switch; each verifies offline with its own perk."""
    store = trust(server)
    phone = new_phone()
    page, _ = make_page(locale="en-US")
    sign_up(page, phone)
    operator(server, "POST", "/api/v1/operator/scores", json={"scores": [
        {"phone": phone, "scheme": "moli", "score": 713, "reason": "annual-recalculation",
         "source_system": "perkpass-operator"},
        {"phone": phone, "scheme": "osmanthus", "score": 120, "reason": "annual-recalculation",
         "source_system": "perkpass-operator"}]})
    page.reload()
    page.wait_for_selector(".venue-has[data-audience=metro]")
    metro = page.locator(".venue-has[data-audience=metro]")
    assert "20% off" in metro.inner_text() and "Public transport benefit" in metro.inner_text()
    metro.locator(".show-code").click()
    page.wait_for_selector("svg.qr-svg")
    first = page.get_attribute("svg.qr-svg", "data-jti")
    switch = page.locator("#scheme-switch button")
    assert switch.count() == 1
    before = Verifier(store, audience="metro").verify(decode_qr(shoot(page, "code-two-schemes")))
    assert before.granted
    switch.click()
    page.wait_for_function("(j) => { const s = document.querySelector('svg.qr-svg'); return s && s.dataset.jti !== j; }",
                           arg=first)
    page.wait_for_timeout(200)
    after = Verifier(store, audience="metro").verify(decode_qr(shoot(page, "code-two-schemes-switched")))
    assert after.granted and after.scheme != before.scheme
    assert {before.perks, after.perks} == {("MOLI-METRO20",), ("OSM-TRANSIT",)}
    # offline the phone holds a certificate per scheme and the switch still works
    page.goto("/app/#/home")
    page.wait_for_selector("#quick-codes #offline-ready")
    page.context.set_offline(True)
    page.goto("/app/#/code/metro")
    page.wait_for_selector("svg.qr-svg[data-mode=pp2]")
    one = Verifier(store, audience="metro").verify(decode_qr(shoot(page, "offline-two-schemes")))
    shown = page.get_attribute("svg.qr-svg", "data-jti")
    page.locator("#scheme-switch button").click()
    page.wait_for_function("(j) => { const s = document.querySelector('svg.qr-svg[data-mode=pp2]');"
                           " return s && s.dataset.jti !== j; }", arg=shown)
    page.wait_for_timeout(200)
    two = Verifier(store, audience="metro").verify(decode_qr(shoot(page, "offline-two-schemes-switched")))
    assert one.granted and two.granted and {one.perks, two.perks} == {("MOLI-METRO20",), ("OSM-TRANSIT",)}


# --- offline and session-expired states ---------------------------------------------------------

def test_offline_then_back_online(make_page, server, shoot):
    """The issuer's code in hand keeps working offline until it expires; then the phone makes its own
    (PP2, from the certificate it fetched while online); back online, issuer codes again."""
    page, _ = make_page(locale="en-US")
    log_in(page, server.citizen("office + metro 20%")["phone"])
    page.wait_for_selector("#quick-codes #offline-ready")
    page.locator(".show-code[data-audience=metro]").click()
    page.wait_for_selector("svg.qr-svg")
    page.context.set_offline(True)
    page.wait_for_selector("#offline:not([hidden])")
    page.wait_for_selector("#code-status .notice-warn")
    assert "offline" in page.inner_text("#code-status").lower()
    assert page.locator("svg.qr-svg").count() == 1
    shoot(page, "offline")
    page.wait_for_selector("#code-panel[data-state=offline-code] svg.qr-svg[data-mode=pp2]",
                           timeout=(CREDENTIAL_LIFETIME + 8) * 1000)
    assert "No signal needed" in page.inner_text("#code-status")
    text = decode_qr(shoot(page, "offline-phone-code"))
    assert Verifier(trust(server), audience="metro").verify(text).status is Status.GRANTED
    page.context.set_offline(False)
    page.wait_for_selector("svg.qr-svg:not([data-mode=pp2])", timeout=20000)
    page.wait_for_selector("#offline[hidden]", state="attached")
    assert page.locator("#code-status .notice").count() == 0


def test_offline_without_a_device_key_shows_no_stale_code(make_page, server, shoot):
    """A browser that could not get a certificate (no WebCrypto key, registration failed): once the
    issuer's code expires offline, the page says so and shows no stale code."""
    page, _ = make_page(locale="en-US")
    page.route("**/api/v1/me/devices**", lambda route: route.abort())
    log_in(page, server.citizen("office + metro 20%")["phone"])
    page.locator(".show-code[data-audience=metro]").click()
    page.wait_for_selector("svg.qr-svg")
    page.context.set_offline(True)
    page.wait_for_selector("#code-panel[data-state=offline] .qr-placeholder", timeout=(CREDENTIAL_LIFETIME + 8) * 1000)
    assert page.locator("svg.qr-svg").count() == 0
    assert "Connect to the internet" in page.inner_text("#code-panel")
    shoot(page, "offline-expired")
    page.context.set_offline(False)
    page.wait_for_selector("svg.qr-svg", timeout=20000)


def test_a_failed_refresh_keeps_the_valid_code_and_retries(make_page, server, shoot):
    """The issuer answers 503 once at refresh time: the current (still valid) code stays on screen with a
    plain notice, the page retries by itself and the next code replaces it."""
    page, watch = make_page(locale="en-US")
    watch.faked_server_errors = True
    calls = {"n": 0}

    def flaky(route):
        calls["n"] += 1
        if calls["n"] == 2:
            route.fulfill(status=503, content_type="application/json",
                          body='{"error": {"code": "unavailable", "message": "no signing key", "fields": {}}}')
        else:
            route.continue_()

    log_in(page, server.citizen("office + metro 20%")["phone"])
    page.route("**/api/v1/credentials", flaky)
    page.locator(".show-code[data-audience=metro]").click()
    page.wait_for_selector("svg.qr-svg")
    first = page.get_attribute("svg.qr-svg", "data-jti")
    page.wait_for_selector("#code-status .notice-warn", timeout=(REFRESH_AFTER + 8) * 1000)
    assert "Trying again" in page.inner_text("#code-status")
    assert page.get_attribute("svg.qr-svg", "data-jti") == first  # still valid, still shown
    shoot(page, "refresh-failed")
    page.wait_for_function("(j) => { const s = document.querySelector('svg.qr-svg'); return s && s.dataset.jti !== j; }",
                           arg=first, timeout=15000)
    page.wait_for_selector("#code-status .notice", state="detached")
    assert calls["n"] >= 3


def test_session_expired_while_showing_a_code(make_page, server, shoot):
    page, _ = make_page(locale="en-US")
    log_in(page, server.citizen("Moli >= 683")["phone"])
    page.wait_for_selector("#quick-codes #offline-ready")
    page.locator(".show-code[data-audience=gov-office]").click()
    page.wait_for_selector("svg.qr-svg")
    # the session ends on the server (log-out elsewhere / token expiry): the next refresh gets a 401
    token = session_token(page)
    assert requests.post(server.base + "/api/v1/auth/logout", headers={"Authorization": "Bearer " + token},
                         timeout=10).status_code == 200
    page.wait_for_selector("#code-status .notice-error", timeout=(REFRESH_AFTER + 10) * 1000)
    assert "session has ended" in page.inner_text("#code-status")
    shoot(page, "session-expired")
    # once the issuer's code expires, the phone's own code (certificate fetched while logged in) takes over
    page.wait_for_selector("#code-panel[data-state=offline-code] svg.qr-svg[data-mode=pp2]",
                           timeout=(CREDENTIAL_LIFETIME + 8) * 1000)
    assert "Log in again to renew" in page.inner_text("#code-status")
    # log in again: back to the same code screen
    page.click("#relogin")
    page.fill("#phone", server.citizen("Moli >= 683")["phone"])
    page.fill("#code", request_code(page))
    page.click("#submit")
    page.wait_for_selector("svg.qr-svg:not([data-mode=pp2])")
    assert page.url.endswith("#/code/gov-office")


def test_home_after_session_loss_shows_session_ended(make_page, server):
    page, _ = make_page(locale="en-US")
    log_in(page, server.citizen("Bailu good")["phone"])
    # the page renews this phone's certificates right after log-in; once that is done nothing else is in
    # flight, so the log-out below is first noticed by the history screen (else by that renewal: also fine)
    page.wait_for_selector("#quick-codes #offline-ready")
    requests.post(server.base + "/api/v1/auth/logout", headers={"Authorization": "Bearer " + session_token(page)},
                  timeout=10)
    page.click("#go-history")
    page.wait_for_selector("#session-ended")
    assert "Log in again" in page.inner_text("#session-ended")


# --- opt-out ------------------------------------------------------------------------------------

def test_opt_out_explains_confirms_and_deletes(make_page, server, shoot):
    phone = new_phone()
    page, _ = make_page(locale="en-US")
    sign_up(page, phone)
    page.click("#no-schemes [data-scheme=bailu]")
    page.wait_for_selector(".score-card[data-scheme=bailu]")
    page.click("#go-privacy")
    page.wait_for_selector("#deleted-list")
    text = page.inner_text("main")
    for words in ("your account", "your scores", "consent record", "where your codes were used"):
        assert words in text
    page.wait_for_function("() => document.querySelector('#consent-info').textContent.length > 0")
    consent_version = requests.get(server.base + "/api/v1/auth/consent", timeout=10).json()["version"]
    assert f"version {consent_version}" in page.inner_text("#consent-info")
    page.click("#delete")  # not confirmed yet: explained, nothing deleted
    assert page.locator("main [role=alert]").is_visible()
    assert "Tick the box" in page.inner_text("main [role=alert]")
    page.check("#confirm-delete")
    shoot(page, "privacy")
    page.click("#delete")
    page.wait_for_selector("#confirm-dialog[open]")
    shoot(page, "opt-out-confirm")
    page.click("#confirm-no")
    assert not page.locator("#confirm-dialog").evaluate("d => d.open")
    page.click("#delete")
    page.click("#confirm-yes")
    page.wait_for_selector("#left")
    assert "1 scheme membership" in page.inner_text("#deleted-counts")
    assert page.evaluate("localStorage.getItem('perkpass.session')") is None
    shoot(page, "deleted")
    # the account is gone: logging in with that phone needs consent again
    code = requests.post(server.base + "/api/v1/auth/request-code", json={"phone": phone}, timeout=10).json()["dev_code"]
    r = requests.post(server.base + "/api/v1/auth/login", json={"phone": phone, "code": code}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "consent_required"


# --- languages and accessibility ----------------------------------------------------------------

def test_language_defaults_from_browser_and_toggles(make_page, server, shoot):
    page, _ = make_page(locale="en-US")
    page.goto("/app/")
    page.wait_for_selector("#go-join")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.inner_text("#go-join") == "Join Perkpass"
    shoot(page, "welcome")
    page.click("#lang")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.inner_text("#go-join") == "加入 Perkpass"
    page.reload()
    page.wait_for_selector("#go-join")
    assert page.inner_text("#go-join") == "加入 Perkpass"  # the choice is remembered
    log_in(page, server.citizen("Osmanthus honoured")["phone"])
    assert "桂花分" in page.inner_text(".score-card[data-scheme=osmanthus]")
    assert "医院" in page.inner_text(".venue-has[data-audience=hospital]")
    assert "更新于" in page.inner_text(".score-card[data-scheme=osmanthus]")
    shoot(page, "home-zh")
    page.locator(".show-code[data-audience=hospital]").click()
    page.wait_for_selector("svg.qr-svg")
    assert "有效期还剩" in page.inner_text("#countdown")
    shoot(page, "code-zh")


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("route", ["#/welcome", "#/join", "#/login", "#/home", "#/code/metro", "#/history", "#/privacy"])
def test_every_control_has_an_accessible_name(make_page, server, route, locale):
    page, _ = make_page(locale=locale)
    if route not in ("#/welcome", "#/join", "#/login"):
        log_in(page, server.citizen("office + metro 20%")["phone"])
    page.goto("/app/" + route)
    page.wait_for_selector("main h2")
    page.wait_for_timeout(400)
    problems = page.evaluate("""() => {
      const out = [];
      for (const el of document.querySelectorAll('button, a[href], input, select, textarea')) {
        if (el.closest('[hidden]') || el.type === 'hidden') continue;
        let name = (el.getAttribute('aria-label') || '').trim();
        if (!name && el.id) { const l = document.querySelector(`label[for="${el.id}"]`); if (l) name = l.textContent.trim(); }
        if (!name && el.closest('label')) name = el.closest('label').textContent.trim();
        if (!name) name = (el.textContent || '').trim();
        if (!name) out.push(el.outerHTML.slice(0, 120));
      }
      for (const svg of document.querySelectorAll('svg')) {
        if (svg.getAttribute('aria-hidden') !== 'true' && !svg.getAttribute('aria-label')) out.push('svg without label');
      }
      if (!document.documentElement.lang) out.push('no lang');
      return out;
    }""")
    assert problems == []
    # text contrast: every visible text colour against its background is at least 4.5:1
    low = page.evaluate("""() => {
      const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
      const bgOf = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3); } return [255, 255, 255]; };
      const out = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      while (walker.nextNode()) {
        const node = walker.currentNode; const el = node.parentElement;
        if (!node.textContent.trim() || !el || el.closest('[hidden], .sr-only, noscript, [disabled]')) continue;
        const r = el.getBoundingClientRect(); if (!r.width || !r.height) continue;
        const fg = rgb(getComputedStyle(el).color).slice(0, 3); const bg = bgOf(el);
        const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x); const ratio = (a + 0.05) / (b + 0.05);
        if (ratio < 4.5) out.push(`${ratio.toFixed(2)} ${node.textContent.trim().slice(0, 40)}`);
      }
      return out;
    }""")
    assert low == []


def test_server_errors_never_show_a_traceback(make_page, server, shoot):
    """A broken backend answer (an HTML 500 with a traceback, or broken JSON) becomes a plain message."""
    page, watch = make_page(locale="en-US")
    watch.faked_server_errors = True
    log_in(page, server.citizen("office + metro 20%")["phone"])
    html_500 = "<html><body><h1>Internal Server Error</h1><pre>Traceback (most recent call last):\n  File x</pre></body></html>"
    page.route("**/api/v1/me", lambda route: route.fulfill(status=500, content_type="text/html", body=html_500))
    page.route("**/api/v1/me/redemptions", lambda route: route.fulfill(status=200, content_type="application/json",
                                                                          body="{not json"))
    page.goto("/app/#/history")
    page.wait_for_selector("#history-body [role=alert]")
    assert "went wrong on our side" in page.inner_text("#history-body")
    page.click("#back")
    page.wait_for_selector("#home-body [role=alert]")
    text = page.inner_text("main")
    assert "went wrong on our side" in text and "Traceback" not in text and "Internal Server Error" not in text
    assert page.locator("#home-body button", has_text="Try again").is_visible()
    page.unroute("**/api/v1/me")
    page.click("#home-body button")
    page.wait_for_selector(".score-card")


def test_page_opens_offline_after_a_visit(make_page, server, shoot):
    """The service worker keeps the page (never codes or API answers): opened again without a network,
    it says clearly that the citizen is offline instead of showing the browser's error page."""
    page, _ = make_page(locale="en-US")
    log_in(page, server.citizen("office + metro 20%")["phone"])
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    # every file of the page this visit loaded is in the cache (whatever modules main.js imports)
    # polled from here: wait_for_function takes an async predicate's Promise as a true answer at once
    all_cached = """async () => {
      const cache = await caches.open('perkpass-app-v1');
      const urls = performance.getEntriesByType('resource').map((e) => new URL(e.name))
        .filter((u) => u.origin === location.origin && u.pathname.startsWith('/app/'));
      for (const u of urls) if (!(await cache.match(u.origin + u.pathname))) return false;
      return urls.length > 5;
    }"""
    deadline = time.monotonic() + 30
    while not page.evaluate(all_cached):
        assert time.monotonic() < deadline, "the service worker never cached every file of the page"
        page.wait_for_timeout(100)
    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("#offline:not([hidden])")
    page.wait_for_selector("#home-body .notice")
    assert "You are offline" in page.inner_text("#home-body")
    shoot(page, "home-offline")
    cached = page.evaluate("caches.open('perkpass-app-v1').then(c => c.keys()).then(k => k.map(r => r.url))")
    assert not [u for u in cached if "/api/" in u], cached
    assert page.locator("#home-body .notice-warn").is_visible()  # a state, not an error
    page.context.set_offline(False)  # back online: the page fills in by itself
    page.wait_for_selector(".score-card")
