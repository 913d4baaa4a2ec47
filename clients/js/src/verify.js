// Offline verification of PP1, PP2 and (with a BBS module) PP3 codes, written from docs/credential-format.md:
// a scanned text in, a Decision out. Never throws on what a citizen shows; throws only on a bad configuration (a NaN clock,
// a bad audience).

import {
  TransportError, asciiText, b64urlDecode, b64urlEncode, bigFromBytesBE, codePointLength, concatBytes,
  digitsToBytes, latin1Bytes, lstripSpace, stripSpace, utf8Bytes,
} from "./bytes.js";
import { toEpoch } from "./clock.js";
import {
  ALGORITHM, AUDIENCE_RE, BAND_RE, CERT_CONTEXT, CERT_FORMAT, CERT_HEAD_LEN, CREDENTIAL_TYP,
  DEFAULT_LEEWAY, DEFAULT_PRESENTATION_WINDOW, DEVICE_KEY_LEN, HEADER_MAX_DEPTH, ID_RE, KEY_ED25519,
  MAX_CERT_LIFETIME, MAX_CLAIMS_INFLATED, MAX_INFLATED, MAX_LEEWAY, MAX_LIFETIME, MAX_PERKS,
  MAX_PRESENTATION_WINDOW, MAX_QR_TEXT, MAX_REUSE_INTERVAL, MIN_CERT_WITH_SIGNATURE, MIN_PRESENTATION_WINDOW, PAYLOAD_MAX_DEPTH,
  PERK_CODE_RE, PP1_PRESET_DICTIONARY, PP2_PRESET_DICTIONARY, PRESENTATION_CONTEXT, SCHEME_RE, SIGNATURE_LEN,
  SLOT_SECONDS,
} from "./constants.js";
import {
  ed25519KeyBytesProblem, ed25519PointProblem, ed25519SignatureProblem, p256KeyProblem, p256SignatureProblem,
} from "./curves.js";
import { ConfigurationError } from "./errors.js";
import { InflateError, inflateRaw } from "./inflate.js";
import { asTime, parseJsonBounded } from "./json.js";
import {
  DAY, MIN_QUOTA_WINDOW, PP3_PREFIX, keyReference, parsePp3, presentationId, quotaWindow, windowEnd,
} from "./pp3.js";
import { MemoryReplayCache } from "./replay.js";
import { PolicySource, policyFor, stopAt, usageInterval } from "./venue.js";

/** The answers, with the Python SDK's names. */
export const Status = Object.freeze({
  GRANTED: "GRANTED",
  NOT_ENTITLED: "NOT_ENTITLED",
  EXPIRED: "EXPIRED",
  NOT_YET_VALID: "NOT_YET_VALID",
  REPLAYED: "REPLAYED",
  BAD_SIGNATURE: "BAD_SIGNATURE",
  UNKNOWN_KEY: "UNKNOWN_KEY",
  WRONG_AUDIENCE: "WRONG_AUDIENCE",
  WRONG_ISSUER: "WRONG_ISSUER",
  MALFORMED: "MALFORMED",
  UNSUPPORTED_VERSION: "UNSUPPORTED_VERSION",
  TRUST_LIST_EXPIRED: "TRUST_LIST_EXPIRED",
  REVOKED: "REVOKED",
  CLOCK_SKEW: "CLOCK_SKEW",
});

const EMPTY_INFO = {
  perks: [], pseudonym: null, jti: null, issuer: null, audience: null, scheme: null, band: null,
  issuedAt: null, expiresAt: null, kid: null,
};

/** A frozen answer: {status, granted, perks, pseudonym, jti, issuer, audience, scheme, band, issuedAt, expiresAt, kid, detail}. */
function decision(status, info = {}, detail = "") {
  const d = { status, granted: status === Status.GRANTED, ...EMPTY_INFO, ...info, detail };
  d.perks = Object.freeze([...d.perks]);
  return Object.freeze(d);
}

class UnsupportedVersion extends TransportError {}

const ALNUM = /^[\p{L}\p{N}]$/u;
const PP2_PREFIX = /^[Pp][Pp]2/;

// ------------------------------------------------------------------------------------------------- PP1

