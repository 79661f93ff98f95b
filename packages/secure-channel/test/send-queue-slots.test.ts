import { afterEach, describe, expect, it } from "vitest";
import { node, route, waitFor, type Node, type Worker } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, SecureChannelOptions } from "@hopwire/secure-channel";
import { ChannelEnd } from "../dist/secure-channel/channel-end.js";

// A channel's send queue keeps a burst's slots while a stream uses them, and lets go of them
// once it is idle: its liveness tick trims an empty queue's ring (encryptor-queue.ts). A
// channel left idle after a burst must not hold the burst's slots for good.
const nodes: Node[] = [];
const open = ChannelEnd.prototype.open;
afterEach(async () => {
  ChannelEnd.prototype.open = open;
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

class CountingSink implements Worker {
  count = 0;
  handleMessage(): void {
    this.count++;
  }
}

/** Polls `check` until it holds (a measured wait, bounded by `timeout`). */
function until(what: () => string, check: () => boolean, timeout = 20_000): Promise<void> {
  return waitFor<void>((resolve) => {
    const poll = (): void => void (check() ? resolve() : setTimeout(poll, 10));
    poll();
  }, { timeout, what });
}

describe("a channel's send queue after a burst", () => {
  it("lets go of the burst's slots on its liveness tick once empty", async () => {
    const ends: ChannelEnd[] = [];
    ChannelEnd.prototype.open = function (this: ChannelEnd, ...args: Parameters<ChannelEnd["open"]>) {
      ends.push(this);
      return open.apply(this, args);
    };
    const [alice, bob] = [await node(), await node()];
    nodes.push(alice, bob);
    const tcpListener = await (await createTcpTransport(bob)).listen("127.0.0.1:0");
    const listener = await createSecureChannelListener(bob, await createIdentity(), "bob_listener", new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId).withReceiveWindow({ messages: 512 }));
    const sink = new CountingSink();
    await bob.startWorker("sink", sink, { placement: "main" });
    bob.flowControls.addConsumer("sink", listener.flowControlId);
    const connection = await (await createTcpTransport(alice)).connect(tcpListener.address);
    // A short peer timeout: the liveness tick comes every ~100 ms instead of every 10 s.
    const channel = await createSecureChannel(alice, await createIdentity(), route(connection, "bob_listener"), new SecureChannelOptions().withPeerTimeout(300));
    const end = ends.find((e) => e.role === "initiator")!;
    expect(end).toBeDefined();

    // A burst: 5,000 sends in one turn, past bob's credit (512 messages): most wait in the queue.
    const to = route(channel, "sink");
    const payload = new Uint8Array(16);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 5000; i++) sends.push(alice.send(to, payload));
    expect(end.sendQueueSlots).toBe(8192);
    await Promise.all(sends);
    await until(() => `the sink to count 5000 (it has ${sink.count})`, () => sink.count === 5000);
    // Idle now: the slots go on a liveness tick (or, had the queue drained slowly, shrank as it emptied).
    await until(() => `the idle queue to let go of its slots (it has ${end.sendQueueSlots})`, () => end.sendQueueSlots <= 2048);
    expect(channel.isClosed).toBe(false);
  });
});
