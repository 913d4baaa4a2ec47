// The device key profile and signature components (spec "Device key profile", "Signature components"),
// re-derived from the curves rather than copied.
import assert from "node:assert/strict";
import { test } from "node:test";

import { bytesToHex } from "../src/bytes.js";
import {
  ED25519_L, ED25519_P, P256_N, P256_P, SMALL_ORDER_ED25519, ed25519Add, ed25519Decode, ed25519KeyProblem,
  ed25519SignatureProblem, p256KeyProblem, p256SignatureProblem,
} from "../src/curves.js";

const ext = ([x, y]) => [x, y, 1n, (x * y) % ED25519_P];
const inv = (a) => {
  let [r, b, e] = [1n, a % ED25519_P, ED25519_P - 2n];
  while (e) {
    if (e & 1n) r = (r * b) % ED25519_P;
    b = (b * b) % ED25519_P;
    e >>= 1n;
  }
  return r;
};
const affine = ([X, Y, Z]) => [(X * inv(Z)) % ED25519_P, (Y * inv(Z)) % ED25519_P];
const isIdentity = ([X, Y, Z]) => X % ED25519_P === 0n && (Y - Z) % ED25519_P === 0n;
function multiply(k, point) {
  let result = [0n, 1n, 1n, 0n];
  for (let q = point; k; k >>= 1n, q = ed25519Add(q, q)) if (k & 1n) result = ed25519Add(result, q);
  return result;
}

test("the 14 small-order encodings are exactly the encodings of the eight points of order dividing 8", async () => {
  // [L]P of any curve point lies in the torsion group; find one of order 8 (random points, not keys: those
  // are in the prime-order subgroup) and take its multiples
  let gen = null;
  for (let i = 0; gen === null; i++) {
    let point;
    try {
      point = ed25519Decode(crypto.getRandomValues(new Uint8Array(32)));
    } catch {
      continue; // not a point (about half of all y)
    }
    const torsion = multiply(ED25519_L, ext(point));
    if (!isIdentity(multiply(4n, torsion))) gen = torsion;
    assert.ok(i < 200);
  }
  const points = [];
  for (let k = 1n; k <= 8n; k++) points.push(affine(multiply(k, gen)));
  assert.equal(new Set(points.map(String)).size, 8);
  const encodings = new Set();
  for (const [, y] of points) { // every y of a torsion point, both sign bits (valid or not), and y + p
    for (const yy of [y, y + ED25519_P]) {
      if (yy >= 2n ** 255n) continue;
      for (const sign of [0n, 1n]) {
        const n = yy | (sign << 255n);
        encodings.add(n.toString(16).padStart(64, "0").match(/../g).reverse().join(""));
      }
    }
  }
  assert.deepEqual([...encodings].sort(), [...SMALL_ORDER_ED25519].sort());
  for (const hex of encodings) assert.ok(ed25519KeyProblem(Uint8Array.from(hex.match(/../g), (b) => parseInt(b, 16))));
});

test("real Ed25519 keys pass; non-canonical, off-curve and short keys refuse", async () => {
  for (let i = 0; i < 20; i++) {
    const key = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    assert.equal(ed25519KeyProblem(new Uint8Array(await crypto.subtle.exportKey("raw", key.publicKey))), null);
  }
  const le = (n) => Uint8Array.from(n.toString(16).padStart(64, "0").match(/../g).reverse(), (b) => parseInt(b, 16));
  assert.match(ed25519KeyProblem(le(ED25519_P + 3n)), /not canonical/);
  assert.match(ed25519KeyProblem(le(2n)), /not a point/); // y = 2: x^2 has no root
  assert.match(ed25519KeyProblem(new Uint8Array(31)), /32 bytes/);
});

test("Ed25519 signature components: S < L and R canonical", () => {
  const sig = (r, s) => {
    const out = new Uint8Array(64);
    const put = (n, at) => { for (let i = 0; i < 32; i++, n >>= 8n) out[at + i] = Number(n & 255n); };
    put(r, 0);
    put(s, 32);
    return out;
  };
  assert.equal(ed25519SignatureProblem(sig(5n, ED25519_L - 1n)), null);
  assert.match(ed25519SignatureProblem(sig(5n, ED25519_L)), /S is not below/);
  assert.match(ed25519SignatureProblem(sig(ED25519_P, 1n)), /R is not a canonical/);
  assert.equal(ed25519SignatureProblem(sig(ED25519_P - 1n | (1n << 255n), 1n)), null); // the sign bit is not y
  assert.match(ed25519SignatureProblem(new Uint8Array(63)), /64 bytes/);
});

test("P-256 keys: uncompressed, coordinates below p, on the curve", async () => {
  const key = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", key.publicKey));
  assert.equal(p256KeyProblem(raw), null);
  for (const first of [0x00, 0x02, 0x03, 0x06, 0x07]) assert.match(p256KeyProblem(Uint8Array.of(first, ...raw.subarray(1))), /uncompressed/);
  assert.match(p256KeyProblem(raw.subarray(0, 33)), /uncompressed/);
  const bumped = raw.slice();
  bumped[64] ^= 1;
  assert.match(p256KeyProblem(bumped), /not a point/);
  const big = (n) => Uint8Array.from(n.toString(16).padStart(64, "0").match(/../g), (b) => parseInt(b, 16));
  const x = BigInt("0x" + bytesToHex(raw.subarray(1, 33)));
  assert.match(p256KeyProblem(Uint8Array.of(4, ...big(x + P256_P <= 2n ** 256n - 1n ? x + P256_P : P256_P), ...raw.subarray(33))), /below p|not a point/);
  assert.match(p256KeyProblem(Uint8Array.of(4, ...big(P256_P), ...raw.subarray(33))), /below p/);
});

test("P-256 signature components: 0 < r, s < n", () => {
  const rs = (r, s) => Uint8Array.from((r.toString(16).padStart(64, "0") + s.toString(16).padStart(64, "0")).match(/../g), (b) => parseInt(b, 16));
  assert.equal(p256SignatureProblem(rs(1n, P256_N - 1n)), null);
  for (const [r, s] of [[0n, 1n], [1n, 0n], [P256_N, 1n], [1n, P256_N], [2n ** 256n - 1n, 1n]]) {
    assert.match(p256SignatureProblem(rs(r, s)), /outside/);
  }
});
