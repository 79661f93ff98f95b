/**
 * A token bucket holding at most one second's worth of `perSecond` tokens, refilled
 * continuously. Times are the caller's (ms, e.g. Date.now()); a clock that steps back refills
 * nothing, rather than owing tokens for the step (a wall clock stepped back an hour, by NTP or a
 * resumed VM, would otherwise refuse everything for that hour).
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly perSecond: number,
    now: number,
  ) {
    this.#tokens = perSecond;
    this.#at = now;
  }

  /** Takes a token if there is one. */
  take(now: number): boolean {
    return this.takeAbove(now, 0);
  }

  /** Takes a token only if `floor` tokens are left after it. */
  takeAbove(now: number, floor: number): boolean {
    this.#refill(now);
    if (this.#tokens - 1 < floor) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whether it holds a whole second's worth again (nothing taken lately). */
  isFull(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.perSecond;
  }

  #refill(now: number): void {
    // Full already (and so for ever with Infinity, whose refill would be Infinity × 0).
    if (this.#tokens >= this.perSecond) {
      this.#at = now;
      return;
    }
    this.#tokens = Math.min(this.perSecond, this.#tokens + (Math.max(0, now - this.#at) * this.perSecond) / 1000);
    this.#at = now;
  }
}
