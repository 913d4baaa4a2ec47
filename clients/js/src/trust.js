// Root-signed trust lists (spec "Trust list"): which issuer keys to accept, until when, and which PP2
// certificates are withdrawn. A TrustStore holds the pinned root(s) and the newest verified list.

import {
  TransportError, b64urlDecode, b64urlEncode, bytesEqual, codePointLength, sha256, stripSpace, utf8Bytes,
} from "./bytes.js";
import { toEpoch } from "./clock.js";
import {
  ALGORITHM, HEADER_MAX_DEPTH, KID_REF_LEN, REVOKED_ID_CHARS, MAX_ROOT_CHAIN, MAX_TRUST_LIST_BYTES,
  ROOT_STATEMENT_MAX_DEPTH, ROOT_STATEMENT_TYP, TRUST_LIST_MAX_DEPTH, TRUST_LIST_TYP,
} from "./constants.js";
import { ed25519SignatureProblem } from "./curves.js";
import {
  InvalidKeyError, TrustListError, TrustListExpiredError, TrustListRollbackError, TrustListSignatureError,
  TrustListTooLargeError,
} from "./errors.js";
import { asTime, parseJsonBounded } from "./json.js";
import { decodeVenueTypes } from "./venue.js";

const HEADER_KEYS = new Set(["alg", "kid", "typ"]);
const malformed = (why) => new TrustListError(`trust list content malformed: ${why}`);

/** An Ed25519 public key (32 raw bytes) and its WebCrypto handle, imported once. */
export class Ed25519Key {
  constructor(raw) {
    this.raw = raw;
    this._handle = null;
  }

  /** RFC 8032 verification; S < L and a canonical R are required first. Never throws. */
  async verify(signature, message) {
    if (ed25519SignatureProblem(signature)) return false;
    try {
      this._handle ??= crypto.subtle.importKey("raw", this.raw, { name: "Ed25519" }, false, ["verify"]);
      return await crypto.subtle.verify({ name: "Ed25519" }, await this._handle, signature, message);
    } catch {
      return false;
    }
  }
}

/** An Ed25519 public key from a JWK (object, Map or JSON text) or 32 raw bytes; InvalidKeyError otherwise. */
export function loadPublicKey(value) {
  if (value instanceof Uint8Array) {
    if (value.length !== 32) throw new InvalidKeyError("an Ed25519 public key is 32 bytes");
    return new Ed25519Key(Uint8Array.from(value));
  }
  let jwk = value;
  if (typeof jwk === "string") {
    try {
      jwk = JSON.parse(jwk);
    } catch {
      throw new InvalidKeyError("cannot read public key: not JSON");
    }
  }
  // the issuer's /api/v1/trust-root document wraps the JWK: {"issuer": ..., "root_public_key": JWK}
  if (jwk && typeof jwk === "object" && !(jwk instanceof Map) && !("kty" in jwk) && jwk.root_public_key
      && typeof jwk.root_public_key === "object") {
    jwk = jwk.root_public_key;
  }
  const get = (k) => (jwk instanceof Map ? jwk.get(k) : jwk?.[k]);
  const has = (k) => (jwk instanceof Map ? jwk.has(k) : Object.hasOwn(jwk, k));
  if (jwk === null || typeof jwk !== "object" || Array.isArray(jwk)) {
    throw new InvalidKeyError("cannot read a public key from this value");
  }
  if (get("kty") !== "OKP" || get("crv") !== "Ed25519") throw new InvalidKeyError("JWK is not an OKP Ed25519 key");
  if (has("d")) throw new InvalidKeyError("JWK contains a private key; give the public key only");
  const x = get("x");
  let raw;
  try {
    raw = typeof x === "string" ? b64urlDecode(x) : null;
  } catch {
    raw = null;
  }
  if (!raw || raw.length !== 32) throw new InvalidKeyError("Ed25519 public key must be 32 bytes of base64url");
  return new Ed25519Key(raw);
}

