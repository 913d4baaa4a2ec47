// JSON for untrusted bytes, with the semantics the spec relies on (those of Python's json module):
// integers and non-integers stay apart (an integer literal becomes a BigInt, anything with a fraction or an
// exponent a Number, so 1.0 is not an integer time), objects are Maps (insertion order, the last of a
// duplicate key wins, "__proto__" is just a key), NaN/Infinity/-Infinity are accepted as non-integers,
// control characters inside strings are refused, and nesting is bounded *before* parsing.

import { TransportError } from "./bytes.js";

const UTF8 = new TextDecoder("utf-8", { fatal: true }); // strips a leading UTF-8 BOM, as Python's json does

/**
 * Refuse nesting deeper than maxDepth, counting brackets outside strings (spec "JSON depth"): string literals
 * (a quote, then anything with a backslash escaping the next byte, up to a closing quote) are skipped, and each
 * [ or { counts +1, each ] or } -1. In one pass: an unclosed quote makes the rest plain text, because every
 * later quote is escaped as seen from it (removing string literals with a regular expression, which retries at
 * each later quote, takes time quadratic in the length: hours for a hostile 1 MB trust list).
 */
export function checkDepth(bytes, maxDepth) {
  let opens = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x5b || bytes[i] === 0x7b) opens++;
  if (opens <= maxDepth) return;
  const n = bytes.length;
  let depth = 0;
  let strings = true; // false after an unclosed quote
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0x22 && strings) {
      let j = i + 1;
      while (j < n && bytes[j] !== 0x22) j += bytes[j] === 0x5c ? 2 : 1;
      if (j < n) i = j;
      else strings = false;
    } else if (b === 0x5b || b === 0x7b) {
      if (++depth > maxDepth) throw new TransportError("JSON nested too deeply");
    } else if (b === 0x5d || b === 0x7d) {
      depth--;
    }
  }
}

/** Parse JSON bytes (UTF-8) after bounding their depth; throws TransportError for anything malformed. */
export function parseJsonBounded(bytes, maxDepth) {
  checkDepth(bytes, maxDepth);
  let text;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new TransportError("JSON is not UTF-8");
  }
  return parseJson(text);
}

const WS = (c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

export function parseJson(text) {
  let i = 0;
  const fail = (why) => {
    throw new TransportError(`bad JSON: ${why}`);
  };
  const skip = () => {
    while (i < text.length && WS(text.charCodeAt(i))) i++;
  };
  const string = () => {
    i++; // opening quote
    let out = "";
    let start = i;
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i++);
        return out;
      }
      if (c < 0x20) fail("control character in string");
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        if (e === "u") {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
          out += ESCAPES[e];
          i += 2;
        } else {
          fail("bad escape");
        }
        start = i;
        continue;
      }
      i++;
    }
  };
  const value = () => {
    skip();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj = new Map();
      skip();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        skip();
        if (text[i] !== '"') fail("object key must be a string");
        const key = string();
        skip();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        obj.set(key, value());
        skip();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const arr = [];
      skip();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        skip();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [["true", true], ["false", false], ["null", null], ["NaN", NaN],
      ["Infinity", Infinity], ["-Infinity", -Infinity]]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) fail("unexpected character");
    i += m[0].length;
    return m[1] === undefined && m[2] === undefined ? BigInt(m[0]) : Number(m[0]);
  };
  const v = value();
  skip();
  if (i !== text.length) fail("extra data");
  return v;
}

/** An integer time as the spec defines it: a JSON integer in [0, 2^40). Returns a Number, or null. */
export function asTime(v) {
  return typeof v === "bigint" && v >= 0n && v < 2n ** 40n ? Number(v) : null;
}
