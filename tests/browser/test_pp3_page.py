"""PP3 on a real phone browser (issue 23): headless Chromium loads the page's PP3 module lazily, commits to
its secrets, gets blind-signed certificates from the real backend, makes codes offline, and the Python
verifier grants them; two codes of one citizen share nothing beyond what every holder of those perks shows.
The first test drives the module from the page's origin; the second goes through the page's own screens."""
from __future__ import annotations

import time

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from partner_sdk import Status, Verifier, pp3
from partner_sdk import format as fmt

from tests.utc_day import DAY, wait_for_room

from .conftest import Server
from .test_citizen_page import decode_qr, new_phone, operator, session_token, sign_up, trust

# The longest test here asks for a code 200 s ahead and takes about 30 s on a loaded 2-core machine: 300 s of
# today left, or the test starts just after midnight UTC (tests/utc_day.py)
DAY_NEEDED = 300

MAKE_CODES = """async ([token, offsets]) => {
  const t0 = performance.now();
  const m = await import('/app/vendor/pp3-holder.mjs');
  const loaded = performance.now() - t0;
  const b64 = u => btoa(String.fromCharCode(...u)).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const unb64 = s => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4)),
                                     c => c.charCodeAt(0));
  const requests = [];
  for (let i = 0; i < 8; i++) requests.push(await m.holderRequest());
  const r = await fetch('/api/v1/me/pp3/certificates', {method: 'POST', headers: {'Content-Type': 'application/json',
    Authorization: 'Bearer ' + token}, body: JSON.stringify({commitments: requests.map(q => b64(q.commitment))})});
  const body = await r.json();
  if (r.status !== 200) return {status: r.status, body};
  const c = body.certificates.find(x => x.audience === 'metro');
  const secret = m.holderSecret(requests[c.commitment_index], unb64(c.signer_nym_entropy));
  const cert = {kid: c.kid, audience: c.audience, perks: c.perks.map(p => p.code), day: c.day, scheme: c.scheme,
                signature: unb64(c.signature), claimsBlock: unb64(c.claims_block)};
  const codes = [], ms = [];
  for (const dt of offsets) {
    const t = performance.now();
    codes.push(await m.makeCode({cert, secret, publicKey: unb64(body.public_key), issuer: body.issuer,
                                 now: body.server_time + dt, window: c.quota_window}));
    ms.push(performance.now() - t);
  }
  return {status: r.status, codes, ms, loaded, now: body.server_time, window: c.quota_window,
          sent: requests.map(q => b64(q.commitment))};
}"""


@pytest.fixture(scope="module")
def pp3_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("browser-pp3"), PERKPASS_PP3_SCHEMES="moli")
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def room_in_the_utc_day():
    slept = wait_for_room(DAY_NEEDED)
    if slept:
        print(f"waited {slept:.0f} s for the UTC day to change: the test's certificates must outlive it")


def test_a_test_started_near_midnight_utc_waits_for_the_next_day():
    """The guard above, on a fake clock: it waits only in the day's last DAY_NEEDED seconds, to just past midnight."""
    slept: list[float] = []
    midnight = 1_796_169_600
    assert midnight % DAY == 0
    for start, wait in [(midnight - 3600, 0.0), (midnight - DAY_NEEDED - 1, 0.0), (midnight - DAY_NEEDED, DAY_NEEDED + 2),
                        (midnight - 10, 12.0), (midnight + 5, 0.0)]:
        slept.clear()
        assert wait_for_room(DAY_NEEDED, clock=lambda s=start: s, sleep=slept.append) == wait
        assert slept == ([wait] if wait else [])
        assert not wait or (start + wait) // DAY == midnight // DAY and (start + wait) % DAY < 5