/** Undo the PP1 transport (or take a bare compact JWS): {header, payload, signature} bytes, unverified. */
export function parsePp1(text) {
  if (text.length > MAX_QR_TEXT && codePointLength(text) > MAX_QR_TEXT) throw new TransportError("code too long");
  text = stripSpace(text);
  if (/^[Pp][Pp]/.test(text) && text.length > 2) {
    const version = String.fromCodePoint(text.codePointAt(2));
    if (ALNUM.test(version)) {
      if (version !== "1") throw new UnsupportedVersion(`transport version ${version}`);
      const data = digitsToBytes(text.slice(3));
      if (data.length <= SIGNATURE_LEN) throw new TransportError("code too short");
      let plain;
      try {
        plain = inflateRaw(data.subarray(0, data.length - SIGNATURE_LEN), PP1_PRESET_DICTIONARY, MAX_INFLATED);
      } catch (err) {
        if (err instanceof InflateError) throw new TransportError(`compressed body: ${err.message}`);
        throw err;
      }
      const nul = plain.indexOf(0);
      if (nul < 0 || plain.indexOf(0, nul + 1) >= 0) throw new TransportError("body is not header and payload");
      return { header: plain.subarray(0, nul), payload: plain.subarray(nul + 1), signature: data.subarray(data.length - SIGNATURE_LEN) };
    }
  }
  if (text.startsWith("eyJ") && text.split(".").length === 3) {
    const [h, p, s] = text.split(".");
    // the signature's length is not checked here: an HMAC or "none" token gets BAD_SIGNATURE, not MALFORMED
    return { header: b64urlDecode(h), payload: b64urlDecode(p), signature: b64urlDecode(s) };
  }
  throw new TransportError("not a Perkpass code");
}

/** [refusal status or null, kid, detail] for a PP1 header. */
function checkHeader(headerBytes) {
  let header;
  try {
    header = parseJsonBounded(headerBytes, HEADER_MAX_DEPTH);
  } catch {
    return [Status.MALFORMED, null, "header is not JSON"];
  }
  if (!(header instanceof Map)) return [Status.MALFORMED, null, "header is not an object"];
  if ([...header.keys()].some((k) => k !== "alg" && k !== "kid" && k !== "typ")) {
    return [Status.MALFORMED, null, "unsupported header parameters"];
  }
  if (header.get("typ") !== CREDENTIAL_TYP) return [Status.MALFORMED, null, "not a Perkpass credential (typ)"];
  if (header.get("alg") !== ALGORITHM) return [Status.BAD_SIGNATURE, null, "algorithm is not accepted"];
  const kid = header.get("kid");
  if (typeof kid !== "string" || !kid) return [Status.MALFORMED, null, "no kid"];
  return [null, kid, ""];
}

const REQUIRED_CLAIMS = ["iss", "aud", "iat", "exp", "jti", "sub", "sch", "prk"];

// The payload every issuer writes (its member order, compact, no escapes): one pattern parses *and* checks it.
// Anything else takes the general path below, which accepts the same claims.
const CANONICAL_PAYLOAD = new RegExp(
  '^\\{"iss":"([^"\\\\\\x00-\\x1f]{1,64})","aud":"([a-z][a-z0-9-]{1,31})","iat":(0|[1-9][0-9]{0,11}),' +
  '"exp":(0|[1-9][0-9]{0,11}),"jti":"([A-Za-z0-9_-]{8,64})","sub":"([A-Za-z0-9_-]{8,64})",' +
  '"sch":"([a-z][a-z0-9-]{1,31})","prk":\\[((?:"[A-Z0-9][A-Z0-9-]{0,31}")(?:,"[A-Z0-9][A-Z0-9-]{0,31}"){0,7})?\\]' +
  '(?:,"bnd":"([A-Za-z0-9+_-]{1,32})")?\\}$',
);

