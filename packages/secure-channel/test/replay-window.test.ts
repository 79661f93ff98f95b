// The anti-replay sliding window, checked directly and against a naive reference model.
import { describe, expect, it } from "vitest";
import { ReplayWindow, type ReplayVerdict } from "../dist/channel/replay-window.js";
import { InvalidOptionError } from "../dist/errors.js";

/** The window's meaning, written the slow and obvious way. */
class ReferenceWindow {
  readonly #seen = new Set<number>();
  #highest = -1;
  constructor(readonly size: number) {}
  check(n: number): ReplayVerdict {
    if (n > this.#highest) return "NEW";
    if (this.#highest - n >= this.size) return "TOO_OLD";
    return this.#seen.has(n) ? "REPLAY" : "LATE";
  }
  accept(n: number): void {
    this.#seen.add(n);
    this.#highest = Math.max(this.#highest, n);
  }
}

describe("ReplayWindow", () => {
  it("accepts each counter once", () => {
    const window = new ReplayWindow();
    expect(window.highest).toBe(-1);
    expect(window.check(0)).toBe("NEW");
    window.accept(0);
    expect(window.check(0)).toBe("REPLAY");
    expect(window.check(1)).toBe("NEW");
  });

  it("accepts late counters inside the window once and refuses those below it", () => {
    const window = new ReplayWindow(1024);
    window.accept(2000);
    expect(window.check(1999)).toBe("LATE");
    expect(window.check(977)).toBe("LATE"); // 2000 - 1023: the window's lowest slot
    expect(window.check(976)).toBe("TOO_OLD");
    expect(window.lowest).toBe(977);
    window.accept(1500);
    expect(window.check(1500)).toBe("REPLAY");
  });

  it("moves on a forward jump larger than itself instead of wedging", () => {
    const window = new ReplayWindow(64);
    for (let n = 0; n < 10; n++) window.accept(n);
    window.accept(1_000_000);
    expect(window.check(999_999)).toBe("LATE");
    expect(window.check(1_000_000 - 64)).toBe("TOO_OLD");
    expect(window.check(1_000_001)).toBe("NEW");
  });

  it("clears slots it slides over (no aliasing of counter n and n + size)", () => {
    const window = new ReplayWindow(32);
    window.accept(5);
    window.accept(36); // slot of 36 is slot of 4; 5's slot must now mean 37
    expect(window.check(37)).toBe("NEW");
    window.accept(37);
    expect(window.check(5)).toBe("TOO_OLD");
    expect(window.check(6)).toBe("LATE");
  });

  it("agrees with the reference model on random traffic", () => {
    // Compared by hand, the first disagreement asserted: 60,000 steps through expect() took ~3 s of CPU.
    const disagreements: string[] = [];
    for (const size of [32, 64, 1024, 4096]) {
      // Up to 1024 the bitmap is an array of small integers, above it a Uint32Array: both kinds.
      const window = new ReplayWindow(size);
      const reference = new ReferenceWindow(size);
      let next = 0;
      for (let i = 0; i < 20_000 && disagreements.length === 0; i++) {
        const r = Math.random();
        // mostly in order, some replays/late ones, occasional jumps
        const n = r < 0.6 ? next++ : r < 0.9 ? Math.max(0, next - 1 - Math.floor(Math.random() * size * 1.5)) : (next += Math.floor(Math.random() * size * 3));
        const verdict = window.check(n);
        const expected = reference.check(n);
        if (verdict !== expected) disagreements.push(`size ${size} step ${i} n ${n}: ${verdict}, the model says ${expected}`);
        if ((verdict === "NEW" || verdict === "LATE") && Math.random() < 0.95) {
          window.accept(n);
          reference.accept(n);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  it("agrees with the reference model as what it accepted stops being one run and becomes one again", () => {
    // Without a gap, the window keeps two numbers in place of its bitmap: the next counter, the
    // one just below the run, a replay, a gap above or below, and a jump past the whole window.
    const sequences = [
      [0, 1, 2, 3, 4, 5],
      [5, 6, 4, 3, 7, 2],
      [10, 11, 11, 9, 12],
      [3, 5, 4, 6],
      [10, 8, 9, 7],
      [0, 1, 2, 40, 3, 39, 41, 1],
      [0, 1, 2, 200, 201, 150, 199, 2],
      [100, 101, 50, 102, 500, 499, 501, 450],
    ];
    for (const sequence of sequences) {
      const window = new ReplayWindow(64);
      const reference = new ReferenceWindow(64);
      const seen: number[] = [];
      for (const n of sequence) {
        seen.push(n);
        const verdict = window.check(n);
        expect(verdict, `after ${seen.join(",")}`).toBe(reference.check(n));
        if (verdict === "NEW" || verdict === "LATE") {
          window.accept(n);
          reference.accept(n);
        }
        // Every counter around the window must read the same as the model after each step.
        for (let c = Math.max(0, window.highest - 70); c <= window.highest + 2; c++) {
          expect(window.check(c), `counter ${c} after ${seen.join(",")}`).toBe(reference.check(c));
        }
      }
    }
  });

  it("validates its size", () => {
    for (const size of [0, 16, 33, 100, 1.5, 2 ** 21]) expect(() => new ReplayWindow(size), String(size)).toThrow(InvalidOptionError);
  });
});
