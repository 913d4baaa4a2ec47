"""A venue type added through data alone (issue 20): the fixture folder tests/fixtures/venue-type-museum holds one
more registry entry and two more perks, nothing else. Applied to a copy of assets/ (as an operator edits the
files), the museum runs end to end with no code naming it: issuance, the citizen page in real Chromium (labels and
icon in both languages), a PP1 code and a PP2 code decoded from screenshots, the real Kivy kiosk (a gate that never
heard of museums learns their policy from the signed trust list and grants), and the console's statistics."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from partner_sdk import Status, Verifier

from .conftest import Server
from .test_citizen_page import decode_qr, new_phone, sign_up, trust

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "venue-type-museum"
_spec = importlib.util.spec_from_file_location("kiosk_harness", REPO / "tests" / "kiosk" / "kiosk_harness.py")
kiosk_harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kiosk_harness)

VENUE_TYPE = json.loads((FIXTURE / "venue-type.json").read_text("utf-8"))
ADDED = json.loads((FIXTURE / "perks.json").read_text("utf-8"))
AUD = VENUE_TYPE["code"]
FREE, GUIDE = (p["code"] for p in ADDED["perks"])  # once a day from GOOD up; once a month for FAIR..GOOD


def city_with_the_fixture(folder: Path) -> tuple[Path, Path]:
    """A copy of assets/'s registry and schemes with the fixture added, as an operator would edit them."""
    schemes = folder / "schemes"
    shutil.copytree(REPO / "assets" / "schemes", schemes)
    registry = json.loads((REPO / "assets" / "venue-types.json").read_text("utf-8"))
    registry["venue_types"].append(VENUE_TYPE)
    (folder / "venue-types.json").write_text(json.dumps(registry, ensure_ascii=False), "utf-8")
    scheme_file = schemes / f"{ADDED['scheme']}.json"
    scheme = json.loads(scheme_file.read_text("utf-8"))
    scheme["perks"] += ADDED["perks"]
    scheme_file.write_text(json.dumps(scheme, ensure_ascii=False), "utf-8")
    return schemes, folder / "venue-types.json"


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    folder = tmp_path_factory.mktemp("museum-city")
    schemes, registry = city_with_the_fixture(folder)
    srv = Server(folder, PERKPASS_SCHEMES_DIR=str(schemes), PERKPASS_VENUE_TYPES_FILE=str(registry))
    yield srv
    srv.stop()


def operator(city, method, path, **kw):
    r = requests.request(method, city.base + path, headers={"Authorization": "Bearer " + city.operator_token},
                         timeout=10, **kw)
    assert r.status_code < 300, r.text
    return r.json()


@pytest.fixture(scope="module")
def museum_kiosk(city, tmp_path_factory):
    """A museum's turnstile: a venue created through the operator API, the real kiosk app enrolled online."""
    partner = operator(city, "POST", "/api/v1/operator/partners", json={"name": "City Museums"})
    venue = operator(city, "POST", "/api/v1/operator/venues",
                     json={"partner_id": partner["id"], "name": "City Museum - East gate", "audience": AUD})
    assert sorted(venue["perks"]) == sorted([FREE, GUIDE])
    code = operator(city, "POST", f"/api/v1/operator/venues/{venue['id']}/enrolment-codes", json={})
    work = tmp_path_factory.mktemp("museum-kiosk")
    data = work / "data"
    r = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data), "--backend", city.base,
                        "--enrolment-code", code["enrolment_code"], "--pin", "2468", "--enrol-only"],
                       capture_output=True, text=True, timeout=90, cwd=REPO)
    assert r.returncode == 0, r.stderr
    k = kiosk_harness.Kiosk(work, data, extra_args=["--sync-interval", "3600"])
    yield k
    k.quit()


def test_the_registry_entry_reaches_the_catalogue_and_the_trust_list(city):
    cat = requests.get(city.base + "/api/v1/catalogue", timeout=10).json()
    listed = [v for v in cat["venue_types"] if v["code"] == AUD]
    assert listed == [{"code": AUD, "label": VENUE_TYPE["label"], "icon": VENUE_TYPE["icon"]}]
    assert cat["venue_types"][-1]["code"] == AUD, "display order is the registry's order"
    bailu = next(s for s in cat["schemes"] if s["code"] == ADDED["scheme"])
    guide = next(p for p in bailu["perks"] if p["code"] == GUIDE)
    good = next(b for b in bailu["bands"] if b["code"] == "GOOD")
    assert guide["max_score"] == good["max"] and guide["usage"] == "month"
    store = trust(city)
    policy = Verifier(store, AUD).policy
    assert policy.source.value == "trust_list" and policy.grace_after_next_update == VENUE_TYPE["grace_after_next_update"]
    assert dict(policy.perk_reuse) == {FREE: 86_400, GUIDE: 30 * 86_400}
    assert policy.label_in("zh-CN") == "博物馆"