// a JWK's public part only ({kty, crv, x}), as the spec reads keys inside lists and root statements
function loadJwkPublicPart(map) {
  return loadPublicKey(new Map(["kty", "crv", "x"].map((k) => [k, map.get(k)])));
}

/** Header, payload bytes, signature and signing input of a compact JWS with canonical segments. */
function splitJws(text, what) {
  if (typeof text !== "string" || text.length > MAX_TRUST_LIST_BYTES) throw new TrustListSignatureError(`not a ${what} JWS`);
  const parts = text.split(".");
  if (parts.length !== 3) throw new TrustListSignatureError(`not a ${what} JWS: not three segments`);
  let header;
  let payload;
  let signature;
  try {
    header = parseJsonBounded(b64urlDecode(parts[0]), HEADER_MAX_DEPTH);
    payload = b64urlDecode(parts[1]);
    signature = b64urlDecode(parts[2]);
  } catch (err) {
    if (!(err instanceof TransportError)) throw err;
    throw new TrustListSignatureError(`not a ${what} JWS: ${err.message}`);
  }
  if (!(header instanceof Map) || header.get("alg") !== ALGORITHM || [...header.keys()].some((k) => !HEADER_KEYS.has(k))) {
    throw new TrustListSignatureError(`not a Perkpass ${what} (typ/alg/crit)`);
  }
  return { header, payload, signature, signingInput: utf8Bytes(`${parts[0]}.${parts[1]}`) }; // ASCII: base64url
}

async function signedBy(roots, signature, signingInput) {
  for (const root of roots) if (await root.verify(signature, signingInput)) return true;
  return false;
}

/**
 * Follow the root statements not seen yet (spec "Root rotation"). Returns [roots, version, issuer|null].
 * Versions are BigInts (JSON integers).
 */
export async function followRootChain(chain, roots, version) {
  if (chain === undefined || chain === null) return [roots, version, null];
  if (!Array.isArray(chain) || chain.length > MAX_ROOT_CHAIN) throw malformed("roots must be a list of root statements");
  let current = roots;
  let ver = version;
  let linked = false;
  let issuer = null;
  for (const text of chain) {
    const { header, payload, signature, signingInput } = splitJws(text, "root statement");
    if (header.get("typ") !== ROOT_STATEMENT_TYP) throw new TrustListSignatureError("not a Perkpass root statement (typ)");
    let p;
    let newRoot;
    try {
      p = parseJsonBounded(payload, ROOT_STATEMENT_MAX_DEPTH);
      if (!(p instanceof Map) || typeof p.get("ver") !== "bigint" || typeof p.get("iss") !== "string" ||
          !(p.get("root") instanceof Map) || asTime(p.get("iat")) === null) {
        throw new TransportError("iss, ver, root and iat required");
      }
      newRoot = loadJwkPublicPart(p.get("root"));
    } catch (err) {
      if (!(err instanceof TransportError || err instanceof InvalidKeyError)) throw err;
      throw malformed(`root statement: ${err.message}`);
    }
    if (issuer !== null && p.get("iss") !== issuer) throw malformed("root statements name different issuers");
    issuer = p.get("iss");
    const v = p.get("ver");
    if (v <= ver) continue; // followed already, or older than the root held
    if (current.some((r) => bytesEqual(r.raw, newRoot.raw))) {
      [current, ver, linked] = [[newRoot], v, true]; // names the root held: now its version is known
      continue;
    }
    if ((!linked || v === ver + 1n) && (await signedBy(current, signature, signingInput))) {
      [current, ver, linked] = [[newRoot], v, true];
      continue;
    }
    if (linked) throw new TrustListSignatureError(`root statement for version ${v} is not signed by root ${ver}`);
  }
  return [current, ver, issuer];
}

/** A verified trust list. Only TrustStore makes these. */
export class TrustList {
  constructor(fields) {
    Object.assign(this, fields);
    this._kidRefs = null;
    Object.seal(this);
  }

