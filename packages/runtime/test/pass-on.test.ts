import { describe, expect, it } from "vitest";
import type { DroppedEvent, Node } from "@hopwire/runtime";
import { Interleaver, LocalInfoChecker, LocalInfoStreamer, OrderChecker, ReusingSender, UniformChecker } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";
import { passedOn } from "../dist/placement/thread-placement.js";

// Envelopes a worker's thread sends to another worker's thread, or to a pool worker, are
// passed on in the batch they came in (transferred by the main thread, not copied frame by
// frame) while they run from the start of a batch. The rest of such a batch (an operation, a waiting send, an
// envelope for somewhere else) is read the usual way. Either way each destination gets
// everything, once, in order.

/** Asks an OrderChecker until it counted `count` bodies. */
async function counted(n: Node, checker: string, count: number): Promise<{ count: number; outOfOrder: number }> {
  for (;;) {
    const report = await n.sendAndReceive<{ count: number; outOfOrder: number }>(checker, { report: true });
    if (report.count >= count) return report;
  }
}

describe("a thread's stream to another thread is passed on, not copied", () => {
  // The first sends wait for their acks (the destination is not granted yet); the rest are passed on.
  const placements = [
    { name: "to another thread: whole batches", placement: "thread" as const },
    // One slot: the checker's count lives in that slot's instance.
    { name: "to a pool worker: as its lane's batches", placement: "pool" as const },
  ];
  for (const { name, placement } of placements) {
    it(`passes a thread's stream on ${name}; every body arrives once, in order, intact (64 B, 5,000 B, 70,000 B)`, async () => {
      await withNode({ pool: { minThreads: 1, maxThreads: 1 } }, async (n) => {
        await n.startWorker("checker", UniformChecker, { placement });
        await n.startWorker("sender", ReusingSender);
        const before = passedOn.frames;
        let expected = 0;
        for (const size of [64, 5000, 70_000]) {
          await n.sendAndReceive("sender", { to: "checker", count: 512, size }, { timeout: 60_000 });
          expected += 512;
          for (;;) {
            const report = await n.sendAndReceive<{ count: number; bad: number }>("checker", "report");
            if (report.count < expected) continue;
            expect(report).toEqual({ count: expected, bad: 0 });
            break;
          }
        }
        expect(passedOn.frames - before).toBeGreaterThan(512);
      });
    });
  }

  it("keeps each destination's order when a batch mixes destinations, requests and a main worker", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("b", OrderChecker);
      await n.startWorker("c", OrderChecker);
      await n.startWorker("m", new OrderChecker(), { placement: "main" });
      await n.startWorker("sender", Interleaver);
      const before = passedOn.batches;
      const turns = [
        // A run to b, then a request: the request is read from a copy of the rest.
        [{ to: "b", count: 40, size: 1000 }, { ask: "b" }],
        // A short run to b, then a long stretch to c: read again the usual way.
        [{ to: "b", count: 5, size: 1000 }, { to: "c", count: 40, size: 1000 }],
        // Several batches' worth, mixed.
        [
          { to: "b", count: 200, size: 1000 },
          { to: "c", count: 1, size: 10 },
          { to: "b", count: 200, size: 1000 },
          { to: "m", count: 10, size: 100 },
          { ask: "c" },
          { to: "c", count: 200, size: 3000 },
          { to: "b", count: 50, size: 20_000 },
        ],
      ];
      const sent = await n.sendAndReceive<Record<string, number>>("sender", { from: "sender", warm: ["b", "c", "m"], turns }, { timeout: 60_000 });
      expect(sent).toEqual({ b: 1 + 40 + 5 + 200 + 200 + 50, c: 1 + 40 + 1 + 200, m: 1 + 10 });
      for (const checker of ["b", "c", "m"]) expect(await counted(n, checker, sent[checker]!)).toEqual({ count: sent[checker], outOfOrder: 0 });
      expect(passedOn.batches).toBeGreaterThan(before);
    });
  });

  it("keeps bytes in local info when the rest of a passed-on batch is read later, under the run's head", async () => {
    await withNode({}, async (n) => {
      const drops: DroppedEvent[] = [];
      n.on("dropped", (event) => drops.push(event));
      // The run fills the mailbox at ~40 of 44: the run is passed on (its batch transferred) and
      // the last frames, which repeat the run's head, are read once "b" has room.
      await n.startWorker("b", LocalInfoChecker, { mailbox: { maxMessages: 40 } });
      await n.startWorker("sender", LocalInfoStreamer);
      const before = passedOn.frames;
      await n.sendAndReceive("sender", { to: "b", count: 44 }, { timeout: 60_000 });
      // Until every body arrived, or one was dropped (its local info could not be written for "b").
      let report: { count: number; intact: number };
      do report = await n.sendAndReceive("b", "report");
      while (report.count < 44 && drops.length === 0);
      expect(drops.map((d) => d.error.message)).toEqual([]);
      expect(report).toEqual({ count: 44, intact: 44 });
      expect(passedOn.frames - before).toBeGreaterThan(0);
    });
  });
});
