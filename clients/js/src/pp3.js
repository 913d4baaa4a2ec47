// PP3 codes (unlinkable, with a quota pseudonym), written from docs/credential-format.md ("PP3"): the byte
// layout and the checks before and after the proof. The BBS proof itself (pairings on BLS12-381) is not in
// this dependency-free module: the caller passes a BBS module with `verifyProof` (the citizen page's
// backend/static/app/vendor/pp3-holder.mjs, pure JavaScript on @noble/curves) as the Verifier's `bbs`
// option; without one a PP3 code answers UNSUPPORTED_VERSION.

import { TransportError, asciiText, b64urlEncode, bigFromBytesBE, codePointLength, digitsToBytes, sha256, stripSpace, utf8Bytes } from "./bytes.js";
import {
  AUDIENCE_RE, MAX_CLAIMS_INFLATED, MAX_PERKS, MAX_QR_TEXT, PERK_CODE_RE, PP2_PRESET_DICTIONARY, SLOT_SECONDS,
} from "./constants.js";
import { InflateError, inflateRaw } from "./inflate.js";

export const PP3_PREFIX = /^[Pp][Pp]3/;
export const PP3_FORMAT = 3;
export const FLAG_PSEUDONYM = 0x01;
export const KEY_REF_LEN = 4;
export const DAY = 86400;
export const HEAD_LEN = 10; // format 1, key reference 4, slot 4, claims length 1 (the day is the slot's)
export const PSEUDONYM_LEN = 48;
export const PROOF_LEN = 3 * 48 + (4 + 2) * 32; // 3 points, e^, r1^, r3^, 2 undisclosed messages' responses, c
// "Once per visit": 2 x (default presentation window 60 s + leeway 5 s), the PP2 reuse floor
export const MIN_QUOTA_WINDOW = 130;

/** The quota window a code must carry at a venue type whose policy says `usageInterval` seconds. */
export function quotaWindow(usageInterval) {
  return Math.max(MIN_QUOTA_WINDOW, usageInterval);
}

/** When the quota window holding `slot` ends (epoch seconds). */
export function windowEnd(window, slot) {
  return (Math.floor((slot * SLOT_SECONDS) / window) + 1) * window;
}

/** SHA-256(kid as UTF-8)[:4], what a code names its BBS key by. */
export async function keyReference(kid) {
  return (await sha256(utf8Bytes(kid))).subarray(0, KEY_REF_LEN);
}

function claims(block) {
  let plain;
  try {
    plain = inflateRaw(block, PP2_PRESET_DICTIONARY, MAX_CLAIMS_INFLATED);
  } catch (err) {
    if (err instanceof InflateError) throw new TransportError(`claims block: ${err.message}`);
    throw err;
  }
  const parts = asciiText(plain).split("\x00");
  if (parts.length !== 2) throw new TransportError("claims block has the wrong fields");
  const [audience, perkList] = parts;
  if (!AUDIENCE_RE.test(audience)) throw new TransportError("bad audience");
  const perks = perkList ? perkList.split(",") : [];
  if (!perks.length || perks.length > MAX_PERKS || !perks.every((c) => PERK_CODE_RE.test(c))) {
    throw new TransportError("bad perks");
  }
  for (let i = 1; i < perks.length; i++) if (!(perks[i - 1] < perks[i])) throw new TransportError("bad perks");
  return { audience, perks };
}

/**
 * "PP3" + digits to a parsed, unverified code: {keyRef, day, slot, audience, perks, window, pseudonym, proof,
 * presentedAt, presentationId (async: see presentationId())}. Throws TransportError.
 */
export function parsePp3(text) {
  if (text.length > MAX_QR_TEXT && codePointLength(text) > MAX_QR_TEXT) throw new TransportError("code too long");
  text = stripSpace(text);
  if (!PP3_PREFIX.test(text)) throw new TransportError("not a PP3 code");
  const data = digitsToBytes(text.slice(3));
  if (data.length < HEAD_LEN) throw new TransportError("PP3 code too short");
  const first = data[0];
  if (first >> 4 !== PP3_FORMAT || (first & ~FLAG_PSEUDONYM & 0x0f)) throw new TransportError("not a PP3 format this verifier knows");
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const slot = view.getUint32(5);
  const day = Math.floor((slot * SLOT_SECONDS) / DAY); // what the proof discloses: the slot's UTC day
  const n = data[9];
  let pos = HEAD_LEN;
  if (data.length < pos + n) throw new TransportError("PP3 code too short");
  const c = claims(data.subarray(pos, pos + n));
  pos += n;
  let window = null;
  let pseudonym = null;
  if (first & FLAG_PSEUDONYM) {
    if (data.length < pos + 4 + PSEUDONYM_LEN) throw new TransportError("PP3 code too short");
    window = Number(bigFromBytesBE(data.subarray(pos, pos + 4)));
    pseudonym = data.subarray(pos + 4, pos + 4 + PSEUDONYM_LEN);
    pos += 4 + PSEUDONYM_LEN;
  }
  const proof = data.subarray(pos);
  if (proof.length !== PROOF_LEN) throw new TransportError("PP3 proof has the wrong length");
  return { keyRef: data.subarray(1, 5), day, slot, presentedAt: slot * SLOT_SECONDS, ...c, window, pseudonym, proof };
}

/** "pp3-" + base64url(SHA-256(proof)[:12]): fresh per code (replay memory, logs, kiosk uploads). */
export async function presentationId(proof) {
  return "pp3-" + b64urlEncode((await sha256(proof)).subarray(0, 12));
}
