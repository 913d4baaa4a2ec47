"""Benchmark: making a PP3 code on the phone, in real headless Chromium (Debian's, via Playwright).

    python bench/pp3_browser.py [--codes 30]

The page's PP3 module (backend/static/app/vendor/pp3-holder.mjs, served by a local backend) is imported on
the page's origin and given a certificate blind-signed in Python over its own commitment; then, in the page:

* ``makeCode`` (BBS proof with the quota pseudonym, packed into "PP3" digits): the first call (it also
  derives the generators) and the median of ``--codes`` more, against a bare WebCrypto ECDSA P-256 sign (what
  a PP2 code costs the phone) measured in the same run. Goal (issue 23): <= 300 ms in headless Chromium.
* ``holderRequest`` (the commitment sent at issuance), once.

Every code made is checked by the Python verifier. Writes bench/out/pp3_browser.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.demo_server import DemoServer

from partner_sdk import Verifier, pp3
from partner_sdk.testing import TestIssuer

CHROMIUM = os.environ.get("PERKPASS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PERKS = ["MOLI-METRO20", "OSM-TRANSIT", "SES-BIKE-NODEPOSIT"]

COMMIT = """async () => {
  const m = await import('/app/vendor/pp3-holder.mjs');
  const t = performance.now();
  const r = await m.holderRequest();
  window.__pp3 = {m, r};
  const hex = u => Array.from(u, b => b.toString(16).padStart(2, '0')).join('');
  return {ms: performance.now() - t, commitment: hex(r.commitment)};
}"""

MEASURE = """async ([c, n]) => {
  const {m, r} = window.__pp3;
  const unhex = h => Uint8Array.from(h.match(/../g), x => parseInt(x, 16));
  const secret = m.holderSecret(r, unhex(c.entropy));
  const cert = {kid: c.kid, audience: c.audience, perks: c.perks, day: c.day, scheme: c.scheme,
                signature: unhex(c.signature), claimsBlock: unhex(c.claims)};
  const args = now => ({cert, secret, publicKey: unhex(c.pk), issuer: c.issuer, now, window: c.window});
  let t = performance.now();
  const codes = [await m.makeCode(args(c.now))];
  const first = performance.now() - t;
  const each = [];
  for (let i = 1; i <= n; i++) {
    t = performance.now();
    codes.push(await m.makeCode(args(c.now + 150 * i)));
    each.push(performance.now() - t);
  }
  const key = await crypto.subtle.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, false, ['sign']);
  const data = new Uint8Array(180);
  const base = [];
  for (let i = 0; i < n; i++) {
    t = performance.now();
    await crypto.subtle.sign({name: 'ECDSA', hash: 'SHA-256'}, key.privateKey, data);
    base.push(performance.now() - t);
  }
  return {first, each, base, codes};
}"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--codes", type=int, default=30)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: apt-get install chromium")
        return 2
    from playwright.sync_api import sync_playwright

    now = int(time.time())
    issuer = TestIssuer(issuer="perkpass.bench", key_window=(now - 86_400, now + 30 * 86_400))
    store = issuer.trust_store(now=now - 60, bbs_keys=issuer.bbs_keys())
    gate = Verifier(store, "metro")
    window = pp3.quota_window(gate.policy.usage_interval(tuple(PERKS)))
    with tempfile.TemporaryDirectory() as tmp:
        server = DemoServer(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                page = browser.new_page(base_url=server.base)
                page.goto("/app/")
                commit = page.evaluate(COMMIT)
                cert, entropy = pp3.blind_sign_certificate(issuer.bbs_secret_key, issuer.bbs_kid, issuer.issuer,
                                                           "metro", PERKS, now // 86_400, "moli",
                                                           bytes.fromhex(commit["commitment"]))
                c = {"kid": cert.kid, "audience": cert.audience, "perks": list(cert.perks), "day": cert.day,
                     "scheme": cert.scheme, "signature": cert.signature.hex(),
                     "claims": pp3.claims_block(cert.audience, cert.perks).hex(),
                     "entropy": entropy.to_bytes(32, "big").hex(), "pk": issuer.bbs_public_key.hex(),
                     "issuer": issuer.issuer, "now": now, "window": window}
                out = page.evaluate(MEASURE, [c, args.codes])
                browser.close()
        finally:
            server.stop()
    for i, code in enumerate(out["codes"]):
        d = Verifier(store, "metro").verify(code, now=now + 150 * i)
        assert d.granted, (i, d.status, d.detail)
    median, base = statistics.median(out["each"]), statistics.median(out["base"])
    result = {
        "make_code_first_ms": round(out["first"], 1),
        "make_code_median_ms": round(median, 1),
        "make_code_p90_ms": round(sorted(out["each"])[int(0.9 * len(out["each"])) - 1], 1),
        "bare_webcrypto_p256_sign_median_ms": round(base, 2),
        "ratio_make_code_to_p256_sign": round(median / base, 1) if base else None,
        "holder_request_ms": round(commit["ms"], 1),
        "codes_checked_by_python_verifier": len(out["codes"]),
        "load_average": [round(x, 1) for x in os.getloadavg()], "cpus": os.cpu_count(),
    }
    (ROOT / "bench" / "out").mkdir(exist_ok=True)
    (ROOT / "bench" / "out" / "pp3_browser.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
