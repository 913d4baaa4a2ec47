// The key and signature profile of the spec ("Device key profile", "Signature components"), checked on the
// encoded bytes with BigInt before any WebCrypto call, so every runtime refuses the same inputs whatever
// its crypto library tolerates.

import { bigFromBytesBE, bigFromBytesLE, bytesToHex, hexToBytes } from "./bytes.js";

export const ED25519_P = 2n ** 255n - 19n;
export const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;
const ED25519_D = (-121665n * modPow(121666n, ED25519_P - 2n, ED25519_P)) % ED25519_P + ED25519_P;
const SQRT_M1 = modPow(2n, (ED25519_P - 1n) / 4n, ED25519_P);
const Y_MASK = (1n << 255n) - 1n;

export const P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

/**
 * Every 32-byte encoding of the eight Ed25519 points of order 1, 2, 4 and 8: both sign bits, and y + p
 * where it fits in 255 bits (y = 0 and y = 1). The tests re-derive this set from the curve.
 */
export const SMALL_ORDER_ED25519 = new Set([
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000080",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
]);

export function modPow(base, exp, mod) {
  let result = 1n;
  let b = ((base % mod) + mod) % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

const mod = (a, m) => ((a % m) + m) % m;

/** RFC 8032 §5.1.3, strict: [x, y], or throws Error saying why the 32 bytes are not a point. */
export function ed25519Decode(raw) {
  if (raw.length !== 32) throw new Error("an Ed25519 point is 32 bytes");
  const n = bigFromBytesLE(raw);
  const sign = n >> 255n;
  const y = n & Y_MASK;
  const p = ED25519_P;
  if (y >= p) throw new Error("the encoding is not canonical (y >= p)");
  const u = mod(y * y - 1n, p);
  const v = mod(ED25519_D * y * y + 1n, p);
  let x = mod(u * modPow(v, 3n, p) * modPow(u * modPow(v, 7n, p), (p - 5n) / 8n, p), p);
  const vx2 = mod(v * x * x, p);
  if (vx2 === mod(-u, p)) x = mod(x * SQRT_M1, p);
  else if (vx2 !== u) throw new Error("the bytes are not a point on the curve");
  if (x === 0n && sign === 1n) throw new Error("the encoding is not canonical (x = 0 with the sign bit set)");
  if ((x & 1n) !== sign) x = p - x;
  return [x, y];
}

/**
 * The profile's checks on the encoded bytes (32 bytes, y < p, not a small-order point), or null. Whether the
 * bytes are a point at all costs a square root (~0.3 ms with BigInt): the verifier asks ed25519PointProblem
 * only when the device signature failed, since no signature verifies under bytes that are not a point.
 */
export function ed25519KeyBytesProblem(raw) {
  if (raw.length !== 32) return "an Ed25519 key is 32 bytes";
  if ((bigFromBytesLE(raw) & Y_MASK) >= ED25519_P) return "the Ed25519 key's encoding is not canonical (y >= p)";
  if (SMALL_ORDER_ED25519.has(bytesToHex(raw))) return "the Ed25519 key is a small-order point";
  return null;
}

/** Why 32 bytes do not decode to an Ed25519 point (RFC 8032 §5.1.3), or null. */
export function ed25519PointProblem(raw) {
  try {
    ed25519Decode(raw);
  } catch (err) {
    return err.message;
  }
  return null;
}

/** The whole Ed25519 device key profile: the byte checks, then that the bytes are a point; or null. */
export function ed25519KeyProblem(raw) {
  return ed25519KeyBytesProblem(raw) ?? ed25519PointProblem(raw);
}

/** RFC 8032 §5.1.7 on the signature bytes: S < L and R canonical (its y < p), or why not. */
export function ed25519SignatureProblem(sig) {
  if (sig.length !== 64) return "an Ed25519 signature is 64 bytes";
  if (bigFromBytesLE(sig.subarray(32)) >= ED25519_L) return "signature S is not below the group order";
  if ((bigFromBytesLE(sig.subarray(0, 32)) & Y_MASK) >= ED25519_P) return "signature R is not a canonical encoding";
  return null;
}

/** SEC 1 §3.2.2 on the uncompressed encoding (cofactor 1: on the curve means in the group), or why not. */
export function p256KeyProblem(raw) {
  if (raw.length !== 65 || raw[0] !== 0x04) return "a P-256 key is the 65-byte SEC 1 uncompressed point (0x04 || x || y)";
  const x = bigFromBytesBE(raw.subarray(1, 33));
  const y = bigFromBytesBE(raw.subarray(33));
  const p = P256_P;
  if (x >= p || y >= p) return "a P-256 key's coordinates must be below p";
  if (mod(y * y - (x * x * x - 3n * x + P256_B), p) !== 0n) return "the P-256 key is not a point on the curve";
  return null;
}

/** SEC 1 §4.1.4 step 1 on WebCrypto's r || s: 0 < r, s < n, or why not. */
export function p256SignatureProblem(sig) {
  if (sig.length !== 64) return "a P-256 signature is r || s, 64 bytes";
  const r = bigFromBytesBE(sig.subarray(0, 32));
  const s = bigFromBytesBE(sig.subarray(32));
  if (!(r > 0n && r < P256_N && s > 0n && s < P256_N)) return "signature r or s outside 1..n-1";
  return null;
}

// --- Edwards arithmetic, for the tests that re-derive the small-order set (not needed to verify)
export function ed25519Add(a, b) {
  const p = ED25519_P;
  const aa = mod((a[1] - a[0]) * (b[1] - b[0]), p);
  const bb = mod((a[1] + a[0]) * (b[1] + b[0]), p);
  const cc = mod(2n * a[3] * b[3] * ED25519_D, p);
  const dd = mod(2n * a[2] * b[2], p);
  const e = bb - aa;
  const f = dd - cc;
  const g = dd + cc;
  const h = bb + aa;
  return [mod(e * f, p), mod(g * h, p), mod(f * g, p), mod(e * h, p)];
}

export function ed25519Encode([x, y]) {
  const n = y | ((x & 1n) << 255n);
  return hexToBytes(n.toString(16).padStart(64, "0")).reverse();
}

export { SQRT_M1 as ED25519_SQRT_M1, ED25519_D };
