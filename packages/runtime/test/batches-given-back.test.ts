import { describe, expect, it } from "vitest";
import { route, type Node } from "@hopwire/runtime";
import { UniformChecker as ThreadChecker } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";
import { batchesGivenBack } from "../dist/placement/frames.js";
import { streamFromThread, UniformChecker } from "../../../test/support/uniform-checker.js";
import { ThreadStreamer } from "../../../test/support/thread-streamer.js";

// The main thread gives a thread's batch back to it (for its next batches) only when nothing
// keeps a view into it: every message in it went to a mailbox that copied it before it returned
// (Mailbox.deliverLent: another thread's or a pool's batch here; a connection and a secure
// channel in transport-tcp's and secure-channel's lent-bytes tests). A worker placed "main"
// gets its messages as views into the batch, and may keep them: such a batch never goes back,
// not even when most of its messages went to a thread.

/** Asks a thread-placed checker (fixtures' UniformChecker) until it counted `count` bodies. */
async function threadChecked(n: Node, checker: string, count: number): Promise<{ count: number; bad: number }> {
  for (;;) {
    const report = await n.sendAndReceive<{ count: number; bad: number }>(checker, "report");
    if (report.count >= count) return report;
  }
}

/** 1,024 bodies of 5,000 B, every other one to `a` and to `b`: several 1 MiB batches, each mixing both. */
const ORDER = { first: 0, alsoFirst: 0, count: 1024, size: 5000, awaitEach: true };

describe("a thread's batches go back to it only when nothing keeps a view into them", () => {
  it("a main worker's: delivered intact while the thread keeps writing, and none given back", async () => {
    await withNode({}, async (n) => {
      const checker = new UniformChecker();
      await n.startWorker("checker", checker, { placement: "main" });
      const sizes = [64, 5000];
      const count = 2048;
      const { reports, givenBack } = await streamFromThread(n, route("checker"), checker, { sizes, count, awaitEach: true });
      expect(reports).toEqual(sizes.map((_, k) => ({ count: (k + 1) * count, bad: 0 })));
      expect(givenBack).toBe(0);
    });
  });

  it("batches that mix a main worker's messages with another thread's: none given back", async () => {
    await withNode({}, async (n) => {
      const main = new UniformChecker();
      main.size = ORDER.size;
      await n.startWorker("main-checker", main, { placement: "main" });
      await n.startWorker("thread-checker", ThreadChecker, { placement: "thread" });
      await n.startWorker("streamer", ThreadStreamer, { placement: "thread" });
      const before = batchesGivenBack.batches;
      await n.sendAndReceive("streamer", { ...ORDER, to: ["thread-checker"], also: ["main-checker"] }, { timeout: 60_000 });
      expect(await threadChecked(n, "thread-checker", 512)).toEqual({ count: 512, bad: 0 });
      await main.reached(512);
      expect({ count: main.count, bad: main.bad }).toEqual({ count: 512, bad: 0 });
      expect(batchesGivenBack.batches).toBe(before);
      expect(await n.sendAndReceive("streamer", "reused")).toBe(0);
    });
  });

  it("batches whose messages all went to other threads: given back, written into again, every body intact", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("a", ThreadChecker, { placement: "thread" });
      await n.startWorker("b", ThreadChecker, { placement: "thread" });
      await n.startWorker("streamer", ThreadStreamer, { placement: "thread" });
      const before = batchesGivenBack.batches;
      // Twice, so that the batches given back during the first are written into during the second.
      for (const round of [0, 1]) {
        await n.sendAndReceive("streamer", { ...ORDER, first: round * 512, alsoFirst: round * 512, to: ["a"], also: ["b"] }, { timeout: 60_000 });
      }
      for (const checker of ["a", "b"]) expect(await threadChecked(n, checker, 1024)).toEqual({ count: 1024, bad: 0 });
      expect(batchesGivenBack.batches - before).toBeGreaterThan(0);
      expect(await n.sendAndReceive("streamer", "reused")).toBeGreaterThan(0);
    });
  });
});
