// The verifier's API: configuration mistakes throw, codes never do; the replay memory; the building blocks'
// strictness; and the core runs in a browser (no Node-only module in src/).
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";

import {
  ConfigurationError, InvalidClockError, MemoryReplayCache, Status, TrustListError, TrustStore, Verifier, decodeRevoked,
} from "../src/index.js";
import { b64urlDecode, b64urlEncode, bytesToDigits, digitsToBytes } from "../src/bytes.js";
import { parseJson, parseJsonBounded } from "../src/json.js";

const VECTORS = JSON.parse(readFileSync(new URL("../../../assets/test-vectors/perkpass-v1.json", import.meta.url), "utf8"));
const VALID = VECTORS.cases.find((c) => c.name === "valid");
const VALID_PP2 = VECTORS.cases.find((c) => c.name === "pp2_valid_ed25519");

async function verifier(options = {}, c = VALID) {
  const store = new TrustStore(VECTORS.root_public_key);
  await store.load(c.trust_list, { now: c.now - 600 });
  return new Verifier(store, { audience: c.audience, ...options });
}

test("a code is granted, with the decision's fields, frozen", async () => {
  const d = await (await verifier()).verify(VALID.qr_text, { now: VALID.now });
  assert.equal(d.status, Status.GRANTED);
  assert.equal(d.granted, true);
  assert.deepEqual([...d.perks], ["BAILU-LIB-DEPOSIT", "BAILU-LIB-PRIORITY", "BAILU-MUSEUM"]);
  assert.equal(d.issuer, VECTORS.issuer);
  assert.equal(d.jti, "vectorjti0000001");
  assert.ok(Object.isFrozen(d) && Object.isFrozen(d.perks));
  const p = await (await verifier({}, VALID_PP2)).verify(VALID_PP2.qr_text, { now: VALID_PP2.now });
  assert.equal(p.status, Status.GRANTED);
  assert.equal(p.jti, `${p.pseudonym}-${Math.floor(p.issuedAt / 30)}`);
  assert.equal(p.pseudonym.length, 16);
});

test("a bad clock or configuration throws; a bad code never does", async () => {
  const v = await verifier();
  for (const now of [NaN, Infinity, -Infinity, -1, 2 ** 40, "1795000010", null, new Date(NaN), true]) {
    await assert.rejects(v.verify(VALID.qr_text, { now }), InvalidClockError, String(now));
  }
  assert.equal((await v.verify(VALID.qr_text, { now: new Date(VALID.now * 1000) })).status, Status.GRANTED);
  await assert.rejects(v.verify(VALID.qr_text, { now: VALID.now, audience: "Metro" }), ConfigurationError);
  await assert.rejects(v.verify(VALID.qr_text, { now: VALID.now, perk: 5 }), ConfigurationError);
  const store = new TrustStore(VECTORS.root_public_key);
  assert.throws(() => new Verifier(store, { audience: "x" }), ConfigurationError);
  assert.throws(() => new Verifier(store, { audience: "metro", leeway: 121 }), ConfigurationError);
  assert.throws(() => new Verifier(store, { audience: "metro", leeway: NaN }), ConfigurationError);
  assert.throws(() => new Verifier(store, { audience: "metro", presentationWindow: 4 }), ConfigurationError);
  assert.throws(() => new Verifier(store, { audience: "metro", reuseInterval: 129 }), ConfigurationError);
  assert.equal(new Verifier(store, { audience: "metro" }).reuseInterval, 130);
  assert.equal(new Verifier(store, { audience: "metro", presentationWindow: 300, leeway: 120 }).reuseInterval, 840);
  assert.throws(() => new TrustStore({ kty: "OKP", crv: "Ed25519", x: "abc", d: "x" }), /private/);
  for (const code of [null, undefined, 5, {}, [], "", " ", "\u0000", "PP1", "PP2", "😀".repeat(2000),
    new Uint8Array(2000), new TextEncoder().encode(VALID.qr_text), "PP1" + "9".repeat(1497)]) {
    const d = await v.verify(code, { now: VALID.now });
    assert.ok(Object.values(Status).includes(d.status));
    assert.notEqual(d.status, Status.GRANTED);
  }
});

test("without a usable trust list every code answers TRUST_LIST_EXPIRED", async () => {
  const empty = new Verifier(new TrustStore(VECTORS.root_public_key), { audience: "library" });
  assert.equal((await empty.verify(VALID.qr_text, { now: VALID.now })).status, Status.TRUST_LIST_EXPIRED);
  const v = await verifier();
  const exp = v.trustStore.current.expiresAt;
  assert.equal((await v.verify(VALID.qr_text, { now: exp })).status, Status.TRUST_LIST_EXPIRED);
  assert.equal(v.trustStore.freshness(exp - 1).state, "stale");
});

test("replay memory: fails closed when full, forgets only when both clocks agree", () => {
  let mono = 0;
  const cache = new MemoryReplayCache({ maxEntries: 2, monotonic: () => mono });
  assert.equal(cache.checkAndRemember("a", 100, 0), true);
  assert.equal(cache.checkAndRemember("a", 100, 50), false);
  assert.equal(cache.checkAndRemember("b", 100, 0), true);
  assert.equal(cache.checkAndRemember("c", 100, 0), false); // full of live entries: refuse, never forget one
  assert.equal(cache.checkAndRemember("c", 200, 150), false); // the wall clock jumped, the monotonic did not
  mono = 100;
  assert.equal(cache.checkAndRemember("c", 200, 150), true);
  assert.equal(cache.checkAndRemember("a", 300, 150), true); // "a" expired at 100: a new entry
});

