import { InvalidOptionError } from "../errors.js";

/** Where a nonce falls relative to the window. */
export type ReplayVerdict =
  /** Above everything seen: would move the window forward. */
  | "NEW"
  /** Inside the window and not seen yet: a late (reordered) message. */
  | "LATE"
  /** Inside the window and already accepted. */
  | "REPLAY"
  /** Below the window: too late to tell whether it is a replay, so refused. */
  | "TOO_OLD";

/** Counters a replay window remembers behind the highest one by default. */
export const DEFAULT_REPLAY_WINDOW_SIZE = 1024;

/**
 * Anti-replay sliding window over 64-bit-style message counters, in the manner of IPsec
 * ESP (RFC 4303 §3.4.3) and WireGuard: a bitmap of the last `size` counters below and
 * including the highest one accepted. Repeats are refused, late messages inside the
 * window are accepted once, anything below it is refused, and a forward jump of any size
 * just moves the window, so loss never wedges the receiver.
 *
 * check() never changes state; accept() must be called only after the message has
 * authenticated, so forged counters cannot move or poison the window.
 *
 * While what it accepted is one run of consecutive counters (a channel over a connection,
 * whose records arrive in order), two numbers say the same as the bitmap, which is made only
 * when a gap appears: the bitmap (≈ 0.3 KiB) was most of what an idle channel's decryptor held.
 */
export class ReplayWindow {
  readonly size: number;
  /**
   * The bitmap, 32 bits per element, once accepted counters stopped being one run (undefined
   * until then, and again after a jump past the whole window). Up to the default size, an
   * array of small integers: a Uint32Array of its own cost ≈ 300 B more resident memory per
   * channel (its ArrayBuffer's records and malloc blocks). A larger window keeps the
   * Uint32Array, half the size of an array of its length. The window is touched once per
   * record, not per message.
   */
  #bits: number[] | Uint32Array | undefined;
  #highest = -1;
  /** Without the bitmap: every counter from this one to #highest was accepted, and none below it inside the window. */
  #runFrom = 0;

  constructor(size: number = DEFAULT_REPLAY_WINDOW_SIZE) {
    if (!Number.isSafeInteger(size) || size < 32 || size % 32 !== 0 || size > 1 << 20) {
      throw new InvalidOptionError(`replay window size must be a multiple of 32 in [32, 2^20]; got ${size}`, { option: "windowSize" });
    }
    this.size = size;
  }

  /** The highest counter accepted so far, or -1 before the first. */
  get highest(): number {
    return this.#highest;
  }

  /** Lowest counter still inside the window (0 until the window has filled). */
  get lowest(): number {
    return Math.max(0, this.#highest - this.size + 1);
  }

  /** Classifies `counter` (NEW, LATE, REPLAY or TOO_OLD) without changing the window. */
  check(counter: number): ReplayVerdict {
    if (counter > this.#highest) return "NEW";
    if (this.#highest - counter >= this.size) return "TOO_OLD";
    if (this.#bits === undefined) return counter >= this.#runFrom ? "REPLAY" : "LATE";
    return this.#isSet(counter) ? "REPLAY" : "LATE";
  }

  /** Records an authenticated counter that check() called NEW or LATE. */
  accept(counter: number): void {
    if (this.#bits === undefined && this.#extendRun(counter)) return;
    if (this.#bits === undefined) this.#makeBitmap();
    if (counter > this.#highest) this.#advanceTo(counter);
    if (this.#bits === undefined) return; // a jump past the whole window: one run again (#advanceTo)
    const slot = counter % this.size;
    this.#bits[slot >>> 5] |= 1 << (slot & 31);
  }

  /**
   * Without the bitmap: records `counter` if what is accepted stays one run (the next counter,
   * the one just below the run, the first ever, or a jump that leaves the run below the
   * window) and returns true; false if it would leave a gap inside the window.
   */
  #extendRun(counter: number): boolean {
    const highest = this.#highest;
    if (counter === highest + 1 || highest < 0 || counter - highest >= this.size) {
      if (counter !== highest + 1 || highest < 0) this.#runFrom = counter;
      this.#highest = counter;
      return true;
    }
    if (counter === this.#runFrom - 1) {
      this.#runFrom = counter;
      return true;
    }
    return counter <= highest && counter >= this.#runFrom; // a replay, which check() refuses: nothing to record
  }

  /** The bitmap of the run accepted so far (the part of it inside the window). */
  #makeBitmap(): void {
    const size = this.size;
    const bits = size <= DEFAULT_REPLAY_WINDOW_SIZE ? Array.from({ length: size / 32 }, () => 0) : new Uint32Array(size / 32);
    for (let c = Math.max(this.#runFrom, this.lowest); c <= this.#highest; c++) {
      const slot = c % size;
      bits[slot >>> 5] |= 1 << (slot & 31);
    }
    this.#bits = bits;
  }

  // Clears the slots the window slides over; they now stand for counters not yet seen. A jump
  // past the whole window leaves only `counter`: one run again, without the bitmap.
  #advanceTo(counter: number): void {
    if (counter - this.#highest >= this.size) {
      this.#bits = undefined;
      this.#runFrom = counter;
    } else {
      const bits = this.#bits!;
      for (let c = this.#highest + 1; c <= counter; c++) {
        const slot = c % this.size;
        bits[slot >>> 5] &= ~(1 << (slot & 31));
      }
    }
    this.#highest = counter;
  }

  #isSet(counter: number): boolean {
    const slot = counter % this.size;
    return (this.#bits![slot >>> 5]! & (1 << (slot & 31))) !== 0;
  }
}