/** The claims of a PP1 payload (ASCII JSON), or TransportError when any is off. */
export function claimsFromPayload(payloadBytes) {
  const text = asciiText(payloadBytes);
  const m = CANONICAL_PAYLOAD.exec(text);
  if (m) {
    const [, iss, aud, iatText, expText, jti, sub, sch, prkText, bnd] = m;
    const iat = Number(iatText);
    const exp = Number(expText);
    if (!(iat < 2 ** 40 && exp < 2 ** 40)) throw new TransportError("bad iat or exp");
    // the pattern admits only "CODE" items joined by commas, so one split undoes the list
    const prk = prkText ? prkText.slice(1, -1).split('","') : [];
    return { iss, aud, iat, exp, jti, sub, sch, prk, bnd: bnd ?? null };
  }
  const p = parseJsonBounded(payloadBytes, PAYLOAD_MAX_DEPTH);
  if (!(p instanceof Map)) throw new TransportError("payload is not an object");
  if (!REQUIRED_CLAIMS.every((k) => p.has(k)) || [...p.keys()].some((k) => k !== "bnd" && !REQUIRED_CLAIMS.includes(k))) {
    throw new TransportError("payload has missing or unknown claims");
  }
  const [iss, aud, sch, jti, sub, prk] = ["iss", "aud", "sch", "jti", "sub", "prk"].map((k) => p.get(k));
  if (typeof iss !== "string" || !(codePointLength(iss) > 0 && codePointLength(iss) <= 64)) throw new TransportError("bad iss");
  if (typeof aud !== "string" || !AUDIENCE_RE.test(aud)) throw new TransportError("bad aud");
  if (typeof sch !== "string" || !SCHEME_RE.test(sch)) throw new TransportError("bad sch");
  if (typeof jti !== "string" || !ID_RE.test(jti) || typeof sub !== "string" || !ID_RE.test(sub)) {
    throw new TransportError("bad jti or sub");
  }
  const iat = asTime(p.get("iat"));
  const exp = asTime(p.get("exp"));
  if (iat === null || exp === null) throw new TransportError("bad iat or exp");
  if (!Array.isArray(prk) || prk.length > MAX_PERKS || !prk.every((c) => typeof c === "string" && PERK_CODE_RE.test(c))) {
    throw new TransportError("bad prk");
  }
  const bnd = p.get("bnd") ?? null; // absent and null both mean no band
  if (bnd !== null && (typeof bnd !== "string" || !BAND_RE.test(bnd))) throw new TransportError("bad bnd");
  return { iss, aud, iat, exp, jti, sub, sch, prk, bnd };
}

// ------------------------------------------------------------------------------------------------- PP2

function claimsFromBlock(block) {
  let plain;
  try {
    plain = inflateRaw(block, PP2_PRESET_DICTIONARY, MAX_CLAIMS_INFLATED);
  } catch (err) {
    if (err instanceof InflateError) throw new TransportError(`claims block: ${err.message}`);
    throw err;
  }
  const parts = asciiText(plain).split("\x00");
  if (parts.length !== 4) throw new TransportError("claims block has the wrong number of fields");
  const [audience, scheme, band, perkList] = parts;
  if (!AUDIENCE_RE.test(audience)) throw new TransportError("bad audience");
  if (!SCHEME_RE.test(scheme)) throw new TransportError("bad scheme");
  if (band && !BAND_RE.test(band)) throw new TransportError("bad band");
  const perks = perkList ? perkList.split(",") : [];
  if (!perks.length || perks.length > MAX_PERKS || !perks.every((c) => PERK_CODE_RE.test(c))) {
    throw new TransportError("bad perks");
  }
  // sorted (by code point: the codes are ASCII) and without duplicates: one encoding per certificate
  for (let i = 1; i < perks.length; i++) if (!(perks[i - 1] < perks[i])) throw new TransportError("perks not in canonical order");
  return { audience, scheme, band: band || null, perks };
}

/** Split the PP2 bytes into certificate and presentation (unverified). */
export function parsePresentationBytes(data) {
  if (data.length < MIN_CERT_WITH_SIGNATURE) throw new TransportError("certificate too short");
  if (data[0] >> 4 !== CERT_FORMAT) throw new TransportError("unknown certificate format");
  const keyType = data[0] & 0x0f;
  const keyLen = DEVICE_KEY_LEN[keyType];
  if (keyLen === undefined) throw new TransportError("unknown device key type");
  let pos = CERT_HEAD_LEN;
  const deviceKey = data.subarray(pos, pos + keyLen);
  pos += keyLen;
  if (data.length < pos + 1) throw new TransportError("certificate truncated");
  const n = data[pos++];
  const block = data.subarray(pos, pos + n);
  pos += n;
  if (n === 0 || block.length !== n || data.length < pos + SIGNATURE_LEN) throw new TransportError("certificate truncated");
  const body = data.subarray(0, pos);
  const signature = data.subarray(pos, pos + SIGNATURE_LEN);
  const rest = data.subarray(pos + SIGNATURE_LEN);
  const claims = claimsFromBlock(block);
  if (rest.length !== 4 + SIGNATURE_LEN) throw new TransportError("presentation has the wrong length");
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const presentedAt = Number(bigFromBytesBE(rest.subarray(0, 4)));
  const certId = b64urlEncode(data.subarray(17, 29));
  return {
    keyType, kidRef: data.subarray(1, 9), notBefore: view.getUint32(9), notAfter: view.getUint32(13), certId,
    deviceKey, ...claims, body, signature, presentedAt, deviceSignature: rest.subarray(4),
    signedInput: concatBytes(PRESENTATION_CONTEXT, body, signature, rest.subarray(0, 4)),
  };
}