def museum_citizen(page, city, score: int) -> str:
    phone = new_phone()
    sign_up(page, phone)
    operator(city, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": ADDED["scheme"],
             "score": score, "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    page.reload()
    page.wait_for_selector(f".venue-has[data-audience={AUD}]")
    return phone


@pytest.mark.parametrize("locale,label", [("zh-CN", "博物馆"), ("en-US", "Museum")])
def test_the_page_shows_the_new_venue_type_with_its_label_and_icon(make_page, city, shoot, locale, label):
    page, _ = make_page(locale=locale, target=city)
    museum_citizen(page, city, 647)  # Bailu GOOD: both perks (the guide's band range FAIR..GOOD includes GOOD)
    card = page.locator(f".venue-has[data-audience={AUD}]")
    assert card.locator(".venue-name").inner_text() == label, (
        page.evaluate("document.documentElement.lang"), page.evaluate("localStorage.getItem('perkpass.venue-types')"),
        page.inner_text("main")[:300])
    titles = card.locator(".ticks li").all_inner_texts()
    lang = "zh-CN" if locale == "zh-CN" else "en"
    usage = {"zh-CN": {"day": "每天一次", "month": "每月一次"}, "en": {"day": "once a day", "month": "once a month"}}[lang]
    # each perk with its usage rule, as the gate will apply it
    assert sorted(titles) == sorted(f"{p['title'][lang]} · {usage[p['usage']]}" for p in ADDED["perks"])
    drawn = card.locator(".venue-icon svg path").evaluate_all("(ps) => ps.map((p) => p.getAttribute('d'))")
    assert drawn == VENUE_TYPE["icon"]
    quick = page.locator(f"#quick-codes .quick-code[data-audience={AUD}]")
    assert label in quick.inner_text()
    assert quick.locator("svg path").evaluate_all("(ps) => ps.map((p) => p.getAttribute('d'))") == VENUE_TYPE["icon"]
    shoot(page, f"museum-home-{lang}", full_page=True)

    # an EXCELLENT citizen is above the guide's band range: free entry only
    other, _ = make_page(locale=locale, target=city)
    museum_citizen(other, city, 762)
    assert other.locator(f".venue-has[data-audience={AUD}] .ticks li").all_inner_texts() == \
        [f"{ADDED['perks'][0]['title'][lang]} · {usage['day']}"]


def test_pp1_and_pp2_codes_granted_at_a_gate_that_learned_museums_from_the_trust_list(
        make_page, city, shoot, museum_kiosk):
    page, _ = make_page(locale="zh-CN", target=city)
    museum_citizen(page, city, 647)
    page.wait_for_selector("#quick-codes #offline-ready")   # the phone holds its certificates
    store = trust(city)

    # PP1, online: the issuer's code
    page.click(f"#quick-codes .quick-code[data-audience={AUD}]")
    page.wait_for_selector("svg.qr-svg:not([data-mode=pp2])")  # online: the issuer's code (PP1)
    assert page.locator("#code-title").inner_text() == "博物馆"
    pp1 = decode_qr(shoot(page, "museum-code-pp1"))
    decision = Verifier(store, AUD).verify(pp1)
    assert decision.status is Status.GRANTED and sorted(decision.perks) == sorted([FREE, GUIDE])
    granted = museum_kiosk.scan_hid(pp1)
    assert granted["status"] == "GRANTED", granted
    assert "免费参观" in granted["perk"] or "free entry" in granted["perk"].lower(), granted

    # PP2, the phone offline: a code made on the phone, granted once; the next one is "already used here"
    ctx = page.context
    ctx.set_offline(True)
    page.close()  # and opened again with no network, as on an underground platform
    page = ctx.new_page()
    page.goto("/app/")
    page.click(f"#quick-codes .quick-code[data-audience={AUD}]")
    page.wait_for_selector("svg.qr-svg[data-mode=pp2]")
    assert page.locator("#code-title").inner_text() == "博物馆", "offline, the name the page last read"
    first_shown = page.get_attribute("svg.qr-svg", "data-jti")
    pp2 = decode_qr(shoot(page, "museum-code-pp2"))
    assert pp2.startswith("PP2")
    assert museum_kiosk.scan_hid(pp2)["status"] == "GRANTED"
    page.wait_for_function("(j) => { const s = document.querySelector('svg.qr-svg[data-mode=pp2]');"
                           " return s && s.dataset.jti !== j; }", arg=first_shown, timeout=35_000)
    again = museum_kiosk.scan_hid(decode_qr(shoot(page, "museum-code-pp2-next")))
    assert again["status"] == "REPLAYED", again   # free entry is once a day: the gate applies the list's rule
    ctx.set_offline(False)

    # the kiosk names its venue type as the trust list does, in the kiosk's language
    museum_kiosk.call("set_lang", lang="zh-CN")
    museum_kiosk.call("goto", screen="settings")
    info = museum_kiosk.call("text_of", screen="settings", id="info")
    assert "(博物馆)" in info, info
    museum_kiosk.call("goto", screen="scan")

    # the console's statistics: grants by venue type, uploaded by the kiosk, under the registry's names
    museum_kiosk.call("sync_now")
    museum_kiosk.wait_for(lambda st: st.get("pending") == 0, 30, "upload")
    from backend.services import console_auth
    with city.app.app_context():
        secret = console_auth.create_account("museum.ops", "operator", int(time.time()),
                                             password="correct horse battery staple 20").totp_secret
    con = requests.Session()
    r = con.post(city.base + "/console/api/login", timeout=10, json={
        "username": "museum.ops", "password": "correct horse battery staple 20",
        "code": console_auth.totp_now(secret, int(time.time()))})
    assert r.status_code == 200, r.text
    overview = con.get(city.base + "/console/api/overview", timeout=10).json()
    # the PP1 and the first PP2 grant, each of both perks (a grant is counted per perk); never the REPLAYED one
    assert sum(overview["grants"]["by_audience"][AUD]) == 4
    assert sum(overview["issued"]["by_audience"][AUD]) >= 1
    for lang, label in (("en", "Museum"), ("zh-CN", "博物馆")):
        svg = con.get(city.base + f"/console/api/charts/grants-by-venue-type.svg?lang={lang}", timeout=10).text
        assert label in svg, svg[:500]
