// A send whose first hop is a secure channel lends it the caller's bytes: the channel copies
// them into its staging memory before `send` returns (Mailbox.deliverBytes), instead of the
// send copying them into a fresh buffer first. Either way the caller may reuse its buffer as
// soon as `send` returns: these fill ONE buffer again after every send, over real TCP with
// real crypto, inline and on a crypto thread.
//
// From a worker on a thread of its own, the main thread reads the thread's batches with their
// payloads lent (Mailbox.deliverLent): the channel copies each into its staging memory before
// it returns, so the batch goes back to the thread, which writes its next batches into it.
// Every body must still arrive intact, once, in order.
import { afterEach, describe, expect, it } from "vitest";
import { Echoer, route, type Node } from "@hopwire/runtime";
import { SecureChannelOptions, type SecureChannel } from "@hopwire/secure-channel";
import { channelToWorker } from "./channel-to-worker.js";
import { sendReusingOneBuffer, streamFromThread, UniformChecker } from "../../../test/support/uniform-checker.js";

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

/** Coalesced into records; sealed alone (over 17 KiB); larger than a staging chunk (a buffer of its own). */
const SIZES = [64, 5000, 20_000, 70_000];
/** A multiple of 256 (the checker expects body i to be filled with i & 0xff). */
const COUNT = 256;

/** Alice with a channel to bob, whose checker (placed "main") takes messages from the channel. */
async function channelToChecker(cryptoThreads: number): Promise<{ alice: Node; checker: UniformChecker; channel: SecureChannel }> {
  const checker = new UniformChecker();
  // A small send queue: the not-awaited sends fill it, and those behind it (or the reading of a thread's batches) wait.
  const options = new SecureChannelOptions().withCryptoThreads(cryptoThreads).withSendQueueLimits({ maxMessages: 64, maxBytes: 1024 * 1024 });
  return { checker, ...(await channelToWorker(nodes, "checker", checker, options)) };
}

describe("a bytes body sent into a secure channel is the caller's to reuse as soon as send returns", () => {
  for (const cryptoThreads of [0, 1]) {
    for (const awaitEach of [true, false]) {
      const name = `${awaitEach ? "each send awaited" : "sends not awaited (some wait for room)"}, ${cryptoThreads === 0 ? "inline" : "on a crypto thread"}`;
      it(name, async () => {
        const { alice, checker, channel } = await channelToChecker(cryptoThreads);
        const mailbox = alice.router.mailboxOf(channel.address)!;
        const sent = await sendReusingOneBuffer((to, body) => alice.send(to, body), route(channel, "checker"), mailbox, checker, { sizes: SIZES, count: COUNT, awaitEach });
        expect(sent.reports).toEqual(SIZES.map((_, k) => ({ count: (k + 1) * COUNT, bad: 0 })));
        // Awaited, every send that found room went through deliverBytes, but for the first two (the route learns its
        // mailbox, and the first send's routing changes the router's epoch once: RouteMemo); a send that found the first
        // hop full waited, with its own copy.
        if (awaitEach) {
          expect(sent.lendable).toBeGreaterThan(COUNT);
          expect(sent.lent).toBeGreaterThanOrEqual(sent.lendable - 2);
        }
      }, 60_000);
    }
  }
});

describe("a thread's batches go back to it once the main thread has copied them into a secure channel", () => {
  for (const awaitEach of [true, false]) {
    it(`${awaitEach ? "each send awaited" : "sends not awaited"}: every body intact, in order, and batches given back`, async () => {
      const { alice, checker, channel } = await channelToChecker(0);
      // Twice the bodies: several 1 MiB batches at 5,000 B and up.
      const { reports, givenBack, reused } = await streamFromThread(alice, route(channel, "checker"), checker, { sizes: SIZES, count: 2 * COUNT, awaitEach });
      expect(reports).toEqual(SIZES.map((_, k) => ({ count: (k + 1) * 2 * COUNT, bad: 0 })));
      expect(givenBack).toBeGreaterThan(0);
      // ...and the thread wrote later batches into them.
      expect(reused).toBeGreaterThan(0);
    }, 120_000);
  }
});

describe("a bytes body given to sendAndReceive through a secure channel is the caller's to reuse as soon as the call returns", () => {
  for (const cryptoThreads of [0, 1]) {
    it(cryptoThreads === 0 ? "inline" : "on a crypto thread", async () => {
      const { alice, channel } = await channelToWorker(nodes, "echoer", new Echoer(), new SecureChannelOptions().withCryptoThreads(cryptoThreads));
      const buffer = new Uint8Array(70_000);
      for (const size of SIZES) {
        for (let i = 0; i < 8; i++) {
          const body = buffer.subarray(0, size).fill(i);
          const reply = alice.sendAndReceive<Uint8Array>(route(channel, "echoer"), body);
          body.fill(0xee); // the caller's again
          const echoed = await reply;
          expect(echoed.length).toBe(size);
          expect(echoed.every((byte) => byte === i)).toBe(true);
        }
      }
    }, 60_000);
  }
});
