// How much the JavaScript verifier adds to the signature checks a code needs, and what loading the largest
// trust list costs, measured in one run:
//   node clients/js/bench/verify.mjs
// Baseline per code type: the bare WebCrypto calls on the same bytes (PP1: one Ed25519 verify with an imported
// key; PP2: the issuer's Ed25519 verify plus importing the device key and verifying its signature), interleaved
// with the verifier in rounds so a busy machine slows both alike. Reports medians of the rounds' means.
import { readFileSync } from "node:fs";

import { TrustStore, Verifier } from "../src/index.js";
import { b64urlDecode, b64urlEncode, concatBytes, digitsToBytes, latin1Bytes, utf8Bytes } from "../src/bytes.js";
import { CERT_CONTEXT } from "../src/constants.js";
import { parsePp1, parsePp2 } from "../src/verify.js";

const VECTORS = JSON.parse(readFileSync(new URL("../../../assets/test-vectors/perkpass-v1.json", import.meta.url), "utf8"));
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const PER_ROUND = Number(process.env.PER_ROUND ?? 200);

const byName = (name) => VECTORS.cases.find((c) => c.name === name);
const iatOf = (jws) => JSON.parse(Buffer.from(jws.split(".")[1], "base64url").toString("utf8")).iat;

async function subject(c) {
  const store = new TrustStore(VECTORS.root_public_key);
  await store.load(c.trust_list, { now: iatOf(c.trust_list) });
  const issuerKey = await crypto.subtle.importKey("raw", b64urlDecode(VECTORS.issuer_keys[0].x), { name: "Ed25519" }, false, ["verify"]);
  // a replay memory that never refuses, so every round verifies the whole way to GRANTED
  const verifier = new Verifier(store, { audience: c.audience, replayCache: { checkAndRemember: () => true } });
  let bare;
  if (c.qr_text.startsWith("PP1")) {
    const raw = parsePp1(c.qr_text);
    const input = latin1Bytes(`${Buffer.from(raw.header).toString("base64url")}.${Buffer.from(raw.payload).toString("base64url")}`);
    bare = () => crypto.subtle.verify({ name: "Ed25519" }, issuerKey, raw.signature, input);
  } else {
    const p = parsePp2(c.qr_text);
    const signed = concatBytes(CERT_CONTEXT, utf8Bytes(VECTORS.issuer), new Uint8Array([0]), p.body);
    const ed = p.keyType === 1;
    const alg = ed ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" };
    const verifyAlg = ed ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
    bare = async () => {
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, issuerKey, p.signature, signed);
      const key = await crypto.subtle.importKey("raw", p.deviceKey, alg, false, ["verify"]);
      return ok && crypto.subtle.verify(verifyAlg, key, p.deviceSignature, p.signedInput);
    };
  }
  const full = async () => {
    const d = await verifier.verify(c.qr_text, { now: c.now });
    if (!d.granted) throw new Error(`${c.name}: ${d.status}`);
  };
  return { name: c.name, bare, full };
}

async function meanMicros(fn) {
  const t0 = performance.now();
  for (let i = 0; i < PER_ROUND; i++) await fn();
  return ((performance.now() - t0) * 1000) / PER_ROUND;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
digitsToBytes("1"); // warm the module
console.log(`clients/js verify vs bare WebCrypto, ${ROUNDS} rounds x ${PER_ROUND}, node ${process.version}`);
console.log("| code | bare WebCrypto µs | Verifier.verify µs | ratio |\n|---|---|---|---|");
for (const name of ["valid", "pp2_valid_ed25519", "pp2_valid_p256"]) {
  const s = await subject(byName(name));
  for (let i = 0; i < 3; i++) { await meanMicros(s.bare); await meanMicros(s.full); } // warm-up
  const bare = [];
  const full = [];
  const ratio = [];
  for (let r = 0; r < ROUNDS; r++) {
    const b = await meanMicros(s.bare);
    const f = await meanMicros(s.full);
    bare.push(b);
    full.push(f);
    ratio.push(f / b);
  }
  console.log(`| ${name} | ${median(bare).toFixed(0)} | ${median(full).toFixed(0)} | ${median(ratio).toFixed(2)}x |`);
}

// Trust lists signed here with a fresh root (WebCrypto): none withdrawn (the baseline) and the largest a verifier
// accepts (as many 16-character ids as fit in 1,000,000 bytes). Load = TrustStore.load (root signature, JSON,
// every check, the id set); median of interleaved rounds.
const root = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
const rootJwk = { ...(await crypto.subtle.exportKey("jwk", root.publicKey)), kid: "bench-root" };
async function signedList(ids) {
  const payload = { iss: "perkpass.bench", seq: 1, iat: 1_795_000_000, next_update: 1_795_086_400, exp: 1_795_604_800,
    keys: VECTORS.issuer_keys, perks: {} };
  if (ids.length) payload.revoked = ids.join("");
  const input = `${b64urlEncode(utf8Bytes(JSON.stringify({ alg: "EdDSA", kid: "bench-root", typ: "perkpass-trust-list+jwt" })))}.` +
    b64urlEncode(utf8Bytes(JSON.stringify(payload)));
  return `${input}.${b64urlEncode(new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, root.privateKey, latin1Bytes(input))))}`;
}
const ids = Array.from({ length: 47_000 }, () => b64urlEncode(crypto.getRandomValues(new Uint8Array(12)))).sort();
let largest = await signedList(ids);
while (largest.length > 1_000_000) {
  ids.length -= Math.ceil((largest.length - 1_000_000) / 21); // 21 1/3 bytes of the signed list per id
  largest = await signedList(ids);
}
const empty = await signedList([]);
const loadMs = async (text) => {
  const t0 = performance.now();
  await new TrustStore(rootJwk).load(text, { now: 1_795_000_000 });
  return performance.now() - t0;
};
for (let i = 0; i < 2; i++) { await loadMs(empty); await loadMs(largest); }
const small = [];
const big = [];
for (let r = 0; r < 9; r++) {
  small.push(await loadMs(empty));
  big.push(await loadMs(largest));
}
console.log(`\n| trust list | ids / bytes | load ms (median of 9) |\n|---|---|---|`);
console.log(`| none withdrawn | 0 / ${empty.length} | ${median(small).toFixed(2)} |`);
console.log(`| largest accepted | ${ids.length} / ${largest.length} | ${median(big).toFixed(1)} (${(median(big) / median(small)).toFixed(0)}x) |`);