  /** The issuer keys whose reference (SHA-256 of the kid, first 8 bytes) is `ref`, in list order. */
  async keysForReference(ref) {
    if (this._kidRefs === null) {
      const refs = new Map();
      for (const key of this.keys.values()) {
        const r = (await sha256(utf8Bytes(key.kid))).subarray(0, KID_REF_LEN);
        const hex = Array.from(r, (b) => b.toString(16).padStart(2, "0")).join("");
        if (!refs.has(hex)) refs.set(hex, []);
        refs.get(hex).push(key);
      }
      this._kidRefs = refs;
    }
    const hex = Array.from(ref, (b) => b.toString(16).padStart(2, "0")).join("");
    return this._kidRefs.get(hex) ?? [];
  }
}

const REVOKED_TEXT = /^[A-Za-z0-9_-]+$/;

/**
 * The certificate ids a trust list's `revoked` member withdraws (spec "Withdrawn PP2 certificates"): one
 * string of 16-character ids, sorted and concatenated; or, for lists signed by issuers of SDK 0.1.0, a JSON
 * list of such ids. Anything malformed makes the whole list invalid, never "no revocations".
 */
export function decodeRevoked(member) {
  if (Array.isArray(member)) {
    if (!member.length || !member.every((i) => typeof i === "string" && i.length === REVOKED_ID_CHARS && REVOKED_TEXT.test(i))) {
      throw malformed("revoked must be a non-empty list of 16-character certificate ids");
    }
    for (let i = 1; i < member.length; i++) {
      if (!(member[i - 1] < member[i])) throw malformed("revoked certificate ids are not in strictly ascending order");
    }
    return new Set(member);
  }
  if (typeof member !== "string" || !member) throw malformed("revoked must be a non-empty string of 16-character certificate ids");
  if (member.length % REVOKED_ID_CHARS) throw malformed(`revoked is ${member.length} characters, not a multiple of ${REVOKED_ID_CHARS}`);
  // one pass over the characters: the alphabet, and each id strictly above the one before (ASCII order, which
  // also refuses a repeated id); up to 62,500 ids, so no regular expression or substring comparisons here
  for (let i = 0; i < member.length; i++) {
    const c = member.charCodeAt(i);
    if (c >= 128 || !IS_B64URL[c]) throw malformed("revoked holds a character outside base64url");
  }
  const ids = new Set();
  for (let start = 0; start < member.length; start += REVOKED_ID_CHARS) {
    if (start) {
      let j = 0;
      while (j < REVOKED_ID_CHARS && member.charCodeAt(start - REVOKED_ID_CHARS + j) === member.charCodeAt(start + j)) j++;
      if (j === REVOKED_ID_CHARS || member.charCodeAt(start - REVOKED_ID_CHARS + j) > member.charCodeAt(start + j)) {
        throw malformed("revoked certificate ids are not in strictly ascending order");
      }
    }
    ids.add(member.slice(start, start + REVOKED_ID_CHARS));
  }
  return ids;
}

const BBS_KEY_MEMBERS = new Set(["kid", "pk", "nbf", "not_after", "revoked_at"]);

/**
 * The `bbs_keys` member (the issuer's BBS keys for PP3 codes), checked for its structure as the Python SDK
 * checks it: a list of at most 16 entries {kid, pk, nbf, not_after[, revoked_at]}, kids 1 … 64 characters and
 * unique, times with nbf <= not_after, pk the canonical base64url of 96 bytes. Returns kid -> {kid,
 * publicKey (96 bytes), notBefore, notAfter, revokedAt}. This module has no pairing-curve arithmetic, so it
 * does not check here that pk is a point of BLS12-381's G2 subgroup (the Python SDK does, at load): the BBS
 * module checks it with every PP3 proof and refuses the proof, so such a key never grants.
 */
