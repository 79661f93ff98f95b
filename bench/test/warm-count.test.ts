// The warm count of the one-way throughput windows (warm-count.ts): a window opens only once
// its warm-up time has passed and enough messages have arrived (or the cap has passed), and
// windowed() asks for it in a full run only, for Hopwire's sink and the raw sink alike.
import { describe, expect, it } from "vitest";
import type * as WarmMod from "../src/warm-count.js";
import type * as FrameWindowMod from "../src/net/frame-window.js";
import type * as TopologyMod from "../src/scenarios/tcp/hopwire-topology.js";
import type * as ScaleCommonMod from "../src/roles/scale-common.js";
import type * as ScaleWindowMod from "../src/scenarios/scale/scale-window.js";

const dist = (m: string): string => new URL(`../dist/${m}.js`, import.meta.url).href;
const { warmedUp, warmMessagesFor, WARM_COUNT_CAP_MS, WARM_BYTES } = (await import(dist("warm-count"))) as typeof WarmMod;
const { FrameWindow } = (await import(dist("net/frame-window"))) as typeof FrameWindowMod;
const { windowed } = (await import(dist("scenarios/tcp/hopwire-topology"))) as typeof TopologyMod;
const { MessageWindow } = (await import(dist("roles/scale-common"))) as typeof ScaleCommonMod;
const { scaleWindow } = (await import(dist("scenarios/scale/scale-window"))) as typeof ScaleWindowMod;

/** One u32-length frame of `n` payload bytes. */
const frame = (n: number): Buffer => {
  const b = Buffer.alloc(4 + n, 0xab);
  b.writeUInt32BE(n, 0);
  return b;
};

/** The number of the push (1-based) at which the window reports, feeding one frame per chunk. */
function reportsAt(window: InstanceType<typeof FrameWindow>): { push: number; messages: number } {
  for (let push = 1; push <= 100; push++) {
    const r = window.push(frame(8));
    if (r) return { push, messages: r.messages };
  }
  throw new Error("the window never reported");
}

describe("warm count", () => {
  it("opens a window only after its time and its count, or at the cap", () => {
    expect(warmedUp(99, 0, 100, 10, 5)).toBe(false); // time not yet
    expect(warmedUp(100, 0, 100, 4, 5)).toBe(false); // count not yet
    expect(warmedUp(100, 0, 100, 5, 5)).toBe(true);
    expect(warmedUp(WARM_COUNT_CAP_MS - 1, 0, 100, 4, 5)).toBe(false);
    expect(warmedUp(WARM_COUNT_CAP_MS, 0, 100, 4, 5)).toBe(true); // a slow path still gets measured
    expect(warmedUp(100, 0, 100, 0, 0)).toBe(true); // no count asked
  });

  it("counts the same payload bytes at every size", () => {
    // Per-record and per-batch code needs as many calls at 64 B as at 1 KiB: 16 times the messages.
    expect(warmMessagesFor(64)).toBe(16 * warmMessagesFor(1024));
    expect(warmMessagesFor(16384)).toBe(Math.ceil(WARM_BYTES / 16384));
    expect(warmMessagesFor(1024) * 1024).toBe(WARM_BYTES);
  });

  it("holds the raw sink's window back until the count has arrived", () => {
    // durationMs 0: the window ends at the push after the one that opened it.
    expect(reportsAt(new FrameWindow(0, 0))).toEqual({ push: 2, messages: 1 });
    expect(reportsAt(new FrameWindow(0, 0, 3))).toEqual({ push: 5, messages: 1 });
  });

  it("holds the scale/ sinks' window back until the count has arrived", async () => {
    /** The number of the message (1-based) at which the window resolves, and what it counted. */
    const resolvesAt = async (window: InstanceType<typeof MessageWindow>): Promise<{ message: number; messages: number }> => {
      let done: { messages: number } | undefined;
      void window.done.then((r) => (done = r));
      for (let message = 1; message <= 100; message++) {
        window.count();
        await Promise.resolve();
        if (done) return { message, messages: done.messages };
      }
      throw new Error("the window never resolved");
    };
    // durationMs 0: the window ends at the message after the one that opened it.
    expect(await resolvesAt(new MessageWindow(1024, 0, 0))).toEqual({ message: 3, messages: 1 });
    expect(await resolvesAt(new MessageWindow(1024, 0, 0, 5))).toEqual({ message: 7, messages: 1 });
  });

  it("is asked for by the scale/ runs in a full run only, for their 1 KiB messages", () => {
    expect(scaleWindow({ count: 1000, durationMs: 1000, warmupMs: 200 })).toEqual({ warmupMs: 1000, warmMessages: warmMessagesFor(1024), durationMs: 1000 });
    expect(scaleWindow({ count: 10, durationMs: 150, warmupMs: 50 }).warmMessages).toBe(0); // --quick
  });

  it("is asked for by windowed() in a full run only", () => {
    const full = windowed({ size: 1024, durationMs: 1000, warmupMs: 200 }, 0.3, { steady: true });
    expect(full.warmMessages).toBe(warmMessagesFor(1024));
    expect(windowed({ size: 1024, durationMs: 150, warmupMs: 50 }, 0.3, { steady: true }).warmMessages).toBe(0); // --quick
    expect(windowed({ size: 1024, durationMs: 1000, warmupMs: 200 }, 0.3).warmMessages).toBe(0); // not a steady scenario
  });
});
