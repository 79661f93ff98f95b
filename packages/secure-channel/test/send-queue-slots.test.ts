import { afterEach, describe, expect, it } from "vitest";
import { route, type Node } from "@hopwire/runtime";
import { SecureChannelOptions } from "@hopwire/secure-channel";
import { ChannelEnd } from "../dist/secure-channel/channel-end.js";
import { channelToWorker, Counter } from "./channel-to-worker.js";
import { eventually } from "../../../test/support/eventually.js";

// A channel's send queue keeps a burst's slots while a stream uses them, and lets go of them
// once it is idle: its liveness tick trims an empty queue's ring (encryptor-queue.ts). A
// channel left idle after a burst must not hold the burst's slots for good.
const nodes: Node[] = [];
const open = ChannelEnd.prototype.open;
afterEach(async () => {
  ChannelEnd.prototype.open = open;
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

describe("a channel's send queue after a burst", () => {
  it("lets go of the burst's slots on its liveness tick once empty", async () => {
    const ends: ChannelEnd[] = [];
    ChannelEnd.prototype.open = function (this: ChannelEnd, ...args: Parameters<ChannelEnd["open"]>) {
      ends.push(this);
      return open.apply(this, args);
    };
    const sink = new Counter();
    // A short peer timeout: the liveness tick comes every ~100 ms instead of every 10 s.
    const { alice, channel } = await channelToWorker(nodes, "sink", sink, new SecureChannelOptions().withPeerTimeout(300), { receiveWindow: { messages: 512 } });
    const end = ends.find((e) => e.role === "initiator")!;
    expect(end).toBeDefined();

    // A burst: 5,000 sends in one turn, past bob's credit (512 messages): most wait in the queue.
    const to = route(channel, "sink");
    const payload = new Uint8Array(16);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 5000; i++) sends.push(alice.send(to, payload));
    expect(end.sendQueueSlots).toBe(8192);
    await Promise.all(sends);
    await eventually(() => sink.count === 5000, 20_000, "the sink to count 5000");
    // Idle now: the slots go on a liveness tick (or, had the queue drained slowly, shrank as it emptied).
    await eventually(() => end.sendQueueSlots <= 2048, 20_000, "the idle queue to let go of its slots");
    expect(channel.isClosed).toBe(false);
  });
});
