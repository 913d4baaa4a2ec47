// PP3 (docs/credential-format.md "PP3"): with the page's BBS module as the `bbs` option, every case of
// pp3-vectors.json (written by tests/sdk/test_js_pp3.py from the Python SDK's answers) gets Python's answer;
// without it a PP3 code answers UNSUPPORTED_VERSION.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { ConfigurationError, Status, TrustStore, Verifier } from "../src/index.js";
import { parsePp3, quotaWindow, windowEnd } from "../src/pp3.js";

const V = JSON.parse(readFileSync(new URL("./pp3-vectors.json", import.meta.url), "utf8"));
const BBS = new URL("../../../backend/static/app/vendor/pp3-holder.mjs", import.meta.url);
const iatOf = (jws) => JSON.parse(Buffer.from(jws.split(".")[1], "base64url").toString("utf8")).iat;

async function answers(c, bbs) {
  const store = new TrustStore(V.root_public_key);
  await store.load(c.trust_list, { now: iatOf(c.trust_list) });
  const verifier = new Verifier(store, { audience: c.audience, bbs });
  for (const p of c.prior ?? []) await verifier.verify(p.qr_text, { perk: p.perk ?? null, now: p.now });
  const got = [];
  for (let i = 0; i < (c.repeat ?? 1); i++) got.push((await verifier.verify(c.qr_text, { perk: c.perk ?? null, now: c.now })).status);
  return got;
}

test("every PP3 vector gets the Python SDK's answer with the BBS module", async () => {
  const bbs = await import(BBS);
  assert.ok(V.cases.length >= 40);
  for (const c of V.cases) assert.deepEqual(await answers(c, bbs), c.python, c.why);
  assert.deepEqual(V.cases.find((c) => c.why === "granted").python, ["GRANTED"]);
});

test("a granted PP3 decision says venue type, perks and day's end, never a scheme", async () => {
  const bbs = await import(BBS);
  const c = V.cases.find((x) => x.why === "granted");
  const store = new TrustStore(V.root_public_key);
  await store.load(c.trust_list, { now: iatOf(c.trust_list) });
  const d = await new Verifier(store, { audience: "metro", bbs }).verify(c.qr_text, { now: c.now });
  const p = parsePp3(c.qr_text);
  assert.equal(d.status, Status.GRANTED);
  assert.deepEqual([...d.perks], p.perks);
  assert.equal(d.scheme, null);
  assert.equal(d.expiresAt, (p.day + 1) * 86400);
  assert.match(d.jti, /^pp3-[A-Za-z0-9_-]{16}$/);
  assert.equal(d.pseudonym.length, 64);
});

test("without a BBS module a PP3 code is UNSUPPORTED_VERSION, and a bad module is a configuration error", async () => {
  for (const c of V.cases.slice(0, 5)) {
    const got = await answers(c, null);
    assert.ok(got.every((s) => s === Status.UNSUPPORTED_VERSION), c.why);
  }
  assert.throws(() => new Verifier(new TrustStore(V.root_public_key), { audience: "metro", bbs: {} }), ConfigurationError);
});

test("quota windows: at least 130 s, aligned from the epoch", () => {
  assert.equal(quotaWindow(0), 130);
  assert.equal(quotaWindow(86400), 86400);
  assert.equal(windowEnd(130, 0), 130);
  assert.equal(windowEnd(86400, 1795000000 / 30), Math.floor(1795000000 / 86400 + 1) * 86400);
});
