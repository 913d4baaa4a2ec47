"""PP3 on a real phone browser (issue 23): headless Chromium loads the page's PP3 module lazily, commits to
its secrets, gets blind-signed certificates from the real backend, makes codes offline, and the Python
verifier grants them; two codes of one citizen share nothing beyond what every holder of those perks shows.
The page's screens do not offer PP3 yet: the module is driven from the page's own origin here."""
from __future__ import annotations

import time

import pytest
import requests

from partner_sdk import Status, Verifier, pp3
from partner_sdk import format as fmt

from .conftest import Server
from .test_citizen_page import new_phone, operator, session_token, sign_up, trust

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
    public = 12 + a[11]
    assert a[:5] == b[:5] and a[public:public + 4] == b[public:public + 4]  # key reference, day; window
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
