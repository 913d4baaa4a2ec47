// The phone as an offline code maker (PP2, byte layout in partner_sdk/pp2.py and docs/credential-format.md).
//
// A key pair made here with WebCrypto, non-extractable, kept in IndexedDB: Ed25519 where the browser has it,
// ECDSA P-256 otherwise. The backend certifies its public key per venue type for about a day (a "perk
// certificate"); with no network at all the page then signs (certificate, current time) for each fresh code.
// Nothing here ever holds the score: a certificate says only which perks, where, until when.

const DB_NAME = "perkpass-holder";
const STORE = "kv";
const enc = new TextEncoder();
const REGISTRATION_CONTEXT = enc.encode("perkpass-device-registration\0");
const PRESENTATION_CONTEXT = enc.encode("perkpass-pp2-presentation\0");
const RENEW_MARGIN = 60; // seconds: a certificate this close to its end counts as expired (a gate would refuse it)
export const SKEW_WARNING = 60; // seconds of phone clock error worth telling the citizen about

let cache = { device: null, state: null, pp3: null };
let dbPromise = null;

// ---- IndexedDB ----------------------------------------------------------------------------------

function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      if (!("indexedDB" in self)) { reject(new Error("no IndexedDB")); return; }
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    dbPromise.catch(() => { dbPromise = null; });
  }
  return dbPromise;
}

async function idb(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction(STORE, mode);
    const req = fn(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req ? req.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

const get = (key) => idb("readonly", (s) => s.get(key));
const put = (key, value) => idb("readwrite", (s) => s.put(value, key));

// ---- bytes --------------------------------------------------------------------------------------

export function b64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function unb64url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.length; }
  return out;
}