export function parsePp2(text) {
  if (text.length > MAX_QR_TEXT && codePointLength(text) > MAX_QR_TEXT) throw new TransportError("code too long");
  text = stripSpace(text);
  if (!PP2_PREFIX.test(text)) throw new TransportError("not a PP2 code");
  return parsePresentationBytes(digitsToBytes(text.slice(3)));
}

/** Whether the device key signed the presentation; the signature components are checked first. Never throws. */
async function deviceSignatureOk(keyType, rawKey, signature, message) {
  try {
    if (keyType === KEY_ED25519) {
      if (ed25519SignatureProblem(signature)) return false;
      const key = await crypto.subtle.importKey("raw", rawKey, { name: "Ed25519" }, false, ["verify"]);
      return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
    }
    if (p256SignatureProblem(signature)) return false;
    const key = await crypto.subtle.importKey("raw", rawKey, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, message);
  } catch {
    return false;
  }
}

// the checks on the encoded bytes; an Ed25519 key's being a point is asked only after a failed signature
const deviceKeyProblem = (keyType, raw) => (keyType === KEY_ED25519 ? ed25519KeyBytesProblem(raw) : p256KeyProblem(raw));

function stopped(trust, policy, now) {
  if (now >= trust.expiresAt) return decision(Status.TRUST_LIST_EXPIRED, {}, "trust list expired");
  return decision(Status.TRUST_LIST_EXPIRED, {}, `trust list past next_update + the venue type's grace (policy: ${policy.source})`);
}

// ---------------------------------------------------------------------------------------------- Verifier

function checkAudience(audience) {
  if (typeof audience !== "string" || !AUDIENCE_RE.test(audience)) throw new ConfigurationError(`bad audience ${String(audience).slice(0, 40)}`);
}

export class Verifier {
  /**
   * @param trustStore a TrustStore
   * @param options {audience, leeway = 5, issuer, presentationWindow = 60, reuseInterval, replayCache}
   *   reuseInterval (PP2, seconds): how long a granted certificate answers REPLAYED for the same perk;
   *   default the venue type's policy in the trust list held, never below 2 x (presentationWindow + leeway)
   *   (130 s); at most 31 days. A perk's own usage rule in the list lengthens it.
   *   bbs (PP3): a module with `verifyProof` (backend/static/app/vendor/pp3-holder.mjs); without it PP3 codes
   *   answer UNSUPPORTED_VERSION ("PP3 needs a BBS module"), since this module has no pairing arithmetic.
   */
  constructor(trustStore, { audience, leeway = DEFAULT_LEEWAY, issuer = null, presentationWindow = DEFAULT_PRESENTATION_WINDOW,
    reuseInterval = null, replayCache = new MemoryReplayCache(), bbs = null } = {}) {
    if (bbs !== null && typeof bbs?.verifyProof !== "function") throw new ConfigurationError("bbs must be a module with verifyProof");
    checkAudience(audience);
    if (!(typeof leeway === "number" && leeway >= 0 && leeway <= MAX_LEEWAY)) {
      throw new ConfigurationError(`leeway must be 0..${MAX_LEEWAY} seconds`);
    }
    if (!(Number.isInteger(presentationWindow) && presentationWindow >= MIN_PRESENTATION_WINDOW &&
          presentationWindow <= MAX_PRESENTATION_WINDOW)) {
      throw new ConfigurationError(`presentationWindow must be ${MIN_PRESENTATION_WINDOW}..${MAX_PRESENTATION_WINDOW} seconds`);
    }
    // never less than the time a presentation dated around the grant stays acceptable
    const floor = 2 * (presentationWindow + leeway);
    if (reuseInterval !== null &&
        !(Number.isInteger(reuseInterval) && reuseInterval >= floor && reuseInterval <= MAX_REUSE_INTERVAL)) {
      throw new ConfigurationError(`reuseInterval must be ${floor}..${MAX_REUSE_INTERVAL} seconds (at least 2 x (window + leeway))`);
    }
    this.reuseFloor = floor;
    this._reuseOverride = reuseInterval; // null: the venue type's policy from the trust list held
    this.trustStore = trustStore;
    this.audience = audience;
    this.leeway = leeway;
    this.issuer = issuer;
    this.presentationWindow = presentationWindow;
    this.replayCache = replayCache;
    this.bbs = bbs;
    this._warnedList = null;
  }

