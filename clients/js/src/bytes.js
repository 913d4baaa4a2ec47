// Byte helpers shared by the verifier: strict base64url, the decimal transport, SHA-256, ASCII/UTF-8.
// No Node-only imports: this module runs in browsers too.

export class TransportError extends Error {}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64URL_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64URL_VALUE[B64URL.charCodeAt(i)] = i;

/** base64url without padding (RFC 7515 §2). */
export function b64urlEncode(bytes) {
  let out = "";
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63] + B64URL[(n >> 6) & 63] + B64URL[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63] + B64URL[(n >> 6) & 63];
  }
  return out;
}

/**
 * Canonical base64url only (spec: "Canonical base64url"): no padding, length not 1 mod 4, alphabet
 * A-Z a-z 0-9 - _, and the unused low bits of the last character zero. A lenient decoder maps several
 * texts to one byte string, so a text that was never signed would pass a signature check on the bytes.
 */
export function b64urlDecode(text) {
  if (typeof text !== "string" || text.length % 4 === 1) throw new TransportError("not base64url");
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64URL_VALUE[c] : -1;
    if (v < 0) throw new TransportError("not base64url");
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) throw new TransportError("not canonical base64url");
  return out;
}

/** The transport's digits: "1-9 then 0-9*", read as one big-endian integer whose first byte is the 0x01 sentinel. */
export function digitsToBytes(text) {
  if (!/^[1-9][0-9]*$/.test(text)) throw new TransportError("transport body must be decimal digits");
  let hex = BigInt(text).toString(16);
  if (hex.length % 2) hex = "0" + hex;
  if (hex[0] !== "0" || hex[1] !== "1") throw new TransportError("transport body lacks its sentinel byte");
  return hexToBytes(hex.slice(2));
}

export function bytesToDigits(bytes) {
  return BigInt("0x01" + bytesToHex(bytes)).toString(10);
}

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;
  HEX_VALUE["0123456789ABCDEF".charCodeAt(i)] = i;
}

/** Bytes of an even-length hex text (callers give valid hex: BigInt output or constants). */
export function hexToBytes(hex) {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0, j = 0; i < out.length; i++, j += 2) {
    out[i] = (HEX_VALUE[hex.charCodeAt(j)] << 4) | HEX_VALUE[hex.charCodeAt(j + 1)];
  }
  return out;
}

export function bytesToHex(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return s;
}

export function concatBytes(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytes of an ASCII/latin-1 string (each char code < 256); used for constants and ASCII texts. */
export function latin1Bytes(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** One char per byte: lets regular expressions run over bytes. */
export function bytesToLatin1(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/** ASCII bytes to text, or TransportError for any byte >= 0x80. */
export function asciiText(bytes) {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) throw new TransportError("not ASCII");
  return bytesToLatin1(bytes);
}

const UTF8 = new TextEncoder();
export const utf8Bytes = (text) => UTF8.encode(text);

export function bigFromBytesBE(bytes) {
  return bytes.length ? BigInt("0x" + bytesToHex(bytes)) : 0n;
}

export function bigFromBytesLE(bytes) {
  return bigFromBytesBE(Uint8Array.from(bytes).reverse());
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

// Python's str.isspace() set, which the Python verifier strips around a scanned text (not JavaScript's
// trim(): that also strips U+FEFF and keeps U+001C..U+001F and U+0085).
const PY_SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" +
  "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
export const isSpace = (ch) => ch !== "" && PY_SPACE.includes(ch);

export function stripSpace(text) {
  let a = 0;
  let b = text.length;
  while (a < b && isSpace(text[a])) a++;
  while (b > a && isSpace(text[b - 1])) b--;
  return text.slice(a, b);
}

export function lstripSpace(text) {
  let a = 0;
  while (a < text.length && isSpace(text[a])) a++;
  return text.slice(a);
}

/** Length in code points (the spec's "characters"), not UTF-16 units. */
export function codePointLength(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