test("revoked member: 16-character ids, sorted, unique; anything else invalidates the list", () => {
  const a = "AAAAAAAAAAAAAAAA";
  const b = "AAAAAAAAAAAAAAAB";
  assert.deepEqual([...decodeRevoked(a + b)], [a, b]);
  assert.deepEqual([...decodeRevoked([a, b])], [a, b]);
  for (const bad of [b + a, a + a, "", a + "A", a.replace("A", "+"), [], [b, a], [a, 5], 5, null, [a + "A"]]) {
    assert.throws(() => decodeRevoked(bad), TrustListError, JSON.stringify(bad));
  }
});

test("canonical base64url and the decimal transport", () => {
  for (let n = 0; n < 40; n++) {
    const bytes = crypto.getRandomValues(new Uint8Array(n));
    assert.deepEqual(b64urlDecode(b64urlEncode(bytes)), bytes);
    assert.deepEqual(digitsToBytes(bytesToDigits(bytes)), bytes);
  }
  assert.throws(() => b64urlDecode("QR"), /canonical/); // "QQ" is the canonical form of those bits
  assert.throws(() => b64urlDecode("QQ=="), /base64url/);
  assert.throws(() => b64urlDecode("Q"), /base64url/);
  assert.throws(() => b64urlDecode("Q+"), /base64url/);
  for (const bad of ["", "0123", "+1", " 1", "1 ", "1_0", "١٢"]) assert.throws(() => digitsToBytes(bad), /digits/);
  assert.throws(() => digitsToBytes("2" + "0".repeat(40)), /sentinel/);
});

test("JSON: integers apart from floats, last duplicate wins, Maps, depth bounded before parsing", () => {
  assert.equal(parseJson("17"), 17n);
  assert.equal(typeof parseJson("17.0"), "number");
  assert.equal(typeof parseJson("1e3"), "number");
  assert.ok(Number.isNaN(parseJson("NaN")));
  const obj = parseJson('{"a":1,"__proto__":2,"a":3}');
  assert.ok(obj instanceof Map);
  assert.deepEqual([...obj], [["a", 3n], ["__proto__", 2n]]);
  for (const bad of ['{"a":1,}', "[1,]", '"\u0001"', "01", "1 2", "", '"\\x"', "{'a':1}", "tru"]) {
    assert.throws(() => parseJson(bad), /bad JSON/, bad);
  }
  const enc = (s) => new TextEncoder().encode(s);
  assert.throws(() => parseJsonBounded(enc("[[[1]]]"), 2), /too deeply/);
  assert.deepEqual(parseJsonBounded(enc('[["[[[[["]]'), 2), [["[[[[["]]);
  assert.throws(() => parseJsonBounded(enc("[".repeat(5000)), 16), /too deeply/);
  assert.throws(() => parseJsonBounded(Uint8Array.of(0x22, 0xff, 0x22), 2), /UTF-8/);
});

test("the core runs in a browser: src/ imports no Node module and uses no Node global", () => {
  const dir = new URL("../src/", import.meta.url);
  for (const name of readdirSync(dir)) {
    const source = readFileSync(new URL(name, dir), "utf8");
    assert.doesNotMatch(source, /from\s+["']node:|require\(|\bprocess\.|\bBuffer\b/, name);
    for (const m of source.matchAll(/from\s+["']([^"']+)["']/g)) assert.match(m[1], /^\.\/[a-z0-9]+\.js$/, `${name}: ${m[1]}`);
  }
});

test("a restarted store restores its list, its rollback mark and its root from exportState()", async () => {
  const byName = (name) => VECTORS.trust_list_cases.find((c) => c.name === name);
  const iatOf = (jws) => JSON.parse(Buffer.from(jws.split(".")[1], "base64url").toString("utf8")).iat;
  const [older, newer] = byName("newer_accepted").load;
  const first = new TrustStore(VECTORS.root_public_key);
  await first.load(newer, { now: iatOf(newer) });
  const saved = JSON.parse(JSON.stringify(first.exportState()));
  const restarted = new TrustStore(VECTORS.root_public_key);
  await restarted.restoreState(saved);
  assert.equal(restarted.current.sequence, first.current.sequence);
  await assert.rejects(restarted.load(older, { now: iatOf(older) }), (err) => err.name === "TrustListRollbackError");
  // a rotated root survives the restart: a list signed by the retired root is still refused
  const [, rotated] = byName("root_chain_followed").load;
  const [, byRetired] = byName("retired_root_refused_after_rotation").load;
  const r1 = new TrustStore(VECTORS.root_public_key);
  await r1.load(rotated, { now: iatOf(rotated) });
  const r2 = new TrustStore(VECTORS.root_public_key);
  await r2.restoreState(JSON.parse(JSON.stringify(r1.exportState())));
  assert.equal(r2.rootVersion, r1.rootVersion);
  assert.ok(r2.rootVersion > 0);
  await assert.rejects(r2.load(byRetired, { now: iatOf(byRetired) }), (err) => err.name === "TrustListSignatureError");
  // a damaged or hostile state is ignored, never trusted
  const r3 = new TrustStore(VECTORS.root_public_key);
  const tampered = newer.slice(0, -10) + (newer.at(-10) === "B" ? "C" : "B") + newer.slice(-9);
  await r3.restoreState({ trustList: tampered, highWater: "x", rootVersion: 9, root: { kty: "EC" } });
  assert.equal(r3.current, null);
  assert.equal(r3.rootVersion, 0);
  await r3.restoreState(null);
});
