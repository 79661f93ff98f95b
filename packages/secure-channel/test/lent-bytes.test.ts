// A send whose first hop is a secure channel lends it the caller's bytes: the channel copies
// them into its staging memory before `send` returns (Mailbox.deliverBytes), instead of the
// send copying them into a fresh buffer first. Either way the caller may reuse its buffer as
// soon as `send` returns: these fill ONE buffer again after every send, over real TCP with
// real crypto, inline and on a crypto thread.
import { afterEach, describe, expect, it } from "vitest";
import { node, route, type Node } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, SecureChannelOptions } from "@hopwire/secure-channel";
import { sendReusingOneBuffer, UniformChecker } from "../../../test/support/uniform-checker.js";

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

/** Coalesced into records; sealed alone (over 17 KiB); larger than a staging chunk (a buffer of its own). */
const SIZES = [64, 5000, 20_000, 70_000];
const COUNT = 256;

describe("a bytes body sent into a secure channel is the caller's to reuse as soon as send returns", () => {
  for (const cryptoThreads of [0, 1]) {
    for (const awaitEach of [true, false]) {
      const name = `${awaitEach ? "each send awaited" : "sends not awaited (some wait for room)"}, ${cryptoThreads === 0 ? "inline" : "on a crypto thread"}`;
      it(name, async () => {
        const [alice, bob] = [await node(), await node()];
        nodes.push(alice, bob);
        const tcpListener = await (await createTcpTransport(bob)).listen("127.0.0.1:0");
        const listener = await createSecureChannelListener(bob, await createIdentity(), "bob_listener", new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId));
        const checker = new UniformChecker();
        await bob.startWorker("checker", checker, { placement: "main" });
        bob.flowControls.addConsumer("checker", listener.flowControlId);
        const connection = await (await createTcpTransport(alice)).connect(tcpListener.address);
        // A small send queue: the not-awaited sends fill it, and those behind it wait with their own copy.
        const options = new SecureChannelOptions().withCryptoThreads(cryptoThreads).withSendQueueLimits({ maxMessages: 64, maxBytes: 1024 * 1024 });
        const channel = await createSecureChannel(alice, await createIdentity(), route(connection, "bob_listener"), options);
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
