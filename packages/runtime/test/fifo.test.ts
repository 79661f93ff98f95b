import { describe, expect, it } from "vitest";
import { Fifo } from "../dist/util/fifo.js";

describe("Fifo (a worker's mailbox queue)", () => {
  it("gives items back in the order they came, through every mix of pushes and shifts", () => {
    const fifo = new Fifo<number>();
    const reference: number[] = [];
    let next = 0;
    let seed = 7;
    const random = (): number => (seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff;
    for (let step = 0; step < 20_000; step++) {
      // Bursts of pushes and of shifts, so the queue fills, empties and wraps at many sizes.
      if (random() < 0.55) {
        fifo.push(next);
        reference.push(next++);
      } else {
        // 20,000 steps: plain comparisons, vitest's expect (~7 µs a call) only for a mismatch, to fail with its message.
        const [got, want] = [fifo.shift(), reference.shift()];
        if (got !== want) expect(got, `step ${step}`).toBe(want);
      }
      if (fifo.length !== reference.length) expect(fifo.length, `step ${step}`).toBe(reference.length);
    }
    expect(fifo.takeAll()).toEqual(reference);
    expect(fifo.length).toBe(0);
    expect(fifo.shift()).toBeUndefined();
  });

  it("takeAll returns what is left, oldest first, and leaves the queue empty and usable", () => {
    const fifo = new Fifo<string>();
    for (const s of ["a", "b", "c", "d"]) fifo.push(s);
    expect(fifo.shift()).toBe("a");
    expect(fifo.takeAll()).toEqual(["b", "c", "d"]);
    fifo.push("e");
    expect(fifo.shift()).toBe("e");
    expect(fifo.shift()).toBeUndefined();
  });
});
