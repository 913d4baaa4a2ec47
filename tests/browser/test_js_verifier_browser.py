"""The JavaScript verifier (clients/js) in a real browser: Debian's Chromium imports clients/js/src as ES modules
from a local web server and answers every case and trust-list case of assets/test-vectors/perkpass-v1.json
as recorded, with the browser's own WebCrypto (Ed25519, ECDSA P-256). That is the "also usable in a browser"
promise of docs/partner-sdk.md, checked rather than assumed (the Node tests cannot show it: Node is not a
browser, and the core must use nothing but what a browser gives)."""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser

RUN_VECTORS = """async () => {
  const m = await import("/src/index.js");
  const vectors = await (await fetch("/perkpass-v1.json")).json();
  const iatOf = (jws) => JSON.parse(atob(jws.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).iat;
  const wrong = [];
  for (const c of vectors.cases) {
    const store = new m.TrustStore(vectors.root_public_key);
    await store.load(c.trust_list, { now: iatOf(c.trust_list) });
    const verifier = new m.Verifier(store, { audience: c.audience, leeway: vectors.leeway });
    for (const p of c.prior ?? []) await verifier.verify(p.qr_text, { perk: p.perk, now: p.now });
    const got = [];
    for (let i = 0; i < c.expected.length; i++) got.push((await verifier.verify(c.qr_text, { perk: c.perk, now: c.now })).status);
    // PP3 (issue 23) is not in clients/js: it must answer UNSUPPORTED_VERSION, as a verifier predating PP3 does
    const expected = /^[Pp][Pp]3/.test(c.qr_text.trimStart()) ? c.expected.map(() => "UNSUPPORTED_VERSION") : c.expected;
    if (JSON.stringify(got) !== JSON.stringify(expected)) wrong.push([c.name, got, expected]);
  }
  const classes = { TrustListRollbackError: "ROLLBACK", TrustListSignatureError: "BAD_SIGNATURE" };
  for (const c of vectors.trust_list_cases) {
    const store = new m.TrustStore(vectors.root_public_key);
    const got = [];
    for (const tl of c.load) {
      try {
        await store.load(tl, { now: iatOf(tl) });
        got.push("OK");
      } catch (err) {
        got.push(classes[err.name] ?? (err instanceof m.TrustListError ? "MALFORMED" : String(err)));
      }
    }
    if (JSON.stringify(got) !== JSON.stringify(c.expected)) wrong.push([c.name, got, c.expected]);
  }
  return { cases: vectors.cases.length + vectors.trust_list_cases.length, wrong, agent: navigator.userAgent };
}"""


@pytest.fixture
def site(tmp_path):
    """clients/js/src and the vectors on a local web server (ES modules need an http origin)."""
    shutil.copytree(REPO / "clients" / "js" / "src", tmp_path / "src")
    shutil.copy(REPO / "assets" / "test-vectors" / "perkpass-v1.json", tmp_path / "perkpass-v1.json")
    (tmp_path / "index.html").write_text("<!doctype html><title>clients/js</title>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_javascript_verifier_passes_every_vector_in_chromium(chromium, site):
    page = chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(site + "/index.html")
    result = page.evaluate(RUN_VECTORS)
    page.close()
    assert not errors
    assert result["cases"] >= 90
    assert result["wrong"] == [], result["wrong"][:5]
    assert "Chrome" in result["agent"]
