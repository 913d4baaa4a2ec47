import { MAX_EPOCH } from "./constants.js";
import { InvalidClockError } from "./errors.js";

/**
 * Epoch seconds from a number or a Date; the device clock when `now` is undefined. Anything else throws
 * InvalidClockError: with NaN every time comparison is false, so a verifier that carried on would grant
 * expired codes.
 */
export function toEpoch(now) {
  let t = now;
  if (now === undefined) t = Date.now() / 1000;
  else if (now instanceof Date) t = now.getTime() / 1000;
  else if (typeof now !== "number") throw new InvalidClockError(`now must be epoch seconds or a Date, not ${typeof now}`);
  if (!(t >= 0 && t < MAX_EPOCH)) throw new InvalidClockError(`now is not a usable time: ${String(t).slice(0, 40)}`);
  return t;
}