  /** The venue type's policy under `trust`; says once per list when the list names no policy for it. */
  _policy(trust, audience) {
    const policy = policyFor(trust.venueTypes, audience);
    if (policy.source === PolicySource.NOT_LISTED && this._warnedList !== trust) {
      this._warnedList = trust;
      console.warn(`perkpass: venue type ${audience} has no policy in trust list #${trust.sequence}: safest fallback, ` +
        "granting only while the list is fresh, one grant per certificate per 24 h");
    }
    return policy;
  }

  /** Seconds a granted PP2 certificate is refused for the same perk under the list held now (a perk's rule may lengthen it). */
  get reuseInterval() {
    if (this._reuseOverride !== null) return this._reuseOverride;
    const trust = this.trustStore.current;
    return Math.max(trust ? policyFor(trust.venueTypes, this.audience).reuseInterval : 0, this.reuseFloor);
  }

  /**
   * This venue type's policy under the trust list held now, and at `now` whether the verifier grants:
   * {policy, state: "fresh" | "grace" | "stopped", stopAt} (null without a trust list).
   */
  policyAnswer(now) {
    const t = toEpoch(now);
    const trust = this.trustStore.current;
    if (!trust) return null;
    const policy = policyFor(trust.venueTypes, this.audience);
    const stop = stopAt(policy, trust);
    return { policy, stopAt: stop, state: t < trust.nextUpdate ? "fresh" : t < stop ? "grace" : "stopped" };
  }

  /**
   * Decide on one scanned code (text, or the scanner's bytes). `perk` asks for one perk (default: any);
   * `now` is epoch seconds or a Date (default: this device's clock); `audience` overrides the verifier's.
   * Resolves to a Decision; rejects only for a bad configuration (InvalidClockError, ConfigurationError).
   */
  async verify(qrText, { perk = null, now, audience = this.audience } = {}) {
    const t = toEpoch(now);
    checkAudience(audience);
    if (perk !== null && typeof perk !== "string") throw new ConfigurationError("perk must be a string or null");
    try {
      return await this._verify(qrText, perk, t, audience);
    } catch (err) {
      return decision(Status.MALFORMED, {}, `internal: ${err?.name ?? typeof err}`); // a scan never crashes a gate
    }
  }

