// This thread's liveness timers (one Node timer for every channel end's): each holder is
// called once, at or after its due time, earliest first, unless it was cancelled or re-armed.
import { describe, expect, it } from "vitest";
import { livenessTimers, type LivenessHolder } from "../dist/secure-channel/liveness-timers.js";

class Holder implements LivenessHolder {
  livenessSlot = -1;
  readonly calls: { due: number; at: number }[] = [];
  constructor(readonly name: number, readonly log: Holder[]) {}
  livenessDue(due: number): void {
    this.calls.push({ due, at: performance.now() });
    this.log.push(this);
  }
}

/** Resolves once `done()` holds (looked at every 5 ms), or after `ms` whatever: a loaded machine runs timers late. */
async function until(done: () => boolean, ms = 10_000): Promise<void> {
  const start = performance.now();
  while (!done() && performance.now() - start < ms) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("LivenessTimers", () => {
  it("calls each armed holder once, not before its due time, earliest first; cancelled ones never, re-armed ones at their new time", async () => {
    const log: Holder[] = [];
    const holders = Array.from({ length: 60 }, (_, i) => new Holder(i, log));
    const now = performance.now();
    const dues = holders.map((_, i) => now + 5 + ((i * 37) % 50)); // 5-54 ms ahead, in no order
    holders.forEach((h, i) => livenessTimers.arm(h, dues[i]!));
    for (const h of holders.slice(0, 10)) livenessTimers.cancel(h);
    for (const h of holders.slice(10, 15)) livenessTimers.arm(h, now + 70); // in place of their first time
    livenessTimers.cancel(holders[0]!); // again: nothing
    // Every time armed is past once the last holder is called: a cancelled one would have been called by then.
    await until(() => log.length >= 50);
    for (const h of holders.slice(0, 10)) expect(h.calls).toEqual([]);
    for (const h of holders.slice(10)) {
      expect(h.calls.length, `holder ${h.name}`).toBe(1);
      const expected = h.name < 15 ? now + 70 : dues[h.name]!;
      expect(h.calls[0]!.due).toBe(expected);
      expect(h.calls[0]!.at).toBeGreaterThanOrEqual(expected);
      expect(h.livenessSlot).toBe(-1);
    }
    const firedDues = log.map((h) => h.calls[0]!.due);
    expect(firedDues).toEqual([...firedDues].sort((a, b) => a - b));
  });

  it("lets a holder arm again while it is called, and keeps the others' times", async () => {
    const log: Holder[] = [];
    const again = new Holder(0, log);
    const other = new Holder(1, log);
    const now = performance.now();
    let rearmed = false;
    again.livenessDue = (due) => {
      Holder.prototype.livenessDue.call(again, due);
      if (!rearmed) {
        rearmed = true;
        livenessTimers.arm(again, performance.now() + 30);
      }
    };
    livenessTimers.arm(again, now + 5);
    livenessTimers.arm(other, now + 15);
    await until(() => again.calls.length >= 2 && other.calls.length >= 1);
    expect(again.calls.length).toBe(2);
    expect(other.calls.length).toBe(1);
    expect(other.calls[0]!.at).toBeGreaterThanOrEqual(now + 15);
    expect(log.map((h) => h.name)).toEqual([0, 1, 0]);
  });
});