export function checkBbsKeys(member) {
  if (!Array.isArray(member) || member.length > 16) throw malformed("bbs_keys must be a list of at most 16 keys");
  const kids = new Set();
  const keys = new Map();
  for (const entry of member) {
    if (!(entry instanceof Map) || !["kid", "pk", "nbf", "not_after"].every((k) => entry.has(k)) ||
        [...entry.keys()].some((k) => !BBS_KEY_MEMBERS.has(k))) {
      throw malformed("a bbs_keys entry is {kid, pk, nbf, not_after[, revoked_at]}");
    }
    const kid = entry.get("kid");
    if (typeof kid !== "string" || !(codePointLength(kid) > 0 && codePointLength(kid) <= 64) || kids.has(kid)) {
      throw malformed("bbs_keys: a kid is 1..64 characters and unique");
    }
    kids.add(kid);
    const nbf = asTime(entry.get("nbf"));
    const notAfter = asTime(entry.get("not_after"));
    if (nbf === null || notAfter === null || nbf > notAfter) throw malformed(`bbs key ${kid}: nbf and not_after must be integers, nbf <= not_after`);
    const revokedAt = entry.get("revoked_at") ?? null;
    if (revokedAt !== null && asTime(revokedAt) === null) throw malformed(`bbs key ${kid}: revoked_at must be an integer`);
    let raw = null;
    try {
      raw = typeof entry.get("pk") === "string" ? b64urlDecode(entry.get("pk")) : null;
    } catch {
      raw = null;
    }
    if (!raw || raw.length !== 96) throw malformed(`bbs key ${kid}: pk is not a BBS public key (96 bytes)`);
    keys.set(kid, Object.freeze({ kid, publicKey: raw, notBefore: nbf, notAfter, revokedAt: revokedAt === null ? null : asTime(revokedAt) }));
  }
  return keys;
}

const IS_B64URL = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") IS_B64URL[c.charCodeAt(0)] = 1;

// `p`: the payload as parsed (once) before the signature was checked; it is trusted from here on
function trustListContent(p, raw, rootVersion) {
  if (!(p instanceof Map)) throw malformed("payload is not an object");
  const iss = p.get("iss");
  if (typeof iss !== "string" || !(codePointLength(iss) > 0 && codePointLength(iss) <= 64)) throw malformed("iss");
  const [seq, iat, nextUpdate, exp] = ["seq", "iat", "next_update", "exp"].map((k) => asTime(p.get(k)));
  if (seq === null || iat === null || nextUpdate === null || exp === null) {
    throw malformed("seq, iat, next_update and exp must be integers");
  }
  if (!(iat <= nextUpdate && nextUpdate <= exp)) throw malformed("iat <= next_update <= exp does not hold");
  const jwks = p.get("keys");
  const perks = p.has("perks") ? p.get("perks") : new Map();
  if (!Array.isArray(jwks) || !jwks.every((j) => j instanceof Map)) throw malformed("keys must be a list of JWK objects");
  if (!(perks instanceof Map)) throw malformed("perks must be an object");
  const revoked = p.has("revoked") ? decodeRevoked(p.get("revoked")) : new Set();
  const bbsKeys = p.has("bbs_keys") ? checkBbsKeys(p.get("bbs_keys")) : new Map(); // PP3's keys (a bad member is a bad list)
  let venueTypes = null; // no member: the v1 rules
  if (p.has("venue_types")) {
    try {
      venueTypes = decodeVenueTypes(p.get("venue_types"));
    } catch (err) {
      throw malformed(err.message);
    }
  }
  const keys = new Map();
  const kids = new Set();
  for (const jwk of jwks) {
    const kid = jwk.get("kid");
    if (typeof kid !== "string" || !kid) throw malformed("a key has no kid");
    if (kids.has(kid)) throw malformed(`duplicate kid ${JSON.stringify(kid.slice(0, 40))}`);
    kids.add(kid);
    const nbf = asTime(jwk.get("nbf"));
    const notAfter = asTime(jwk.get("not_after"));
    if (nbf === null || notAfter === null || nbf > notAfter) {
      throw malformed(`key ${kid.slice(0, 40)}: nbf and not_after must be integers, nbf <= not_after`);
    }
    let revokedAt = jwk.get("revoked_at") ?? null; // absent and null both mean "not withdrawn"
    if (revokedAt !== null) {
      revokedAt = asTime(revokedAt);
      if (revokedAt === null) throw malformed(`key ${kid.slice(0, 40)}: revoked_at must be an integer`);
    }
    if (jwk.has("d")) throw malformed(`key ${kid.slice(0, 40)} includes its private part`);
    if ((jwk.has("alg") ? jwk.get("alg") : ALGORITHM) !== ALGORITHM) continue; // only EdDSA keys are trusted
    let publicKey;
    try {
      publicKey = loadJwkPublicPart(jwk);
    } catch (err) {
      throw malformed(`key ${kid.slice(0, 40)}: ${err.message}`);
    }
    keys.set(kid, Object.freeze({ kid, publicKey, notBefore: nbf, notAfter, revokedAt }));
  }
  return new TrustList({
    issuer: iss, sequence: seq, issuedAt: iat, nextUpdate, expiresAt: exp, keys, perks, raw,
    revoked, rootVersion, venueTypes, bbsKeys,
  });
}

