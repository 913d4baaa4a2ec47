// RFC 1951 raw DEFLATE decoding with a preset dictionary, in the manner of zlib's "puff" reference decoder.
// DecompressionStream("deflate-raw") cannot take a preset dictionary, which both Perkpass formats use.
//
// It refuses exactly what zlib's inflate refuses for the Perkpass formats: a stream that does not end
// (no final block), bytes after the final block, output beyond `maxOutput`, a distance reaching before the
// dictionary, block type 3, a stored block whose LEN and NLEN disagree, more than 286 literal/length or
// 30 distance codes, an over-subscribed code, an incomplete code-length code, an incomplete literal/length
// or distance code other than a single code of length 1, a repeat with no previous length or past the end,
// a literal/length code with no end-of-block, symbols 286/287 and distances 30/31.

export class InflateError extends Error {}

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
  163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
  2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const WINDOW = 32768;
const FAST_BITS = 9; // codes up to 9 bits decode with one table look-up; longer ones bit by bit
const FAST_MASK = (1 << FAST_BITS) - 1;

/** Canonical Huffman code from code lengths; `left` > 0 means incomplete, < 0 over-subscribed. */
function huffman(lengths) {
  const count = new Uint16Array(16);
  for (const len of lengths) count[len]++;
  const symbol = new Uint16Array(lengths.length);
  const h = { count, symbol, left: 0 };
  if (count[0] === lengths.length) return h; // no codes: complete, but any decode fails
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left = left * 2 - count[len];
    if (left < 0) {
      h.left = left;
      return h;
    }
  }
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len] + count[len];
  for (let s = 0; s < lengths.length; s++) if (lengths[s]) symbol[offs[lengths[s]]++] = s;
  h.left = left;
  h.fast = fastTable(lengths, count);
  return h;
}

/**
 * (symbol << 4 | length) for every 9-bit window of input that starts with a code of at most 9 bits, -1
 * elsewhere. The stream holds each code's bits from its most significant one, packed from the least
 * significant bit of each byte, so the table is indexed by the code's bits reversed.
 */
function fastTable(lengths, count) {
  const fast = new Int32Array(1 << FAST_BITS).fill(-1);
  const next = new Uint16Array(16);
  for (let len = 1, code = 0; len < 16; len++) {
    code = (code + (len > 1 ? count[len - 1] : 0)) << 1;
    next[len] = code;
  }
  for (let sym = 0; sym < lengths.length; sym++) {
    const len = lengths[sym];
    if (!len) continue;
    const code = next[len]++;
    if (len > FAST_BITS) continue;
    let rev = 0;
    for (let i = 0; i < len; i++) rev |= ((code >> i) & 1) << (len - 1 - i);
    for (let k = rev; k <= FAST_MASK; k += 1 << len) fast[k] = (sym << 4) | len;
  }
  return fast;
}

// one incomplete code is allowed: a single code of length 1 (zlib and puff agree)
const singleLengthOne = (h) => h.left > 0 && h.count[1] === 1 && h.count.slice(2).every((c) => c === 0);

let FIXED = null;
function fixedCodes() {
  if (!FIXED) {
    const lengths = new Uint8Array(288);
    lengths.fill(8, 0, 144);
    lengths.fill(9, 144, 256);
    lengths.fill(7, 256, 280);
    lengths.fill(8, 280, 288);
    FIXED = { lencode: huffman(lengths), distcode: huffman(new Uint8Array(30).fill(5)) };
  }
  return FIXED;
}

/**
 * Inflate `input` (raw DEFLATE) with `dictionary` as the window's history.
 * @returns {Uint8Array} the output; throws InflateError when the stream is not one complete, valid stream
 * that ends at the last byte of `input` and inflates to at most `maxOutput` bytes.
 */