  async _verify(text, perk, now, audience) {
    if (typeof text !== "string") {
      if (!(text instanceof Uint8Array)) return decision(Status.MALFORMED, {}, "not text");
      if (text.length > MAX_QR_TEXT) return decision(Status.MALFORMED, {}, "code too long");
      text = Array.from(text, (b) => (b < 0x80 ? String.fromCharCode(b) : "\ufffd")).join("");
    }
    if (PP2_PREFIX.test(text) || PP2_PREFIX.test(lstripSpace(text))) return this._verifyPp2(text, perk, now, audience);
    if (PP3_PREFIX.test(text) || PP3_PREFIX.test(lstripSpace(text))) {
      if (this.bbs === null) return decision(Status.UNSUPPORTED_VERSION, {}, "PP3 needs a BBS module (the bbs option)");
      return this._verifyPp3(text, perk, now, audience);
    }
    let raw;
    try {
      raw = parsePp1(text);
    } catch (err) {
      if (err instanceof UnsupportedVersion) return decision(Status.UNSUPPORTED_VERSION, {}, err.message);
      if (err instanceof TransportError) return decision(Status.MALFORMED, {}, err.message);
      throw err;
    }
    const trust = this.trustStore.current;
    if (!trust) return decision(Status.TRUST_LIST_EXPIRED, {}, "no trust list");
    const policy = this._policy(trust, audience);
    if (now >= stopAt(policy, trust)) return stopped(trust, policy, now);

    const [badHeader, kid, detail] = checkHeader(raw.header);
    if (badHeader) return decision(badHeader, { kid }, detail);
    const key = trust.keys.get(kid);
    if (!key) return decision(Status.UNKNOWN_KEY, { kid }, "kid not in trust list");
    const signingInput = latin1Bytes(`${b64urlEncode(raw.header)}.${b64urlEncode(raw.payload)}`);
    if (!(await key.publicKey.verify(raw.signature, signingInput))) {
      return decision(Status.BAD_SIGNATURE, { kid }, "signature does not match");
    }
    let c;
    try {
      c = claimsFromPayload(raw.payload);
    } catch (err) {
      if (err instanceof TransportError) return decision(Status.MALFORMED, { kid }, `claims: ${err.message}`);
      throw err;
    }
    const info = {
      perks: c.prk, pseudonym: c.sub, jti: c.jti, issuer: c.iss, audience: c.aud, scheme: c.sch, band: c.bnd,
      issuedAt: c.iat, expiresAt: c.exp, kid,
    };
    const leeway = this.leeway;
    if (c.iss !== trust.issuer || (this.issuer !== null && c.iss !== this.issuer)) return decision(Status.WRONG_ISSUER, info);
    if (c.exp <= c.iat || c.exp - c.iat > MAX_LIFETIME) return decision(Status.MALFORMED, info, "lifetime outside the format's limits");
    if (key.revokedAt !== null && (now >= key.revokedAt || c.iat >= key.revokedAt)) {
      return decision(Status.REVOKED, info, "signing key withdrawn (compromised)");
    }
    if (!(key.notBefore - leeway <= c.iat && c.iat <= key.notAfter + leeway)) {
      return decision(Status.UNKNOWN_KEY, info, "signed outside the key's validity window");
    }
    if (c.aud !== audience) return decision(Status.WRONG_AUDIENCE, info);
    if (now + leeway < c.iat) return decision(Status.NOT_YET_VALID, info);
    if (now - leeway >= c.exp) return decision(Status.EXPIRED, info);
    if (!c.prk.length || (perk !== null && !c.prk.includes(perk))) return decision(Status.NOT_ENTITLED, info);
    // remembered until exp plus the largest leeway any verifier may use, so a shared memory covers them all
    if (!this.replayCache.checkAndRemember(`${c.iss}|${c.jti}`, c.exp + MAX_LEEWAY, now)) return decision(Status.REPLAYED, info);
    if (policy.perkReuse.size || policy.reuseInterval) {
      // a usage rule ("once a day here") counts by the pseudonym, which is this citizen's at this venue type
      // for one UTC day: the rule holds until it changes at midnight UTC, never across days
      const usage = usageInterval(policy, perk !== null ? [perk] : c.prk);
      if (usage && !this.replayCache.checkAndRemember(`${c.iss}|pp1|${c.sub}|${perk || "*"}`, now + usage, now)) {
        return decision(Status.REPLAYED, info, `this pseudonym was already granted here within the last ${usage} s`);
      }
    }
    return decision(Status.GRANTED, info);
  }