/** Verify a trust list text against `roots` (following its root chain): [TrustList, roots, version]. */
export async function parseTrustList(data, roots, rootVersion) {
  let text;
  if (typeof data === "string") {
    if (data.length > MAX_TRUST_LIST_BYTES && codePointLength(data) > MAX_TRUST_LIST_BYTES) {
      throw new TrustListTooLargeError("trust list too large");
    }
    text = data;
  } else if (data instanceof Uint8Array) {
    if (data.length > MAX_TRUST_LIST_BYTES) throw new TrustListTooLargeError("trust list too large");
    text = Array.from(data, (b) => (b < 0x80 ? String.fromCharCode(b) : "\ufffd")).join("");
  } else {
    throw new TrustListError("a trust list is text or bytes");
  }
  text = stripSpace(text);
  const { header, payload, signature, signingInput } = splitJws(text, "trust list");
  if (header.get("typ") !== TRUST_LIST_TYP) throw new TrustListSignatureError("not a Perkpass trust list (typ/alg/crit)");
  // the chain sits in the payload, trusted only once the newest root verified it; until then it is read only
  // to learn which root that is (every statement is itself verified on the way)
  let unverified;
  try {
    unverified = parseJsonBounded(payload, TRUST_LIST_MAX_DEPTH);
  } catch (err) {
    throw malformed(err.message);
  }
  const chain = unverified instanceof Map ? unverified.get("roots") : undefined;
  const [newRoots, version, chainIssuer] = await followRootChain(chain, roots, rootVersion);
  if (!(await signedBy(newRoots, signature, signingInput))) {
    throw new TrustListSignatureError("trust list is not signed by the pinned root key (or the root it rotated to)");
  }
  const tl = trustListContent(unverified, text, version);
  if (chainIssuer !== null && chainIssuer !== tl.issuer) throw malformed("root statements name another issuer");
  return [tl, newRoots, version];
}

export const FRESH = "fresh";
export const STALE = "stale";
export const EXPIRED = "expired";
export const MISSING = "missing";

/** The pinned root key(s) and the newest verified trust list. */
export class TrustStore {
  /** @param rootPublicKey a root JWK (object or JSON text), 32 raw bytes, or an array of those */
  constructor(rootPublicKey) {
    const roots = Array.isArray(rootPublicKey) ? rootPublicKey : [rootPublicKey];
    if (!roots.length) throw new InvalidKeyError("at least one root public key must be pinned");
    this._roots = roots.map(loadPublicKey);
    this._rootVersion = 0n;
    this._current = null;
    this._highWater = 0;
  }

  get current() {
    return this._current;
  }

  /** 0 while the pinned root signs; N once a root chain led to the root of version N. */
  get rootVersion() {
    return Number(this._rootVersion);
  }

