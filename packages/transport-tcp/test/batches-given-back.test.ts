import { afterEach, describe, expect, it } from "vitest";
import { route, type Node } from "@hopwire/runtime";
import { batchesGivenBack } from "../../runtime/dist/placement/frames.js";
import { startNode } from "./support.js";
import { streamFromThread, UniformChecker } from "../../../test/support/uniform-checker.js";
import { ThreadStreamer } from "../../../test/support/thread-streamer.js";

// A worker on a thread of its own streams bytes bodies into a connection. The main thread reads
// the thread's batches with their payloads lent (Mailbox.deliverLent): the connection copies
// each into its write buffer before it returns, so the batch goes back to the thread, which
// writes its next batches into it. A batch given back while anything still viewed it would be
// written over (or, transferred, emptied) under that view: every body must arrive intact, once,
// in order — including those the connection would otherwise have written from a view (≥ 4 KiB)
// and those past its arena (70,000 B).

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

const SIZES = [64, 5000, 70_000];
/** A multiple of 256 (the checker expects body i to be filled with i & 0xff); several 1 MiB batches at 5,000 B. */
const COUNT = 1024;

describe("a thread's batches go back to it once the main thread has copied them into a connection", () => {
  for (const awaitEach of [true, false]) {
    it(`${awaitEach ? "each send awaited" : "sends not awaited"}: every body intact, in order, and batches given back`, async () => {
      const b = await startNode("b");
      nodes.push(b.node);
      const checker = new UniformChecker();
      await b.node.startWorker("checker", checker, { placement: "main" });
      const listener = await b.tcp.listen("127.0.0.1:0");
      b.node.flowControls.addConsumer("checker", listener.flowControlId);
      // A small high-water mark: the connection fills, and reading the thread's batches waits for it.
      const a = await startNode("a", { sendHighWaterMark: 256 * 1024 });
      nodes.push(a.node);
      await a.node.startWorker("streamer", ThreadStreamer, { placement: "thread" });
      const connection = await a.tcp.connect(listener.address);
      const before = batchesGivenBack.batches;
      const reports = await streamFromThread(a.node, "streamer", route(connection, "checker"), checker, { sizes: SIZES, count: COUNT, awaitEach });
      expect(reports).toEqual(SIZES.map((_, k) => ({ count: (k + 1) * COUNT, bad: 0 })));
      expect(batchesGivenBack.batches - before).toBeGreaterThan(0);
    }, 120_000);
  }
});