def _longest_common_run(a: bytes, b: bytes) -> int:
    best, prev = 0, [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def test_the_phone_makes_pp3_codes_the_gate_grants_and_they_share_nothing(make_page, pp3_server):
    page, watch = make_page(target=pp3_server)
    phone = new_phone()
    sign_up(page, phone)
    # the page's first load does not name the PP3 module (no script, no modulepreload): it is imported only
    # when PP3 is used (the service worker keeps a copy for offline use, as it does for every file)
    assert "pp3-holder" not in requests.get(pp3_server.base + "/app/", timeout=10).text
    operator(pp3_server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli",
             "score": 713, "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    # several codes: the first and the fourth in other quota windows, the next two in the first one's
    out = page.evaluate(MAKE_CODES, [session_token(page), [0, 200, 5, 35]])
    assert out["status"] == 200, out
    store = trust(pp3_server)
    now = out["now"]
    first, later, same_window, again = out["codes"]
    gate = Verifier(store, "metro")
    d1 = gate.verify(first, now=now)
    assert d1.status is Status.GRANTED, d1.detail
    assert d1.perks and d1.scheme is None
    # the next code in the same quota window: the same pseudonym, so the gate's quota refuses it
    d3 = gate.verify(same_window, now=now + 5)
    if (now + 5) // 30 * 30 // out["window"] == now // 30 * 30 // out["window"]:
        assert d3.status is Status.REPLAYED and d3.pseudonym == d1.pseudonym
    d2 = gate.verify(later, now=now + 200)
    assert d2.status is Status.GRANTED and d2.pseudonym != d1.pseudonym and d2.jti != d1.jti
    # two codes of one citizen: past the public head, no longer common run than random bytes have
    a, b = fmt.digits_to_bytes(first[3:]), fmt.digits_to_bytes(later[3:])
    public = pp3.HEAD_LEN + a[9]
    assert a[:5] == b[:5] and a[public:public + 4] == b[public:public + 4]  # key reference; window
    assert _longest_common_run(a[public + 4:], b[public + 4:]) <= 4
    # what the issuer saw (the commitments) appears in no code
    for sent in out["sent"]:
        blob = fmt.b64url_decode(sent)
        assert blob[:48] not in a and blob[:48] not in b
    # timings for docs/performance.md (headless Chromium on this machine, load noted there)
    print(f"pp3 page: module load {out['loaded']:.0f} ms, proofs {[round(x) for x in out['ms']]} ms")
    assert all(pp3.parse_qr_text(c).window == out["window"] for c in out["codes"])
    assert requests.get(pp3_server.base + "/app/vendor/pp3-holder.mjs", timeout=10).status_code == 200
    assert time.time() - now < 600


SAVED_PP3 = """() => new Promise((resolve) => {
  const req = indexedDB.open('perkpass-holder', 1);
  req.onsuccess = () => {
    const get = req.result.transaction('kv').objectStore('kv').get('pp3');
    get.onsuccess = () => resolve(get.result ? get.result.certificates.map((c) => c.audience) : []);
    get.onerror = () => resolve([]);
  };
  req.onerror = () => resolve([]);
})"""


def wait_for_saved_pp3(page, audience: str = "metro", timeout: float = 30.0) -> list[str]:
    """Poll IndexedDB until the page has saved a PP3 certificate for ``audience``; the audiences saved. (Not
    page.wait_for_function with an async predicate: Playwright takes its Promise as truthy and returns at once,
    before anything is saved, which read as "the saved certificates are sometimes gone".)"""
    deadline = time.monotonic() + timeout
    while True:
        saved = page.evaluate(SAVED_PP3)
        if audience in saved:
            return saved
        assert time.monotonic() < deadline, f"no PP3 certificate for {audience} saved within {timeout} s: {saved}"
        page.wait_for_timeout(100)


def _pp3_code_on_screen(page, shoot, name: str, after_slot: str | None = None) -> tuple[str, str]:
    """Wait for the code screen's PP3 QR (a newer slot than ``after_slot``), screenshot it, decode it."""
    page.wait_for_function("(s) => { const q = document.querySelector('svg.qr-svg[data-mode=pp3]');"
                           " return q && q.dataset.slot !== s"
                           " && document.querySelector('#code-panel[data-state=pp3-code] #code-status p'); }",
                           arg=after_slot or "", timeout=40_000)
    slot = page.get_attribute("svg.qr-svg[data-mode=pp3]", "data-slot")
    text = decode_qr(shoot(page, name))
    assert text.startswith("PP3") and text[3:].isdigit()
    return text, slot


def test_the_code_screen_shows_pp3_codes_offline_the_gate_grants(make_page, pp3_server, shoot):
    """The citizen page itself (no test-side module driving): logging in fetches today's blind-signed PP3
    certificate with the PP2 renewal, and with no network at all the code screen shows PP3 codes, a fresh
    proof each slot; the SDK grants them; the phone keeps where it showed them."""
    page, watch = make_page(target=pp3_server, locale="en-US")
    phone = new_phone()
    sign_up(page, phone)
    operator(pp3_server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli",
             "score": 713, "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    page.reload()
    page.wait_for_selector("#quick-codes #offline-ready")
    wait_for_saved_pp3(page)
    assert sorted(page.evaluate(SAVED_PP3)) == ["gov-office", "metro"]
    store = trust(pp3_server)

    # no network, the tab closed and opened again: the page, its PP3 module and the BBS library come from
    # the service worker's cache, the certificate from IndexedDB
    ctx = page.context
    ctx.set_offline(True)
    page.close()
    page = ctx.new_page()
    page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
    page.goto("/app/")
    page.click("#quick-codes .quick-code[data-audience=metro]")
    first, slot1 = _pp3_code_on_screen(page, shoot, "pp3-code")
    assert "Unlinkable code made on this phone" in page.inner_text("#code-status")
    gate = Verifier(store, audience="metro")
    d1 = gate.verify(first)
    assert d1.status is Status.GRANTED, d1.detail
    assert d1.perks == ("MOLI-METRO20",) and d1.scheme is None
    p1 = pp3.parse_qr_text(first)
    assert str(p1.slot) == slot1

    # the next slot: a new proof. Within one quota window ("once per visit" here) the pseudonym repeats, so
    # the gate's quota refuses it; in the next window it differs and is granted. Nothing else is shared.
    second, _ = _pp3_code_on_screen(page, shoot, "pp3-code-next", after_slot=slot1)
    p2 = pp3.parse_qr_text(second)
    assert p2.window == p1.window
    same_window = p1.slot * 30 // p1.window == p2.slot * 30 // p2.window
    assert (p1.pseudonym == p2.pseudonym) is same_window
    d2 = gate.verify(second)
    assert d2.status is (Status.REPLAYED if same_window else Status.GRANTED), d2.detail
    assert d2.jti != d1.jti
    assert _longest_common_run(p1.proof, p2.proof) <= 4
    if not same_window:
        assert _longest_common_run(p1.pseudonym, p2.pseudonym) <= 4
    # the same phone at another venue type, same moment: another pseudonym, granted there
    page.goto("/app/#/code/gov-office")
    other, _ = _pp3_code_on_screen(page, shoot, "pp3-code-gov")
    po = pp3.parse_qr_text(other)
    assert po.pseudonym != p2.pseudonym and _longest_common_run(po.pseudonym, p2.pseudonym) <= 4
    assert Verifier(store, audience="gov-office").verify(other).status is Status.GRANTED

    # Chinese, phone size
    page.goto("/app/#/code/metro")
    page.click("#lang")
    _pp3_code_on_screen(page, shoot, "pp3-code-zh")
    assert "不可关联" in page.inner_text("#code-status")
    page.click("#lang")

    # "where my codes were used": kept on the phone (offline here), the server has nothing to list
    page.goto("/app/#/history")
    page.wait_for_selector("#pp3-history-list li")
    venues = page.locator("#pp3-history-list li").evaluate_all("els => els.map((e) => e.dataset.audience)")
    assert set(venues) == {"metro", "gov-office"}
    ctx.set_offline(False)


HOLDER_SAVED = """() => new Promise((resolve) => {
  const req = indexedDB.open('perkpass-holder', 1);
  req.onsuccess = () => {
    const kv = req.result.transaction('kv').objectStore('kv');
    const state = kv.get('state');
    const pp3 = kv.get('pp3');
    pp3.onsuccess = () => resolve({
      pp2: ((state.result || {}).certificates || []).map((c) => [c.audience, c.not_after]),
      pp3: ((pp3.result || {}).certificates || []).map((c) => [c.audience, c.day]) });
  };
})"""

FORMAT_TIME = """([epoch, lang]) => new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' })
  .format(new Date(epoch * 1000))"""


def test_the_offline_banner_says_until_when_pp3_codes_work(make_page, pp3_server, shoot):
    """PP3 certificates end with their UTC day, not when the phone's PP2 certificate does: offline, the banner
    says both, the unlinkable codes' end first-hand (the certificate's day end, here 08:00 the next morning in
    Shanghai) and the PP2 codes' end after it, in English and Chinese."""
    page, _ = make_page(target=pp3_server, locale="en-US", timezone_id="Asia/Shanghai")
    phone = new_phone()
    sign_up(page, phone)
    operator(pp3_server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli",
             "score": 713, "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    page.reload()
    page.wait_for_selector("#quick-codes #offline-ready")
    wait_for_saved_pp3(page)
    saved = page.evaluate(HOLDER_SAVED)
    days = {day for _, day in saved["pp3"]}
    assert len(days) == 1, saved
    pp3_end = (days.pop() + 1) * 86_400  # midnight UTC after the certificates' day
    pp3_types = {aud for aud, _ in saved["pp3"]}
    ends = {}
    for aud, not_after in saved["pp2"]:
        ends[aud] = min(ends.get(aud, not_after - 60), not_after - 60)
    for aud in pp3_types:
        ends[aud] = max(ends.get(aud, 0), pp3_end)
    until = min(ends.values())
    assert until > pp3_end, "the PP2 certificate (a day long, fetched just now) outlasts today's PP3 ones"

    page.context.set_offline(True)
    banner = page.locator("#offline")
    banner.wait_for(state="visible")
    en = banner.inner_text()
    assert en == (f"You are offline. Your saved codes work without signal until "
                  f"{page.evaluate(FORMAT_TIME, [until, 'en-US'])}. Until "
                  f"{page.evaluate(FORMAT_TIME, [pp3_end, 'en-US'])}, venues cannot link them to each other, "
                  f"except within a perk's limit (like once a day); after that, one kind of venue can link your "
                  f"codes within a day."), en
    assert "8:00" in page.evaluate(FORMAT_TIME, [pp3_end, "en-US"]), "midnight UTC is 08:00 in Shanghai"
    shoot(page, "pp3-offline-banner")
    page.click("#lang")
    page.wait_for_function("() => document.documentElement.lang.startsWith('zh')")
    page.wait_for_function("() => document.getElementById('offline').textContent.startsWith('您已离线')")
    zh = banner.inner_text()
    assert zh == (f"您已离线。本机保存的二维码无需信号即可使用，有效至 {page.evaluate(FORMAT_TIME, [until, 'zh-CN'])}。"
                  f"{page.evaluate(FORMAT_TIME, [pp3_end, 'zh-CN'])} 之前，场所无法把这些二维码相互关联，"
                  f"仅在权益限次范围内（如每天一次）除外；之后，同一类场所在一天内可以关联您的二维码。"), zh
    shoot(page, "pp3-offline-banner-zh")
    page.click("#lang")
    page.context.set_offline(False)


STRIP_LAYOUT = """() => new Promise((resolve, reject) => {
  const req = indexedDB.open('perkpass-holder', 1);
  req.onsuccess = () => {
    const kv = req.result.transaction('kv', 'readwrite').objectStore('kv');
    const get = kv.get('pp3');
    get.onsuccess = () => {
      const v = get.result;
      v.certificates = v.certificates.map(({ layout, ...c }) => c);
      const put = kv.put(v, 'pp3');
      put.onsuccess = () => resolve(v.certificates.length);
      put.onerror = () => reject(put.error);
    };
  };
})"""


def test_a_certificate_of_the_earlier_layout_is_not_used(make_page, pp3_server):
    """A phone that fetched today's certificate before the layout changed (c980dbc) would make codes no gate
    accepts: it shows its PP2 codes instead (offline here), until the next day's PP3 certificate."""
    page, watch = make_page(target=pp3_server, locale="en-US")
    phone = new_phone()
    sign_up(page, phone)
    operator(pp3_server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli",
             "score": 713, "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    page.reload()
    page.wait_for_selector("#quick-codes #offline-ready")
    wait_for_saved_pp3(page)
    assert page.evaluate(STRIP_LAYOUT) >= 1
    ctx = page.context
    ctx.set_offline(True)
    page.close()
    page = ctx.new_page()
    page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
    page.goto("/app/")
    page.click("#quick-codes .quick-code[data-audience=metro]")
    page.wait_for_selector("svg.qr-svg[data-mode=pp2]", timeout=30_000)
    assert page.locator("#code-panel[data-state=pp3-code]").count() == 0
    assert "cannot link" not in page.inner_text("#offline")
    ctx.set_offline(False)


def _first_qr(page, shoot, name: str) -> str:
    """Wait for the code screen's first QR of any kind (issuer, PP2 or PP3), screenshot it, decode it."""
    page.wait_for_selector("svg.qr-svg", timeout=40_000)
    return decode_qr(shoot(page, name))


def test_online_the_code_screen_shows_pp3_once_saved_and_after_a_reload(make_page, pp3_server, shoot):
    """Issue 23's field report: online, on the page that had just fetched today's PP3 certificates, the code
    screen showed the issuer's (PP1) code. The citizen opens "Show my code" while the page is still getting them
    (the issuer's answer held back here, so the order is certain): the issuer's code first, then, once they are
    saved, the phone's unlinkable code on the same screen. After reloads IndexedDB still holds them and the code
    screen opens on a PP3 code."""
    page, _ = make_page(target=pp3_server, locale="en-US")
    phone = new_phone()
    sign_up(page, phone)
    operator(pp3_server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli",
             "score": 713, "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    held: list = []
    page.route("**/api/v1/me/pp3/certificates", lambda route: held.append(route))
    page.reload()
    for _ in range(300):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the page asked for no PP3 certificate"
    page.click("#quick-codes .quick-code[data-audience=metro]")
    text = _first_qr(page, shoot, "pp3-code-online-before")
    assert text[:3] != pp3.QR_PREFIX  # no certificate yet: the issuer's code
    held[0].continue_()
    page.unroute("**/api/v1/me/pp3/certificates")
    wait_for_saved_pp3(page)
    store = trust(pp3_server)
    gate = Verifier(store, audience="metro")
    try:
        page.wait_for_selector("svg.qr-svg[data-mode=pp3]", timeout=15_000)
    except PlaywrightTimeout:
        pass  # the decoded QR below says what is shown instead
    text = decode_qr(shoot(page, "pp3-code-online"))
    assert text[:3] == pp3.QR_PREFIX, f"online, with the certificates saved, the code screen shows {text[:3]}"
    assert pp3.parse_qr_text(text).audience == "metro"  # the SDK reads it as its PP3 format
    assert gate.verify(text).status is Status.GRANTED

    for n in range(2):
        page.reload()
        text = _first_qr(page, shoot, f"pp3-code-online-reload{n}")
        assert text[:3] == pp3.QR_PREFIX, f"after reload {n + 1} the code screen shows {text[:3]}"
        assert pp3.parse_qr_text(text).audience == "metro"
        page.wait_for_timeout(2000)  # the PP2 renewal that the reload started has finished
        assert sorted(page.evaluate(SAVED_PP3)) == ["gov-office", "metro"], f"after reload {n + 1}"


PP3_RECORD = """() => new Promise((resolve) => {
  const req = indexedDB.open('perkpass-holder', 1);
  req.onsuccess = () => {
    const get = req.result.transaction('kv').objectStore('kv').get('pp3');
    get.onsuccess = () => resolve(get.result === undefined ? null : (get.result.certificates || []).length);
  };
})"""


def test_logging_out_while_the_pp3_certificates_are_on_their_way_keeps_none(make_page, pp3_server):
    """A shared phone keeps nothing after a log-out, PP3 certificates included: the issuer's answer (issued, so
    held back here after the server made it) reaches the page after the citizen logged out, and is not saved."""
    page, _ = make_page(target=pp3_server, locale="en-US")
    phone = new_phone()
    sign_up(page, phone)
    operator(pp3_server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli",
             "score": 713, "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    held: list = []
    page.route("**/api/v1/me/pp3/certificates", lambda route: held.append((route, route.fetch())))
    page.reload()
    for _ in range(300):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the page asked for no PP3 certificate"
    route, answer = held[0]
    assert answer.status == 200 and answer.json()["certificates"]
    page.click("#logout")
    page.wait_for_function("() => location.hash === '#/login'")
    route.fulfill(response=answer)
    page.unroute("**/api/v1/me/pp3/certificates")
    page.wait_for_timeout(2000)  # the page has read the answer (a few ms) and would have saved it by now
    assert page.evaluate(PP3_RECORD) is None


TWO_WRITERS = """async () => {
  // the page's own holder module on its IndexedDB record, as js/pp3.js uses it: the sync saving a certificate
  // and the code screen noting a shown code, started in the same moment
  const holder = await import('/app/js/holder.js');
  await holder.load();
  const v = holder.pp3Saved();
  const extra = { ...v.certificates[0], scheme: 'second-scheme' };
  await Promise.all([
    holder.updatePp3((cur) => ({ ...cur, certificates: [...cur.certificates, extra] })),
    holder.updatePp3((cur) => ({ ...cur, shown: [...(cur.shown || []), { id: 'note', last: 1 }] })),
  ]);
  return v.certificates.length;
}"""

SAVED_RECORD = """() => new Promise((resolve) => {
  const req = indexedDB.open('perkpass-holder', 1);
  req.onsuccess = () => {
    const get = req.result.transaction('kv').objectStore('kv').get('pp3');
    get.onsuccess = () => resolve({ schemes: get.result.certificates.map((c) => c.scheme),
                                    shown: (get.result.shown || []).map((x) => x.id) });
  };
})"""


def test_two_writes_of_the_pp3_record_at_once_both_survive_a_reload(make_page, pp3_server):
    """The sync saving certificates and the code screen noting a code write the same IndexedDB record; started
    together, neither undoes the other (a note written over the certificates lost them at the next reload)."""
    page, _ = make_page(target=pp3_server, locale="en-US")
    phone = new_phone()
    sign_up(page, phone)
    operator(pp3_server, "POST", "/api/v1/operator/scores", json={"scores": [{"phone": phone, "scheme": "moli",
             "score": 713, "reason": "annual-recalculation", "source_system": "perkpass-operator"}]})
    page.reload()
    wait_for_saved_pp3(page)
    before = page.evaluate(TWO_WRITERS)
    page.reload()
    saved = page.evaluate(SAVED_RECORD)
    assert len(saved["schemes"]) == before + 1 and "second-scheme" in saved["schemes"], saved
    assert saved["shown"] == ["note"], saved
