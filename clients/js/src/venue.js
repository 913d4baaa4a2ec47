// Venue-type policies (spec "Venue-type policies"): what each venue type decides, as the signed trust list's
// optional `venue_types` member states it, and what a verifier of one audience does with it.

import { codePointLength } from "./bytes.js";
import { AUDIENCE_RE, MAX_REUSE_INTERVAL } from "./constants.js";
import { TransportError } from "./bytes.js";

export const DAY = 86400;
export const MAX_GRACE = 31 * DAY;
export const MAX_VENUE_TYPES = 256;
export const MAX_PERKS_PER_VENUE_TYPE = 256;
export const MAX_LABEL_CHARS = 64;
export const LANGUAGES = ["en", "zh-CN"];
export const FALLBACK_GRACE = 0; // a venue type the list does not name: grant only while the list is fresh
export const FALLBACK_REUSE_INTERVAL = DAY; // ... and one grant per certificate (PP1: pseudonym) per day
export const POLICY_PERK_RE = /^[A-Z][A-Z0-9-]{1,31}$/;
const VENUE_KEYS = new Set(["label", "grace_after_next_update", "reuse_interval", "perks"]);

/** Where a verifier's policy came from. */
export const PolicySource = Object.freeze({
  TRUST_LIST: "trust_list", // the list's policy for this venue type
  NOT_LISTED: "not_listed", // the list publishes policies, none for this venue type: the safe fallback
  NOT_PUBLISHED: "not_published", // the list publishes none (v1 lists): the v1 rules
});

function seconds(value, limit, where) {
  if (typeof value !== "bigint" || value < 0n || value > BigInt(limit)) {
    throw new TransportError(`${where} must be an integer 0..${limit} (seconds)`);
  }
  return Number(value);
}

/** The policies a `venue_types` member states (Map audience -> policy), or TransportError: the list is invalid. */
export function decodeVenueTypes(member) {
  if (!(member instanceof Map) || member.size === 0 || member.size > MAX_VENUE_TYPES) {
    throw new TransportError(`venue_types must be an object of 1..${MAX_VENUE_TYPES} venue types`);
  }
  const out = new Map();
  for (const [audience, entry] of member) {
    if (!AUDIENCE_RE.test(audience)) throw new TransportError(`venue_types: ${audience.slice(0, 40)} is not a venue type code`);
    const where = `venue_types.${audience}`;
    if (!(entry instanceof Map) || [...entry.keys()].some((k) => !VENUE_KEYS.has(k)) ||
        !["label", "grace_after_next_update", "reuse_interval"].every((k) => entry.has(k))) {
      throw new TransportError(`${where} must hold label, grace_after_next_update, reuse_interval and optionally perks`);
    }
    const perks = entry.has("perks") ? entry.get("perks") : new Map();
    if (!(perks instanceof Map) || perks.size > MAX_PERKS_PER_VENUE_TYPE) {
      throw new TransportError(`${where}.perks must be an object of at most ${MAX_PERKS_PER_VENUE_TYPE} perks`);
    }
    const perkReuse = new Map();
    for (const [code, rule] of perks) {
      if (!POLICY_PERK_RE.test(code) || !(rule instanceof Map) || rule.size !== 1 || !rule.has("reuse_interval")) {
        throw new TransportError(`${where}.perks: ${code.slice(0, 40)} must be a perk code with {"reuse_interval": N}`);
      }
      perkReuse.set(code, seconds(rule.get("reuse_interval"), MAX_REUSE_INTERVAL, `${where}.perks.${code}`));
    }
    const grace = seconds(entry.get("grace_after_next_update"), MAX_GRACE, `${where}.grace_after_next_update`);
    const reuse = seconds(entry.get("reuse_interval"), MAX_REUSE_INTERVAL, `${where}.reuse_interval`);
    const label = entry.get("label");
    if (!(label instanceof Map) || label.size !== LANGUAGES.length || !LANGUAGES.every((l) => label.has(l)) ||
        ![...label.values()].every((v) => typeof v === "string" && codePointLength(v) > 0 && codePointLength(v) <= MAX_LABEL_CHARS)) {
      throw new TransportError(`${where}.label must be {"en": ..., "zh-CN": ...}, 1..${MAX_LABEL_CHARS} characters each`);
    }
    out.set(audience, policy(audience, grace, reuse, perkReuse, Object.fromEntries(label), PolicySource.TRUST_LIST));
  }
  return out;
}

function policy(audience, graceAfterNextUpdate, reuseInterval, perkReuse, label, source) {
  return Object.freeze({ audience, graceAfterNextUpdate, reuseInterval, perkReuse, label, source });
}

/** The policy a verifier of `audience` applies under a list whose `venue_types` decoded to `venueTypes` (null: none). */
export function policyFor(venueTypes, audience) {
  if (venueTypes === null) return policy(audience, MAX_GRACE, 0, new Map(), {}, PolicySource.NOT_PUBLISHED);
  return venueTypes.get(audience) ??
    policy(audience, FALLBACK_GRACE, FALLBACK_REUSE_INTERVAL, new Map(), {}, PolicySource.NOT_LISTED);
}

/** When a verifier under `p` stops granting on a list: min(next_update + grace, exp). */
export const stopAt = (p, trust) => Math.min(trust.nextUpdate + p.graceAfterNextUpdate, trust.expiresAt);

/** The longest usage rule among `perks` and the venue type's own interval (0: none set). */
export function usageInterval(p, perks) {
  let interval = p.reuseInterval;
  for (const code of perks) interval = Math.max(interval, p.perkReuse.get(code) ?? 0);
  return interval;
}