  /**
   * Verify and adopt a trust list (text or bytes). Throws TrustListSignatureError (not signed by the root
   * held), TrustListRollbackError, TrustListExpiredError (already past exp at `now`) or TrustListError;
   * the list held before stays in force then.
   */
  async load(data, { now } = {}) {
    const t = toEpoch(now);
    const [tl, roots, version] = await parseTrustList(data, this._roots, this._rootVersion);
    if (t >= tl.expiresAt) throw new TrustListExpiredError(`trust list sequence ${tl.sequence} had expired`);
    const held = Math.max(this._highWater, this._current ? this._current.sequence : 0);
    if (tl.sequence < held) throw new TrustListRollbackError(`trust list sequence ${tl.sequence} is older than ${held}`);
    if (this._current && tl.sequence === this._current.sequence && tl.raw !== this._current.raw) {
      throw new TrustListRollbackError(`a different trust list with the same sequence ${tl.sequence}`);
    }
    if (this._current && this._current.issuer !== tl.issuer) {
      throw new TrustListError(`trust list issuer changed from ${this._current.issuer} to ${tl.issuer}`);
    }
    if (version < this._rootVersion) throw new TrustListRollbackError(`signed by root ${version}, older than root ${this._rootVersion}`);
    this._current = tl;
    this._roots = roots;
    this._rootVersion = version;
    this._highWater = Math.max(held, tl.sequence);
    return tl;
  }

  /**
   * What a restarted verifier needs to keep working offline and to keep refusing rollbacks, as plain JSON
   * (store it in localStorage, IndexedDB or a file): the list held, the highest sequence seen, and the root a
   * root chain led to. Give it back to restoreState() after a restart.
   */
  exportState() {
    const state = { trustList: this._current ? this._current.raw : null, highWater: this._highWater, rootVersion: Number(this._rootVersion) };
    if (this._rootVersion > 0n) state.root = { kty: "OKP", crv: "Ed25519", x: b64urlEncode(this._roots[0].raw) };
    return state;
  }

  /**
   * Take back an exportState() after a restart (before loading anything newer): the rollback mark and the
   * root are restored, and the saved list is adopted if it verifies against that root and is not older than
   * the mark. A damaged state is ignored rather than trusted; an expired list is kept (codes then answer
   * TRUST_LIST_EXPIRED until a newer list is loaded), as the Python TrustStore's cache directory does.
   */
  async restoreState(state) {
    if (state === null || typeof state !== "object") return;
    if (Number.isSafeInteger(state.highWater) && state.highWater > this._highWater) this._highWater = state.highWater;
    if (Number.isSafeInteger(state.rootVersion) && state.rootVersion > 0 && state.root) {
      try {
        const root = loadPublicKey(state.root);
        [this._roots, this._rootVersion] = [[root], BigInt(state.rootVersion)];
      } catch {
        // a damaged root: keep the pinned one (lists signed by a newer root then follow the chain again)
      }
    }
    if (typeof state.trustList !== "string") return;
    try {
      const [tl, roots, version] = await parseTrustList(state.trustList, this._roots, this._rootVersion);
      if (tl.sequence >= this._highWater) {
        [this._current, this._roots, this._rootVersion] = [tl, roots, version];
        this._highWater = Math.max(this._highWater, tl.sequence);
      }
    } catch (err) {
      if (!(err instanceof TrustListError)) throw err;
    }
  }

  /** {state: fresh|stale|expired|missing, ageSeconds, nextUpdate, expiresAt} at `now`. */
  freshness(now) {
    const cur = this._current;
    if (!cur) return { state: MISSING, ageSeconds: null, nextUpdate: null, expiresAt: null };
    const t = toEpoch(now);
    const state = t < cur.nextUpdate ? FRESH : t < cur.expiresAt ? STALE : EXPIRED;
    return { state, ageSeconds: t - cur.issuedAt, nextUpdate: cur.nextUpdate, expiresAt: cur.expiresAt };
  }
}