  async _verifyPp2(text, perk, now, audience) {
    let p;
    try {
      p = parsePp2(text);
    } catch (err) {
      if (err instanceof TransportError) return decision(Status.MALFORMED, {}, err.message);
      throw err;
    }
    const trust = this.trustStore.current;
    if (!trust) return decision(Status.TRUST_LIST_EXPIRED, {}, "no trust list");
    const policy = this._policy(trust, audience);
    if (now >= stopAt(policy, trust)) return stopped(trust, policy, now);
    const candidates = await trust.keysForReference(p.kidRef);
    if (!candidates.length) return decision(Status.UNKNOWN_KEY, { pseudonym: p.certId }, "certificate key not in trust list");
    const signed = concatBytes(CERT_CONTEXT, utf8Bytes(trust.issuer), new Uint8Array([0]), p.body);
    let key = null;
    for (const k of candidates) {
      if (await k.publicKey.verify(p.signature, signed)) {
        key = k;
        break;
      }
    }
    if (!key) return decision(Status.BAD_SIGNATURE, { pseudonym: p.certId }, "certificate signature does not match");
    const slot = Math.floor(p.presentedAt / SLOT_SECONDS);
    const presentationId = `${p.certId}-${slot}`;
    const info = {
      perks: p.perks, pseudonym: p.certId, jti: presentationId, issuer: trust.issuer, audience: p.audience,
      scheme: p.scheme, band: p.band, issuedAt: p.presentedAt, expiresAt: p.notAfter, kid: key.kid,
    };
    const leeway = this.leeway;
    if (p.notAfter <= p.notBefore || p.notAfter - p.notBefore > MAX_CERT_LIFETIME) {
      return decision(Status.MALFORMED, info, "certificate lifetime outside the format's limits");
    }
    if (key.revokedAt !== null && (now >= key.revokedAt || p.notBefore >= key.revokedAt)) {
      return decision(Status.REVOKED, info, "certifying key withdrawn (compromised)");
    }
    if (!(key.notBefore - leeway <= p.notBefore && p.notBefore <= key.notAfter + leeway)) {
      return decision(Status.UNKNOWN_KEY, info, "certified outside the key's validity window");
    }
    const keyProblem = deviceKeyProblem(p.keyType, p.deviceKey);
    if (keyProblem) return decision(Status.MALFORMED, info, `certificate device key refused: ${keyProblem}`);
    if (!(await deviceSignatureOk(p.keyType, p.deviceKey, p.deviceSignature, p.signedInput))) {
      // bytes that are not a point are refused by the signature check already; the answer is MALFORMED
      const pointProblem = p.keyType === KEY_ED25519 ? ed25519PointProblem(p.deviceKey) : null;
      if (pointProblem) return decision(Status.MALFORMED, info, `certificate device key refused: ${pointProblem}`);
      return decision(Status.BAD_SIGNATURE, info, "presentation not signed by the certified device");
    }
    if (p.audience !== audience) return decision(Status.WRONG_AUDIENCE, info);
    if (trust.revoked.has(p.certId)) return decision(Status.REVOKED, info, "certificate on the trust list's revocation list");
    if (now + leeway < p.notBefore) return decision(Status.NOT_YET_VALID, info, "certificate not valid yet");
    if (now - leeway >= p.notAfter) {
      return decision(Status.EXPIRED, info, "certificate expired: the phone must connect once to renew it");
    }
    if (Math.abs(now - p.presentedAt) > this.presentationWindow + leeway) {
      return decision(Status.CLOCK_SKEW, info, `presented at ${p.presentedAt}, ${Math.trunc(p.presentedAt - now)} s from this device`);
    }
    if (!(p.notBefore - leeway <= p.presentedAt && p.presentedAt < p.notAfter + leeway)) {
      return decision(Status.EXPIRED, info, "presented outside the certificate's validity");
    }
    if (!p.perks.length || (perk !== null && !p.perks.includes(perk))) return decision(Status.NOT_ENTITLED, info);
    // One grant per certificate and perk per reuse interval: whoever holds the device key can sign a
    // presentation dated into every slot of the window, so the key is the certificate, not the presentation.
    // the venue type's interval (never below the floor) unless the integrator set one; a perk's own usage
    // rule ("once a day") lengthens either
    let reuse = this._reuseOverride ?? Math.max(policy.reuseInterval, this.reuseFloor);
    if (policy.perkReuse.size) reuse = Math.max(reuse, usageInterval(policy, perk !== null ? [perk] : p.perks));
    if (!this.replayCache.checkAndRemember(`${trust.issuer}|pp2|${p.certId}|${perk || "*"}`, now + reuse, now)) {
      return decision(Status.REPLAYED, info, `this certificate was already granted here within the last ${reuse} s`);
    }
    return decision(Status.GRANTED, info);
  }

