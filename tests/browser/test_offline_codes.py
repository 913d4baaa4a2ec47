"""Offline on both sides (PP2): the citizen's phone shows a valid code with no signal, and the partner SDK
and the real kiosk app grant it. Real Chromium (WebCrypto, IndexedDB, service worker), the real backend,
real QR encode -> screenshot -> zxing-cpp decode, the real Kivy kiosk. Run for both device key types:
Ed25519 where the browser has it, ECDSA P-256 where it does not (simulated by taking Ed25519 away)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from partner_sdk import Status, Verifier

from .test_citizen_page import decode_qr, new_phone, operator, session_token, sign_up, trust

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("kiosk_harness", REPO / "tests" / "kiosk" / "kiosk_harness.py")
kiosk_harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kiosk_harness)

# Chromium here has WebCrypto Ed25519; a browser without it is simulated by refusing that algorithm.
NO_ED25519 = """(() => {
  const subtle = crypto.subtle, gen = subtle.generateKey.bind(subtle);
  subtle.generateKey = (alg, ...rest) => ((alg === "Ed25519" || (alg && alg.name === "Ed25519"))
    ? Promise.reject(new DOMException("Ed25519 is not supported", "NotSupportedError")) : gen(alg, ...rest));
})();"""


def skew_clock(seconds: int) -> str:
    """An init script that moves the page's clock (Date) by ``seconds``, like a phone set wrong."""
    return f"""(() => {{
  const real = Date, shift = {seconds * 1000};
  class Skewed extends real {{
    constructor(...a) {{ if (a.length) super(...a); else super(real.now() + shift); }}
    static now() {{ return real.now() + shift; }}
  }}
  globalThis.Date = Skewed;
}})();"""


def api(server, page, method, path, **kw):
    r = requests.request(method, server.base + path, headers={"Authorization": "Bearer " + session_token(page)},
                         timeout=10, **kw)
    assert r.status_code < 300, r.text
    return r.json()


def show_offline_code(page, shoot, name, audience="metro") -> tuple[str, str]:
    """Screenshot the code screen, decode the QR; returns (qr text, the code's id shown on the page)."""
    page.wait_for_selector("svg.qr-svg[data-mode=pp2]")
    shown = page.get_attribute("svg.qr-svg", "data-jti")
    text = decode_qr(shoot(page, name))
    assert text.startswith("PP2") and text[3:].isdigit()
    return text, shown


def metro_citizen(page, server) -> str:
    """Sign up a new citizen, give them Moli 713 (metro 20% and the Gulou office perks), and wait until the
    page holds its certificates (the home screen says until when its codes work without signal)."""
    phone = new_phone()
    sign_up(page, phone)
    operator(server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli", "score": 713,
        "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    page.reload()
    page.wait_for_selector("#quick-codes #offline-ready")
    return phone


@pytest.fixture(scope="module")
def kiosk(server, tmp_path_factory):
    """The real kiosk app, enrolled online at the demo metro gate, then scanning by HID keyboard input."""
    work = tmp_path_factory.mktemp("pp2-kiosk")
    data = work / "data"
    venue = server.venue("metro", "MOLI-METRO20")
    code = operator(server, "POST", f"/api/v1/operator/venues/{venue['venue_id']}/enrolment-codes", json={})
    r = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data), "--backend", server.base,
                        "--enrolment-code", code["enrolment_code"], "--pin", "2468", "--enrol-only"],
                       capture_output=True, text=True, timeout=90, cwd=REPO)
    assert r.returncode == 0, r.stderr
    k = kiosk_harness.Kiosk(work, data, extra_args=["--sync-interval", "3600"])
    yield k
    k.quit()


