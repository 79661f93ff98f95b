// A worker on a thread of its own streams bytes bodies into a secure channel. The main thread
// reads the thread's batches with their payloads lent (Mailbox.deliverLent): the channel copies
// each into its staging memory before it returns, so the batch goes back to the thread, which
// writes its next batches into it. Every body must still arrive intact, once, in order, over
// real TCP with real crypto: coalesced into records, sealed alone, and past a staging chunk.
import { afterEach, describe, expect, it } from "vitest";
import { node, route, type Node } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, SecureChannelOptions } from "@hopwire/secure-channel";
import { batchesGivenBack } from "../../runtime/dist/placement/frames.js";
import { streamFromThread, UniformChecker } from "../../../test/support/uniform-checker.js";
import { ThreadStreamer } from "../../../test/support/thread-streamer.js";

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

const SIZES = [64, 5000, 20_000, 70_000];
/** A multiple of 256 (the checker expects body i to be filled with i & 0xff). */
const COUNT = 512;

describe("a thread's batches go back to it once the main thread has copied them into a secure channel", () => {
  for (const awaitEach of [true, false]) {
    it(`${awaitEach ? "each send awaited" : "sends not awaited"}: every body intact, in order, and batches given back`, async () => {
      const [alice, bob] = [await node(), await node()];
      nodes.push(alice, bob);
      const tcpListener = await (await createTcpTransport(bob)).listen("127.0.0.1:0");
      const listener = await createSecureChannelListener(bob, await createIdentity(), "bob_listener", new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId));
      const checker = new UniformChecker();
      await bob.startWorker("checker", checker, { placement: "main" });
      bob.flowControls.addConsumer("checker", listener.flowControlId);
      const connection = await (await createTcpTransport(alice)).connect(tcpListener.address);
      // A small send queue: reading the thread's batches waits for the channel to seal.
      const options = new SecureChannelOptions().withSendQueueLimits({ maxMessages: 64, maxBytes: 1024 * 1024 });
      const channel = await createSecureChannel(alice, await createIdentity(), route(connection, "bob_listener"), options);
      await alice.startWorker("streamer", ThreadStreamer, { placement: "thread" });
      const before = batchesGivenBack.batches;
      const reports = await streamFromThread(alice, "streamer", route(channel, "checker"), checker, { sizes: SIZES, count: COUNT, awaitEach });
      expect(reports).toEqual(SIZES.map((_, k) => ({ count: (k + 1) * COUNT, bad: 0 })));
      expect(batchesGivenBack.batches - before).toBeGreaterThan(0);
    }, 120_000);
  }
});
