// A thread worker whose send fills one first hop: only its sends to that hop wait (on its own
// thread, where their timeout runs); its sends elsewhere go on. Until session 45 the main
// thread stopped reading the whole thread's stream at a full mailbox, so one full hop (a
// slow worker, a channel whose peer withholds credit) held everything else the thread sent.
import { describe, expect, it } from "vitest";
import type { Context, DroppedEvent, Node, Routed } from "@hopwire/runtime";
import { BurstThenQuick, DropIfFullSender, MixedSender, SettlingSender, SprayingSender } from "./fixtures/workers.js";
import { indexOfBody, startGated, withNode } from "./helpers.js";
import { eventually } from "../../../test/support/eventually.js";

const BOUND = 4;

/** A main worker that handles nothing until `open()`; `got` lists the `i` it handled, in order. */
const startGatedByIndex = (n: Node, address: string, maxMessages = BOUND) => startGated(n, address, maxMessages, indexOfBody);

interface FirstAnswer {
  quickDone: number;
  timedOut: boolean;
  resolvedBeforeTimeout: number;
  error?: unknown;
  askTimedOut: boolean;
}

describe("a thread worker's sends to a full first hop", () => {
  // The thread is told once what is parked for the full hop on the main thread passes half the
  // link's window: ~8 of the 4 KiB bodies below with a window of 64 KiB, ~13 of the small ones
  // with 1 KiB (which holds ~25 of them: most wait for its credit before the hop is full). Warm
  // (the hop granted first), the sends to "slow" are plain frames: once "slow" is full, all that
  // is unread is for it, and the main thread leaves it unread, holding its credit, until a frame
  // for another hop comes: the sends to "quick", or the thread's `creditStarved` when they wait
  // for credit.
  for (const { linkWindowBytes, pad } of [{ linkWindowBytes: 65536, pad: 4096 }, { linkWindowBytes: 1024, pad: 0 }])
  for (const warm of [false, true]) {
  it(`wait on the thread for that hop alone: its sends elsewhere go on, a timeout bounds the wait, a drop send behind them drops, order is kept (link window ${linkWindowBytes}${warm ? ", hop granted first" : ""})`, async () => {
    await withNode({ linkWindowBytes }, async (n) => {
      const slow = await startGatedByIndex(n, "slow");
      const quick: number[] = [];
      await n.startWorker("quick", { handleMessage: (_ctx: Context, msg: Routed<{ i: number }>) => void quick.push(msg.body.i) }, { placement: "main" });
      const dropped: DroppedEvent[] = [];
      n.on("dropped", (event) => dropped.push(event));
      await n.startWorker("mixer", MixedSender);
      await n.send("mixer", { slow: "slow", quick: "quick", fill: 50, quickCount: 20, timeout: 200, tries: 50, extra: 30, warm, pad });

      // "slow" handles nothing yet: all of this happened beside a full hop.
      const first = (await n.receive<FirstAnswer>({ timeout: 30_000 })).body;
      expect(first).toEqual({ quickDone: 20, timedOut: true, resolvedBeforeTimeout: 0, askTimedOut: true });
      expect(quick).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(slow.got).toEqual([]);
      await eventually(() => dropped.length === 1);
      expect(dropped[0]).toMatchObject({ reason: "full", address: "slow" });

      slow.open();
      const last = (await n.receive<{ allSettled: boolean; next: number }>({ timeout: 30_000 })).body;
      const total = 80 + (warm ? 1 : 0);
      expect(last).toEqual({ allSettled: true, next: total });
      await eventually(() => slow.got.length >= total);
      // Every send that resolved, once and in order; not the one that timed out (its `i` went to
      // the next send), nor the dropped one, nor the request whose call timed out while it waited.
      expect(slow.got).toEqual(Array.from({ length: total }, (_, i) => i));
      expect(dropped).toHaveLength(1);
    });
  });
  }

  it("a full hop that goes away: what was parked for it is reported, the thread's sends waiting for it reject, nothing hangs", async () => {
    // A window of 1 KiB: the thread hears that "slow" is full after a dozen of these sends.
    await withNode({ linkWindowBytes: 1024 }, async (n) => {
      const slow = await startGatedByIndex(n, "slow");
      const unknown: DroppedEvent[] = [];
      n.on("dropped", (event) => {
        if (event.reason === "unknown-address") unknown.push(event);
      });
      await n.startWorker("sender", SettlingSender);
      await n.send("sender", { to: "slow", count: 100, more: 50 });
      expect((await n.receive({ timeout: 30_000 })).body).toBe("sent");
      expect((await n.receive({ timeout: 30_000 })).body).toBe("more");
      // Its handler waits at the gate: the stop goes on once it is opened.
      const stopping = n.stopWorker("slow");
      slow.open();
      await stopping;
      const settled = (await n.receive<{ resolved: number; rejected: Record<string, number> }>({ timeout: 30_000 })).body;
      // Those written before the thread heard were accepted: delivered, or reported when "slow" went
      // away (parked); those sent after it heard, the last 50 at least, waited there and went once
      // it had gone, to be refused.
      const rejected = settled.rejected.ADDRESS_UNKNOWN ?? 0;
      expect(Object.keys(settled.rejected)).toEqual(["ADDRESS_UNKNOWN"]);
      expect(settled.resolved + rejected).toBe(150);
      expect(rejected).toBeGreaterThanOrEqual(50);
      expect(unknown.length).toBeGreaterThan(0);
      expect(unknown.every((event) => event.address === "slow" && event.from === "sender")).toBe(true);
      expect(slow.got.length + unknown.length).toBeLessThanOrEqual(settled.resolved);
      expect(slow.got).toEqual(Array.from({ length: slow.got.length }, (_, i) => i));
    });
  });

  it("a thread that fills several hops in turn: past the parked budget reading waits, and resumes as they drain; all delivered in order", async () => {
    // Each hop parks what was on its way when it filled, up to a link window (1 KiB, ~20 of these
    // sends): three of them pass the budget of two windows.
    const hops = ["a", "b", "c", "d"];
    await withNode({ linkWindowBytes: 1024 }, async (n) => {
      const gated = await Promise.all(hops.map((hop) => startGatedByIndex(n, hop)));
      await n.startWorker("sprayer", SprayingSender);
      await n.send("sprayer", { hops, count: 100 });
      // Reading stops at the third: the fourth gets nothing until they drain.
      await eventually(() => ["a", "b"].every((hop) => n.router.localMailbox(hop)?.isFull === true));
      for (const g of gated) g.open();
      expect((await n.receive({ timeout: 30_000 })).body).toBe("done");
      await eventually(() => gated.every((g) => g.got.length === 100));
      for (const g of gated) expect(g.got).toEqual(Array.from({ length: 100 }, (_, i) => i));
    });
  });
  it("drop sends that wait only for the link's credit are not dropped: no hop is full", async () => {
    // A window of 1 KiB: a burst of 200 drop sends runs out of credit after a few dozen.
    await withNode({ linkWindowBytes: 1024 }, async (n) => {
      const got: number[] = [];
      await n.startWorker("roomy", { handleMessage: (_ctx: Context, msg: Routed<{ i: number }>) => void got.push(msg.body.i) }, {
        placement: "main",
        mailbox: { maxMessages: 100_000 },
      });
      const dropped: DroppedEvent[] = [];
      n.on("dropped", (event) => dropped.push(event));
      let finished!: () => void;
      const done = new Promise<void>((resolve) => (finished = resolve));
      await n.startWorker("then", { handleMessage: () => finished() }, { placement: "main" });
      await n.startWorker("sender", DropIfFullSender);
      await n.send("sender", { to: "roomy", count: 200, then: "then", together: true });
      await done;
      // "done" came behind every send in the thread's stream, and "roomy" is handled on the main thread as it arrives.
      await eventually(() => got.length === 200);
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(dropped).toEqual([]);
    });
  });
  it("a stream left unread for its full hop does not keep the thread's next send elsewhere waiting for credit", async () => {
    // A window of 64 KiB and 16 sends of 4 KiB after the first: all written at once, the last
    // past the window, so nothing of the thread waits for "slow". "slow" (a bound of one message,
    // full with the first) fills at once: the rest of the stream is all for it and is left
    // unread, holding the window (under a quarter of it was routed: no credit goes back). The
    // send to "quick" then waits for credit alone: the thread's `creditStarved` has the stream
    // set aside.
    await withNode({ linkWindowBytes: 65536 }, async (n) => {
      const slow = await startGatedByIndex(n, "slow", 1);
      const quick: number[] = [];
      await n.startWorker("quick", { handleMessage: (_ctx: Context, msg: Routed<{ i: number }>) => void quick.push(msg.body.i) }, { placement: "main" });
      await n.startWorker("burst", BurstThenQuick);
      await n.send("burst", { slow: "slow", quick: "quick", count: 16, pad: 4096 });
      expect((await n.receive({ timeout: 30_000 })).body).toBe("quick sent");
      expect(quick).toEqual([0]);
      expect(slow.got).toEqual([]);
      slow.open();
      expect((await n.receive({ timeout: 30_000 })).body).toBe("all sent");
      await eventually(() => slow.got.length === 17);
      expect(slow.got).toEqual(Array.from({ length: 17 }, (_, i) => i));
    });
  });
});