export function inflateRaw(input, dictionary, maxOutput) {
  const dict = dictionary.length > WINDOW ? dictionary.subarray(dictionary.length - WINDOW) : dictionary;
  const out = new Uint8Array(dict.length + maxOutput);
  out.set(dict, 0);
  let outPos = dict.length;
  let pos = 0; // next input byte
  let bitBuf = 0;
  let bitCnt = 0;

  const bits = (need) => {
    let val = bitBuf;
    while (bitCnt < need) {
      if (pos >= input.length) throw new InflateError("stream ends early");
      val |= input[pos++] << bitCnt;
      bitCnt += 8;
    }
    bitBuf = val >>> need;
    bitCnt -= need;
    return val & ((1 << need) - 1);
  };

  const decode = (h) => {
    while (bitCnt < FAST_BITS && pos < input.length) { // read ahead; stored() and the end give whole bytes back
      bitBuf |= input[pos++] << bitCnt;
      bitCnt += 8;
    }
    const entry = h.fast[bitBuf & FAST_MASK];
    if (entry >= 0 && (entry & 15) <= bitCnt) {
      bitBuf >>>= entry & 15;
      bitCnt -= entry & 15;
      return entry >> 4;
    }
    return slowDecode(h);
  };

  const slowDecode = (h) => {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      if (bitCnt === 0) { // one bit at a time, without a call per bit
        if (pos >= input.length) throw new InflateError("stream ends early");
        bitBuf = input[pos++];
        bitCnt = 8;
      }
      code |= bitBuf & 1;
      bitBuf >>>= 1;
      bitCnt--;
      const count = h.count[len];
      if (code - count < first) return h.symbol[index + (code - first)];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw new InflateError("invalid code");
  };

  const put = (byte) => {
    if (outPos >= out.length) throw new InflateError("output too large");
    out[outPos++] = byte;
  };

  const codes = (lencode, distcode) => {
    for (;;) {
      let sym = decode(lencode);
      if (sym < 256) {
        put(sym);
      } else if (sym === 256) {
        return;
      } else {
        sym -= 257;
        if (sym >= 29) throw new InflateError("invalid length symbol");
        const len = LEN_BASE[sym] + bits(LEN_EXTRA[sym]);
        const dsym = decode(distcode);
        if (dsym >= 30) throw new InflateError("invalid distance symbol");
        const dist = DIST_BASE[dsym] + bits(DIST_EXTRA[dsym]);
        if (dist > outPos) throw new InflateError("distance too far back");
        if (outPos + len > out.length) throw new InflateError("output too large");
        for (let i = 0; i < len; i++, outPos++) out[outPos] = out[outPos - dist]; // may overlap: byte by byte
      }
    }
  };

  const stored = () => {
    pos -= bitCnt >> 3; // whole bytes read ahead go back; the rest of the current byte is skipped
    bitBuf = 0;
    bitCnt = 0;
    if (pos + 4 > input.length) throw new InflateError("stream ends early");
    const len = input[pos] | (input[pos + 1] << 8);
    const nlen = input[pos + 2] | (input[pos + 3] << 8);
    pos += 4;
    if (len !== (~nlen & 0xffff)) throw new InflateError("stored block length mismatch");
    if (pos + len > input.length) throw new InflateError("stream ends early");
    for (let i = 0; i < len; i++) put(input[pos++]);
  };

  const dynamic = () => {
    const nlen = bits(5) + 257;
    const ndist = bits(5) + 1;
    const ncode = bits(4) + 4;
    if (nlen > 286 || ndist > 30) throw new InflateError("too many length or distance codes");
    const clLengths = new Uint8Array(19);
    for (let i = 0; i < ncode; i++) clLengths[CL_ORDER[i]] = bits(3);
    const clcode = huffman(clLengths);
    if (clcode.left !== 0) throw new InflateError("incomplete or over-subscribed code-length code");
    const lengths = new Uint8Array(nlen + ndist);
    let i = 0;
    while (i < nlen + ndist) {
      let sym = decode(clcode);
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let len = 0;
      if (sym === 16) {
        if (i === 0) throw new InflateError("repeat with no first length");
        len = lengths[i - 1];
        sym = 3 + bits(2);
      } else if (sym === 17) {
        sym = 3 + bits(3);
      } else {
        sym = 11 + bits(7);
      }
      if (i + sym > nlen + ndist) throw new InflateError("too many lengths");
      while (sym--) lengths[i++] = len;
    }
    if (lengths[256] === 0) throw new InflateError("no end-of-block code");
    const lencode = huffman(lengths.subarray(0, nlen));
    if (lencode.left < 0 || (lencode.left > 0 && !singleLengthOne(lencode))) {
      throw new InflateError("bad literal/length code");
    }
    const distcode = huffman(lengths.subarray(nlen));
    if (distcode.left < 0 || (distcode.left > 0 && !singleLengthOne(distcode))) {
      throw new InflateError("bad distance code");
    }
    codes(lencode, distcode);
  };

  let last = 0;
  do {
    last = bits(1);
    const type = bits(2);
    if (type === 0) stored();
    else if (type === 1) codes(fixedCodes().lencode, fixedCodes().distcode);
    else if (type === 2) dynamic();
    else throw new InflateError("invalid block type");
  } while (!last);
  // the final block's unused bits are padding; any whole byte after it is data that does not belong
  if (pos - (bitCnt >> 3) !== input.length) throw new InflateError("bytes after the end of the stream");
  return out.slice(dict.length, outPos);
}
