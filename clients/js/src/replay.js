// Replay memory (spec "Replay memory"): check-and-remember in one synchronous step, so two scans in one
// JavaScript realm never both grant.

/**
 * In-memory replay cache, bounded. An entry is forgotten only when both the wall clock passed as `now` and
 * this realm's monotonic clock say it has expired, so a wall clock that jumps a day ahead and back wipes
 * nothing. At the limit, with every entry still live, a new key is refused (the verifier answers REPLAYED):
 * it fails closed rather than forget a live code.
 */
export class MemoryReplayCache {
  constructor({ maxEntries = 1_000_000, monotonic = () => performance.now() / 1000, maxRemember = 3600 } = {}) {
    if (!(Number.isInteger(maxEntries) && maxEntries > 0)) throw new RangeError("maxEntries must be a positive integer");
    this._seen = new Map(); // key -> {expiresAt, deadline}
    this._max = maxEntries;
    this._monotonic = monotonic;
    this._maxRemember = maxRemember;
    this._nextPurge = 1024;
  }

  /** True the first time `key` is seen (and remembers it until `expiresAt`), false while it is remembered. */
  checkAndRemember(key, expiresAt, now) {
    const mono = this._monotonic();
    if (this._seen.size >= this._nextPurge || this._seen.size >= this._max) this._purge(now, mono);
    const entry = this._seen.get(key);
    if (entry !== undefined && entry.expiresAt > now) return false;
    if (entry === undefined && this._seen.size >= this._max) return false;
    this._seen.delete(key);
    this._seen.set(key, { expiresAt, deadline: mono + Math.min(expiresAt - now, this._maxRemember) });
    return true;
  }

  has(key) {
    return this._seen.has(key);
  }

  get size() {
    return this._seen.size;
  }

  _purge(now, mono) {
    for (const [key, e] of this._seen) if (e.deadline <= mono && e.expiresAt <= now) this._seen.delete(key);
    this._nextPurge = Math.max(1024, 2 * this._seen.size);
  }
}
