// Perkpass offline verifier for JavaScript (browsers and Node >= 20): PP1 and PP2 codes, root-signed trust
// lists. Written from docs/credential-format.md; checked against assets/test-vectors/perkpass-v1.json.
export { Status, Verifier, parsePp1, parsePp2, claimsFromPayload, parsePresentationBytes } from "./verify.js";
export { TrustStore, TrustList, loadPublicKey, parseTrustList, decodeRevoked } from "./trust.js";
export { MemoryReplayCache } from "./replay.js";
export { PolicySource, decodeVenueTypes, policyFor } from "./venue.js";
export {
  PerkpassError, ConfigurationError, InvalidClockError, InvalidKeyError, TrustListError, TrustListSignatureError,
  TrustListRollbackError, TrustListExpiredError, TrustListTooLargeError,
} from "./errors.js";
export { inflateRaw, InflateError } from "./inflate.js";
export * as constants from "./constants.js";