  // docs/credential-format.md, "PP3 verification order"; the same steps as partner_sdk's Verifier
  async _verifyPp3(text, perk, now, audience) {
    let p;
    try {
      p = parsePp3(text);
    } catch (err) {
      if (err instanceof TransportError) return decision(Status.MALFORMED, {}, err.message);
      throw err;
    }
    const trust = this.trustStore.current;
    if (!trust) return decision(Status.TRUST_LIST_EXPIRED, {}, "no trust list");
    const policy = this._policy(trust, audience);
    if (now >= stopAt(policy, trust)) return stopped(trust, policy, now);
    const nym = p.pseudonym ? b64urlEncode(p.pseudonym) : null;
    const candidates = [];
    for (const k of trust.bbsKeys.values()) {
      const ref = await keyReference(k.kid);
      if (ref.every((b, i) => b === p.keyRef[i])) candidates.push(k);
    }
    if (!candidates.length) return decision(Status.UNKNOWN_KEY, { pseudonym: nym }, "BBS key not in trust list");
    let key = null;
    // with a pseudonym, its window must be one a policy can say (130 s .. 31 days) before any proof work
    if (p.pseudonym === null || (MIN_QUOTA_WINDOW <= p.window && p.window <= MAX_REUSE_INTERVAL)) {
      for (const k of candidates) {
        if (this.bbs.verifyProof({ publicKey: k.publicKey, proof: p.proof, pseudonym: p.pseudonym, issuer: trust.issuer,
          kid: k.kid, audience: p.audience, perks: p.perks, day: p.day, slot: p.slot, window: p.window })) {
          key = k;
          break;
        }
      }
    }
    if (!key) return decision(Status.BAD_SIGNATURE, { pseudonym: nym }, "proof does not verify");
    const dayStart = p.day * DAY;
    const dayEnd = dayStart + DAY;
    const info = {
      perks: p.perks, pseudonym: nym, jti: await presentationId(p.proof), issuer: trust.issuer, audience: p.audience,
      scheme: null, band: null, issuedAt: p.presentedAt, expiresAt: dayEnd, kid: key.kid,
    };
    const leeway = this.leeway;
    if (key.revokedAt !== null && (now >= key.revokedAt || dayStart >= key.revokedAt)) {
      return decision(Status.REVOKED, info, "certifying BBS key withdrawn (compromised)");
    }
    if (!(key.notBefore - leeway < dayEnd && dayStart <= key.notAfter + leeway)) {
      return decision(Status.UNKNOWN_KEY, info, "certified for a day outside the key's validity");
    }
    // a retired key (the issuer rotated past it) certifies nothing after its end, even a day it overlapped
    if (now - leeway > key.notAfter) return decision(Status.UNKNOWN_KEY, info, "BBS key retired: its period ended");
    if (p.audience !== audience) return decision(Status.WRONG_AUDIENCE, info);
    if (now + leeway < dayStart) return decision(Status.NOT_YET_VALID, info, "certificate not valid yet");
    if (now - leeway >= dayEnd) return decision(Status.EXPIRED, info, "certificate expired: the phone must connect once to renew it");
    const window = this.presentationWindow;
    const age = now - p.presentedAt;
    if (!(-(window + leeway) <= age && age <= window + leeway + SLOT_SECONDS)) {
      return decision(Status.CLOCK_SKEW, info, `presented at ${p.presentedAt}, ${Math.trunc(p.presentedAt - now)} s from this device`);
    }
    if (!(dayStart - leeway <= p.presentedAt && p.presentedAt < dayEnd + leeway)) {
      return decision(Status.EXPIRED, info, "presented outside the certificate's validity");
    }
    if (perk !== null && !p.perks.includes(perk)) return decision(Status.NOT_ENTITLED, info);
    const quota = quotaWindow(usageInterval(policy, p.perks));
    // every venue type has a quota ("once per visit" at least): a code without a pseudonym cannot be counted
    if (p.pseudonym === null) return decision(Status.MALFORMED, info, "this venue type needs a quota pseudonym in the code");
    if (p.window !== quota) return decision(Status.MALFORMED, info, `quota window ${p.window} s, this venue type's policy says ${quota} s`);
    // a second scan of one code is the same proof; the quota is the pseudonym, the same here until the window ends
    if (!this.replayCache.checkAndRemember(`${trust.issuer}|pp3|${info.jti}`, p.presentedAt + SLOT_SECONDS + window + MAX_LEEWAY, now)) {
      return decision(Status.REPLAYED, info);
    }
    if (!this.replayCache.checkAndRemember(`${trust.issuer}|pp3nym|${p.audience}|${p.window}|${nym}|${perk || "*"}`,
      windowEnd(p.window, p.slot) + MAX_LEEWAY, now)) {
      return decision(Status.REPLAYED, info, `this pseudonym was already granted here in this ${p.window} s window`);
    }
    return decision(Status.GRANTED, info);
  }
}