@pytest.mark.parametrize("key_type", ["Ed25519", "P-256"])
def test_phone_offline_shows_codes_the_gate_grants(make_page, server, shoot, kiosk, key_type):
    page, watch = make_page(locale="en-US")
    if key_type == "P-256":
        page.context.add_init_script(NO_ED25519)
    # code first: the "Show my code" buttons lead the home screen, and say until when they work offline
    metro_citizen(page, server)
    assert page.locator("#quick-codes .quick-code").first.get_attribute("data-audience") in ("metro", "gov-office")
    quick_top = page.locator("#quick-codes").bounding_box()["y"]
    assert quick_top < page.locator(".score-card").first.bounding_box()["y"] < 2000
    devices = api(server, page, "GET", "/api/v1/me/devices")["devices"]
    assert [d["algorithm"] for d in devices] == [key_type]
    store = trust(server)

    # no network at all, browser tab closed and opened again
    ctx = page.context
    ctx.set_offline(True)
    page.close()
    page = ctx.new_page()
    page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
    t0 = time.monotonic()
    page.goto("/app/")
    page.click("#quick-codes .quick-code[data-audience=metro]")
    page.wait_for_selector("svg.qr-svg[data-mode=pp2]")
    opened_in = time.monotonic() - t0
    assert opened_in < 5, opened_in  # measured properly (≤ 1 s) by bench/pp2_browser.py
    assert "No signal needed" in page.inner_text("#code-status")
    first, first_shown = show_offline_code(page, shoot, f"offline-code-{key_type.lower()}")
    sdk = Verifier(store, audience="metro")
    d1 = sdk.verify(first)
    assert d1.status is Status.GRANTED, d1
    assert d1.perks == ("MOLI-METRO20",) and d1.jti == first_shown
    r1 = kiosk.scan_hid(first)
    assert r1["status"] == "GRANTED", r1

    # still offline: the next slot brings a new code. The gate that granted this certificate refuses it for its
    # reuse interval (one grant per certificate: 130 s), whichever code the phone shows; a gate elsewhere with
    # its own memory grants it.
    page.wait_for_function("(j) => { const s = document.querySelector('svg.qr-svg[data-mode=pp2]');"
                           " return s && s.dataset.jti !== j; }", arg=first_shown, timeout=35_000)
    second, second_shown = show_offline_code(page, shoot, f"offline-code-next-{key_type.lower()}")
    assert second_shown != first_shown
    assert sdk.verify(second).status is Status.REPLAYED
    again = kiosk.scan_hid(second)
    assert again["status"] == "REPLAYED" and "granted once" in again["reason"], again
    assert Verifier(store, audience="metro").verify(second).status is Status.GRANTED
    assert sdk.verify(first).status is Status.REPLAYED
    assert kiosk.scan_hid(first)["status"] == "REPLAYED"

    # a phone whose clock jumped 10 minutes while offline: the gate says to check the phone's clock
    skewed = ctx.new_page()
    skewed.add_init_script(skew_clock(600))
    skewed.goto("/app/#/code/metro")
    text, _ = show_offline_code(skewed, shoot, f"offline-code-skewed-{key_type.lower()}")
    assert sdk.verify(text).status is Status.CLOCK_SKEW
    r = kiosk.scan_hid(text)
    assert r["status"] == "CLOCK_SKEW" and "phone's clock" in r["reason"], r
    skewed.close()

    # the citizen removes this phone from another browser; a kiosk that syncs refuses its codes
    other, _ = make_page(locale="en-US")
    other.goto("/app/")
    other.evaluate("([k, v]) => localStorage.setItem(k, v)",
                   ["perkpass.session", page.evaluate("localStorage.getItem('perkpass.session')")])
    other.reload()  # the session is read at start
    other.wait_for_selector("#home-body[aria-busy=false] .menu")
    other.click("#go-devices")
    item = other.locator(f"li.device[data-device='{devices[0]['id']}']")
    item.locator("button").click()
    item.locator("button").click()  # a second tap confirms
    other.wait_for_selector("text=Removed. Its codes are withdrawn.")
    newer = trust(server)
    assert d1.pseudonym in newer.current.revoked
    kiosk.call("sync_now", trust=True)
    kiosk.wait_for(lambda st: (st.get("trust_sequence") or 0) >= newer.sequence, 30, "the kiosk's trust list sync")
    page.wait_for_function("(j) => { const s = document.querySelector('svg.qr-svg[data-mode=pp2]');"
                           " return s && s.dataset.jti !== j; }", arg=second_shown, timeout=35_000)
    third, _ = show_offline_code(page, shoot, f"offline-code-revoked-{key_type.lower()}")
    res = kiosk.scan_hid(third)
    assert res["status"] == "REVOKED", res
    assert Verifier(newer, audience="metro").verify(third).status is Status.REVOKED


def test_clock_far_off_is_corrected_and_explained_on_the_phone(make_page, server, shoot):
    """Online, the page learns how far off the phone's clock is, tells the citizen, and its codes carry
    the corrected time, so the gate still grants them."""
    page, _ = make_page(locale="en-US")
    page.context.add_init_script(skew_clock(-7 * 60))
    metro_citizen(page, server)
    page.context.set_offline(True)
    page.goto("/app/#/code/metro")
    page.wait_for_selector("#clock-skew")
    assert "7 min slow" in page.inner_text("#clock-skew")
    text, _ = show_offline_code(page, shoot, "offline-code-clock-corrected")
    assert Verifier(trust(server), audience="metro").verify(text).status is Status.GRANTED


def test_expired_certificate_offline_asks_to_connect_once(make_page, server, shoot):
    page, _ = make_page(locale="en-US")
    metro_citizen(page, server)
    page.context.set_offline(True)
    late = page.context.new_page()
    late.add_init_script(skew_clock(2 * 86_400))  # two days later, never online in between
    late.goto("/app/#/code/metro")
    late.wait_for_selector("#code-panel[data-state=renew]")
    assert "Connect to the internet once" in late.inner_text("#code-status")
    assert late.locator("svg.qr-svg").count() == 0  # never a code the gate would refuse
    shoot(late, "offline-renew")


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_device_list_and_offline_code_screens(make_page, server, shoot, locale):
    page, _ = make_page(locale=locale)
    metro_citizen(page, server)
    suffix = "" if locale == "en-US" else "-zh"
    shoot(page, f"home-code-first{suffix}")
    page.goto("/app/#/devices")
    page.wait_for_selector("#device-list li.device")
    assert page.locator("#device-list li.device").count() == 1
    assert page.locator("#device-list .you").count() == 1
    assert "null" not in page.inner_text("#view")
    shoot(page, f"devices{suffix}")
    page.context.set_offline(True)
    page.goto("/app/#/code/metro")
    page.wait_for_selector("svg.qr-svg[data-mode=pp2]")
    page.wait_for_timeout(300)
    shoot(page, f"offline-code{suffix}")
    # log-out on a shared phone leaves no codes behind
    page.context.set_offline(False)
    page.goto("/app/#/home")
    page.wait_for_selector("#home-body[aria-busy=false] .menu")
    page.click("#logout")
    page.wait_for_selector("#send-code")
    assert page.evaluate("""async () => { const m = await import('/app/js/holder.js'); await m.load();
                            return m.hasAnyCertificates() || !!m.deviceId(); }""") is False
