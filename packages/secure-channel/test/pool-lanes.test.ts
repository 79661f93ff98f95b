import { afterEach, describe, expect, it } from "vitest";
import { node, route, waitFor, type Node, type Route, type Routed, type Worker } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { DelayingForwarder, SlotHolder } from "./fixtures/pool-workers.js";

// A pool worker's lanes for what comes from the network (two in-process nodes over real TCP):
// one remote peer's requests, each with a reply address of its own, run in parallel slots as
// local requests do, while one remote sender's messages keep their order.
const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/** Bob with a two-slot pool, reachable over TCP and over a secure channel; alice's routes to bob's `address` both ways. */
async function aliceAndBob(): Promise<{ alice: Node; bob: Node; viaConnection: (address: string) => Route; viaChannel: (address: string) => Route; allow: (address: string) => void }> {
  const bob = await node({ pool: { minThreads: 2, maxThreads: 2 } });
  const alice = await node();
  nodes.push(alice, bob);
  const tcpListener = await (await createTcpTransport(bob)).listen("127.0.0.1:0");
  const listener = await createSecureChannelListener(bob, await createIdentity(), "listener", new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId));
  const connection = await (await createTcpTransport(alice)).connect(tcpListener.address);
  const channel = await createSecureChannel(alice, await createIdentity(), route(connection, "listener"));
  return {
    alice,
    bob,
    viaConnection: (address) => route(connection, address),
    viaChannel: (address) => route(channel, address),
    allow: (address) => {
      bob.flowControls.addConsumer(address, tcpListener.flowControlId);
      bob.flowControls.addConsumer(address, listener.flowControlId);
    },
  };
}

interface Held {
  threadId: number;
  from: number;
  to: number;
}

const overlap = (a: Held, b: Held): boolean => a.from < b.to && b.from < a.to;

/** Records the bodies it gets, in order (placed "main": the test reads it). */
class Collector implements Worker {
  readonly received: unknown[] = [];
  #onCount: { count: number; resolve: () => void } | undefined;
  handleMessage(_ctx: unknown, message: Routed): void {
    this.received.push(message.body);
    if (this.#onCount !== undefined && this.received.length >= this.#onCount.count) this.#onCount.resolve();
  }
  whenReceived(count: number): Promise<void> {
    return waitFor<void>((resolve) => (this.received.length >= count ? resolve() : (this.#onCount = { count, resolve })), {
      timeout: 20_000,
      what: () => `${count} forwarded messages (${this.received.length} so far)`,
    });
  }
}

describe("a pool worker's lanes for messages from the network", () => {
  for (const way of ["connection", "channel"] as const) {
    it(`runs one remote peer's concurrent requests over one ${way} in parallel slots`, async () => {
      const { alice, bob, allow, viaConnection, viaChannel } = await aliceAndBob();
      // Each request holds its slot 300 ms. Keyed by the connection or channel alone, the
      // peer's requests were one lane: one task at a time, so no two were ever held at once.
      await bob.startWorker("holder", SlotHolder, { placement: "pool", args: [300] });
      allow("holder");
      const to = way === "connection" ? viaConnection("holder") : viaChannel("holder");
      const held = await Promise.all(Array.from({ length: 4 }, (_, i) => alice.sendAndReceive<Held>(to, i, { timeout: 20_000 })));
      const pairs = held.flatMap((a, i) => held.slice(i + 1).map((b) => [a, b] as const));
      expect(pairs.filter(([a, b]) => overlap(a, b)).length).toBeGreaterThan(0);
      expect(new Set(held.map((h) => h.threadId)).size).toBe(2);
    });
  }

  it("keeps one remote sender's messages in order across the pool's slots", async () => {
    const { alice, bob, allow, viaChannel } = await aliceAndBob();
    const collector = new Collector();
    await bob.startWorker("collector", collector, { placement: "main" });
    await bob.startWorker("forwarder", DelayingForwarder, { placement: "pool", args: ["collector"] });
    allow("forwarder");
    // Sent over many turns, so they reach the pool in many batches while the first, held
    // 50 ms in its slot, still runs: a lane per message would let later ones overtake it.
    const count = 200;
    for (let i = 0; i < count; i++) {
      await alice.send(viaChannel("forwarder"), i === 0 ? { i, delay: 50 } : { i });
      if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
    }
    await collector.whenReceived(count);
    expect(collector.received).toEqual(Array.from({ length: count }, (_, i) => i));
  });
});
