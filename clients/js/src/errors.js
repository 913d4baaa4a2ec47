// Configuration errors: thrown for the integrator's mistakes, never for what a citizen shows (a bad code is
// answered with a Decision). The same hierarchy as the Python SDK's partner_sdk.errors.

export class PerkpassError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}
export class ConfigurationError extends PerkpassError {}
/** `now` is not a usable time: NaN, infinite, negative, past 2^40 s, an invalid Date, not a number. */
export class InvalidClockError extends ConfigurationError {}
export class InvalidKeyError extends ConfigurationError {}
export class TrustListError extends ConfigurationError {}
/** Not signed by the root held (pinned, or the root a root chain led to), or not a Perkpass trust list. */
export class TrustListSignatureError extends TrustListError {}
/** A lower sequence than held, the same sequence with other content, or signed by an older root. */
export class TrustListRollbackError extends TrustListError {}
/** The list is over 1,000,000 bytes (characters of its text). */
export class TrustListTooLargeError extends TrustListError {}
/** The list had already expired at the time it was loaded; it is not adopted. */
export class TrustListExpiredError extends TrustListError {}
