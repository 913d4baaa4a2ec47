// The inflate against zlib (node:zlib): the same output for every valid stream, and never an output zlib would
// not give for a corrupted one.
import assert from "node:assert/strict";
import { test } from "node:test";
import zlib from "node:zlib";

import { InflateError, inflateRaw } from "../src/inflate.js";
import { PP1_PRESET_DICTIONARY, PP2_PRESET_DICTIONARY } from "../src/constants.js";

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function sample(rand, dict) {
  // text made of dictionary pieces, repeats and noise: exercises back-references into the dictionary
  const parts = [];
  const n = 1 + Math.floor(rand() * 12);
  for (let i = 0; i < n; i++) {
    const kind = rand();
    if (kind < 0.4) {
      const a = Math.floor(rand() * dict.length);
      parts.push(dict.subarray(a, a + 1 + Math.floor(rand() * 40)));
    } else if (kind < 0.7) {
      parts.push(Uint8Array.from({ length: Math.floor(rand() * 30) }, () => Math.floor(rand() * 256)));
    } else {
      parts.push(new Uint8Array(Math.floor(rand() * 300)).fill(65 + Math.floor(rand() * 3)));
    }
  }
  return Buffer.concat(parts);
}

const OPTIONS = [
  { level: 9 }, { level: 1 }, { level: 0 }, { level: 9, strategy: zlib.constants.Z_FIXED },
  { level: 9, strategy: zlib.constants.Z_HUFFMAN_ONLY }, { level: 9, strategy: zlib.constants.Z_RLE },
];

test("inflates what zlib deflates, with both preset dictionaries and every strategy", () => {
  const rand = rng(1);
  for (const dict of [PP1_PRESET_DICTIONARY, PP2_PRESET_DICTIONARY]) {
    for (let i = 0; i < 120; i++) {
      const plain = sample(rand, dict);
      const options = OPTIONS[i % OPTIONS.length];
      const packed = zlib.deflateRawSync(plain, { ...options, dictionary: Buffer.from(dict) });
      assert.deepEqual(Buffer.from(inflateRaw(packed, dict, plain.length)), plain);
    }
  }
});

test("a corrupted stream is refused, or inflates exactly as zlib inflates it", () => {
  const rand = rng(2);
  const dict = PP1_PRESET_DICTIONARY;
  let refused = 0;
  for (let i = 0; i < 800; i++) {
    const plain = sample(rand, dict);
    const packed = Buffer.from(zlib.deflateRawSync(plain, { ...OPTIONS[i % OPTIONS.length], dictionary: Buffer.from(dict) }));
    for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) packed[Math.floor(rand() * packed.length)] ^= 1 << Math.floor(rand() * 8);
    let ours = null;
    try {
      ours = inflateRaw(packed, dict, 4096);
    } catch (err) {
      assert.ok(err instanceof InflateError, err);
      refused++;
    }
    let theirs = null;
    try {
      theirs = zlib.inflateRawSync(packed, { dictionary: Buffer.from(dict), maxOutputLength: 4096 });
    } catch {
      theirs = null;
    }
    if (ours !== null) assert.ok(theirs !== null && Buffer.compare(Buffer.from(ours), theirs) === 0, `case ${i}`);
  }
  assert.ok(refused > 200, `only ${refused} refused: the corruption is too weak to test anything`);
});

test("limits: output cap, trailing bytes, truncation, distance before the dictionary, block type 3", () => {
  const dict = PP2_PRESET_DICTIONARY;
  const plain = Buffer.from("metro\x00moli\x00\x00MOLI-METRO20");
  const packed = zlib.deflateRawSync(plain, { level: 9, dictionary: Buffer.from(dict) });
  assert.deepEqual(Buffer.from(inflateRaw(packed, dict, plain.length)), plain);
  assert.throws(() => inflateRaw(packed, dict, plain.length - 1), /output too large/);
  assert.throws(() => inflateRaw(Buffer.concat([packed, Buffer.from([0])]), dict, 512), /after the end/);
  assert.throws(() => inflateRaw(packed.subarray(0, packed.length - 1), dict, 512), InflateError);
  // without its dictionary the same stream reaches back before the start of the window
  assert.throws(() => inflateRaw(packed, new Uint8Array(0), 512), /too far back/);
  assert.throws(() => inflateRaw(Uint8Array.of(0x07), dict, 512), /block type/);
  assert.throws(() => inflateRaw(Uint8Array.of(0x01, 0x01, 0x00, 0x00, 0xff), dict, 512), /length mismatch/); // stored, NLEN wrong
  assert.deepEqual(Buffer.from(inflateRaw(Uint8Array.of(0x01, 0x01, 0x00, 0xfe, 0xff, 0x41), dict, 512)), Buffer.from("A"));
  assert.throws(() => inflateRaw(new Uint8Array(0), dict, 512), /ends early/);
  // a bomb stops at the cap
  const bomb = zlib.deflateRawSync(Buffer.alloc(100_000), { dictionary: Buffer.from(dict) });
  assert.throws(() => inflateRaw(bomb, dict, 2048), /output too large/);
});