function uint32(n) {
  return new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

// "PP2" + the bytes (after a 0x01 sentinel) read as one big-endian integer, in decimal: digits only,
// a QR numeric segment, and HID scanners type it faithfully.
function toDigits(bytes) {
  let hex = "01";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return BigInt("0x" + hex).toString(10);
}

// ---- keys ---------------------------------------------------------------------------------------

async function makeKeyPair() {
  try {
    const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    return { algorithm: "Ed25519", keyPair: kp };
  } catch (_) {
    const kp = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    return { algorithm: "P-256", keyPair: kp };
  }
}

async function sign(device, data) {
  const alg = device.algorithm === "Ed25519" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
  return new Uint8Array(await crypto.subtle.sign(alg, device.keyPair.privateKey, data));
}

function deviceLabel() {
  const ua = navigator.userAgent || "";
  const os = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Windows/.test(ua) ? "Windows"
    : /Mac OS/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "";
  const browser = /Edg\//.test(ua) ? "Edge" : /MicroMessenger/.test(ua) ? "WeChat" : /Chrom/.test(ua) ? "Chrome"
    : /Firefox/.test(ua) ? "Firefox" : /Safari/.test(ua) ? "Safari" : "Browser";
  return os ? `${browser} · ${os}` : browser;
}

// ---- state --------------------------------------------------------------------------------------

/** Read the device and certificates from IndexedDB into memory (call once at start; a few ms). */
export async function load() {
  try {
    const [device, state, pp3] = await Promise.all([get("device"), get("state"), get("pp3")]);
    cache = { device: device || null, state: state || null, pp3: pp3 || null };
  } catch (_) {
    cache = { device: null, state: null, pp3: null };
  }
  return cache;
}

export function supported() {
  return !!(self.crypto && crypto.subtle && "indexedDB" in self);
}

export function deviceId() {
  return cache.device && cache.device.id ? cache.device.id : null;
}

/** Seconds the server's clock is ahead of this phone's (learned at the last online visit). */
export function clockOffset() {
  return cache.state ? cache.state.offset || 0 : 0;
}

/** The server-corrected time, epoch seconds. */
export function now() {
  return Date.now() / 1000 + clockOffset();
}

export function slotSeconds() {
  return (cache.state && cache.state.slot_seconds) || 30;
}

/** Certificates for an audience: { usable: [...] most perks first, expired: bool (had some, all ended) }. */
export function certificatesFor(audience) {
  const all = (cache.state && cache.state.certificates || []).filter((c) => c.audience === audience);
  const t = now();
  const usable = all.filter((c) => c.not_before - 60 <= t && t < c.not_after - RENEW_MARGIN)
    .sort((a, b) => b.perks.length - a.perks.length || a.scheme.localeCompare(b.scheme));
  return { usable, expired: all.length > 0 && usable.length === 0 };
}

/** Audiences with a usable certificate, and their perks (for "Show my code" without a network). */
export function offlineAudiences() {
  const out = {};
  for (const c of (cache.state && cache.state.certificates) || []) {
    if (certificatesFor(c.audience).usable.length) (out[c.audience] ||= []).push(...c.perks);
  }
  return out;
}

/**
 * What this phone can do without signal, for the offline banner and the home screen:
 * { state: "ready", until, pp3Until } (codes for every venue type it has any for until `until`, epoch seconds),
 * "expired" (it had certificates and all have ended: connect once to renew) or "none" (it never had any).
 * Where the phone holds today's PP3 certificate (js/pp3.js) its codes are unlinkable ones until `pp3Until`, the
 * end of the UTC day they are certified for, then PP2 ones while its PP2 certificate lasts; null without PP3.
 */
export function offlineState() {
  const all = (cache.state && cache.state.certificates) || [];
  const pp3 = (cache.pp3 && cache.pp3.certificates) || [];
  const dayEnd = (Math.floor(now() / 86400) + 1) * 86400;
  let until = null;
  let pp3Until = null;
  for (const a of new Set([...all, ...pp3].map((c) => c.audience))) {
    const pp2Ends = certificatesFor(a).usable.map((c) => c.not_after - RENEW_MARGIN);
    let end = pp2Ends.length ? Math.min(...pp2Ends) : null;
    if (pp3Usable(a)) {
      pp3Until = dayEnd;
      end = Math.max(end ?? 0, dayEnd);  // the code screen shows PP3 until the day ends, then PP2 if it lasts
    }
    if (end !== null) until = until === null ? end : Math.min(until, end);  // every venue type's code until then
  }
  if (until !== null) return { state: "ready", until, pp3Until };
  return { state: all.length || pp3.length ? "expired" : "none", until: null, pp3Until: null };
}

/**
 * Whether this phone's clock looks changed since the offset was learned online: the corrected time is
 * before the moment the certificates were fetched (time cannot go back), so the learned offset is stale.
 */
export function clockChanged() {
  return !!(cache.state && cache.state.fetched_at && now() < cache.state.fetched_at - SKEW_WARNING);
}

export function hasAnyCertificates() {
  return !!(cache.state && cache.state.certificates && cache.state.certificates.length);
}

async function ensureDevice(api) {
  let device = cache.device;
  if (device && device.id) return device;
  if (!device) {
    // stored before registering, so a failed registration is retried with the same key
    device = await makeKeyPair();
    await put("device", device);
    cache.device = device;
  }
  const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", device.keyPair.publicKey));
  const ch = await api("/api/v1/me/devices/challenge", { method: "POST" });
  const proof = await sign(device, concat(REGISTRATION_CONTEXT, unb64url(ch.challenge), publicRaw));
  const r = await api("/api/v1/me/devices", { method: "POST", body: {
    algorithm: device.algorithm, public_key: b64url(publicRaw), challenge: ch.challenge, signature: b64url(proof),
    label: deviceLabel() } });
  device = { ...device, id: r.id };
  await put("device", device);
  cache.device = device;
  return device;
}

/**
 * Online: register this phone if needed and fetch its certificates (the server keeps a young certificate
 * and replaces an old one). Learns the clock offset. Throws the api() errors; the caller decides what to show.
 */
export async function refresh(api) {
  if (!supported()) return null;
  let device = await ensureDevice(api);
  const call = () => api(`/api/v1/me/devices/${encodeURIComponent(device.id)}/certificates`, { method: "POST" });
  const t0 = Date.now();
  let r;
  try {
    r = await call();
  } catch (e) {
    if (e && e.status === 404) {  // removed from another phone or the list: register again
      device = { algorithm: device.algorithm, keyPair: device.keyPair };
      cache.device = device;
      await put("device", device);
      device = await ensureDevice(api);
      r = await call();
    } else {
      throw e;
    }
  }
  const t1 = Date.now();
  const state = {
    certificates: r.certificates,
    offset: r.server_time - (t0 + t1) / 2000,  // the answer was made halfway through the round trip
    slot_seconds: r.slot_seconds,
    window: r.presentation_window,
    fetched_at: r.server_time,
    pp3_pending: r.pp3_pending || 0,  // PP3 certificates to fetch today (js/pp3.js)
  };
  await put("state", state);
  cache.state = state;
  return state;
}

/** A fresh PP2 code for a certificate, signed now by this phone's key; no network. */
export async function present(cert) {
  const device = cache.device;
  if (!device || !device.keyPair) throw new Error("no device key");
  const t = Math.floor(now());
  const certBytes = unb64url(cert.certificate);
  const time = uint32(t);
  const signature = await sign(device, concat(PRESENTATION_CONTEXT, certBytes, time));
  return { text: "PP2" + toDigits(concat(certBytes, time, signature)), presentedAt: t,
    slot: Math.floor(t / slotSeconds()) };
}

// ---- PP3 (issue 23) -----------------------------------------------------------------------------
// js/pp3.js keeps its certificates and its local "where my codes were used" under "pp3" in this store, so
// clear() forgets them too; these few lines let the page decide without loading js/pp3.js (nor its 74 KB
// BBS module) whether there is anything PP3 to do.

export function pp3Saved() {
  return cache.pp3;
}

// js/pp3.js writes the record from two places that can overlap: the sync saving today's certificates and the
// code screen noting each code it showed. Each write is a change applied to the latest value, one at a time,
// so neither undoes the other (a note written from the value read before the certificates were saved dropped
// them: gone after the next reload, issue 23).
let pp3Writes = Promise.resolve();
let generation = 0;  // bumped by clear(): what a write begun before a log-out carried must not come back

/** The current generation, to pass to updatePp3 from work that began before an answer from the network. */
export function pp3Generation() {
  return generation;
}

/**
 * Save `change(current record or null)` as the PP3 record, after any write under way. Nothing is written when
 * clear() ran since `since` (a log-out while the certificates were on their way: a shared phone keeps nothing).
 */
export function updatePp3(change, since = generation) {
  const run = pp3Writes.then(async () => {
    if (since !== generation) return null;
    const value = change(cache.pp3);
    await put("pp3", value);
    if (since !== generation) {  // cleared while this write was queued in IndexedDB
      await idb("readwrite", (s) => s.delete("pp3"));
      return null;
    }
    cache.pp3 = value;
    return value;
  });
  pp3Writes = run.catch(() => {});
  return run;
}

/** PP3 certificates the issuer said it would make today (at the last online visit). */
export function pp3Pending() {
  return (cache.state && cache.state.pp3_pending) || 0;
}

/** Whether this phone holds today's (UTC, server-corrected clock) PP3 certificate for the venue type, of the
 * current message layout (js/pp3.js CERT_LAYOUT: an older one makes codes no gate accepts). */
export function pp3Usable(audience) {
  const day = Math.floor(now() / 86400);
  return !!(cache.pp3 && (cache.pp3.certificates || []).some((c) => c.audience === audience && c.day === day
    && c.layout === 2));
}

/** Forget everything on this phone (log-out, opt-out, device removed). */
export async function clear() {
  generation += 1;
  cache = { device: null, state: null, pp3: null };
  try { await idb("readwrite", (s) => s.clear()); } catch (_) { /* nothing stored */ }
}
