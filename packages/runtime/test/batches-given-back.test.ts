import { describe, expect, it } from "vitest";
import { route } from "@hopwire/runtime";
import { withNode } from "./helpers.js";
import { streamFromThread, UniformChecker } from "../../../test/support/uniform-checker.js";
import { ThreadStreamer } from "../../../test/support/thread-streamer.js";
import { batchesGivenBack } from "../dist/placement/frames.js";

// The main thread gives a thread's batch back to it (for its next batches) only when nothing
// keeps a view into it: every message in it went to a mailbox that copied it before it returned
// (Mailbox.deliverLent: a connection, a secure channel, another thread's or a pool's batch; see
// transport-tcp's and secure-channel's batches-given-back tests). A worker placed "main" gets its
// messages as views into the batch, and may keep them: such a batch must never go back.

describe("a thread's batch that a main worker got views into is not given back", () => {
  it("delivers every body intact while the thread keeps writing, and gives none of those batches back", async () => {
    await withNode({}, async (n) => {
      const checker = new UniformChecker();
      await n.startWorker("checker", checker, { placement: "main" });
      await n.startWorker("streamer", ThreadStreamer, { placement: "thread" });
      const before = batchesGivenBack.batches;
      // At 5,000 B, several 1 MiB batches: the size that would be given back.
      const sizes = [64, 5000];
      const count = 2048;
      const reports = await streamFromThread(n, "streamer", route("checker"), checker, { sizes, count, awaitEach: true });
      expect(reports).toEqual(sizes.map((_, k) => ({ count: (k + 1) * count, bad: 0 })));
      expect(batchesGivenBack.batches).toBe(before);
    });
  });
});
