import { afterEach, describe, expect, it } from "vitest";
import { LocalMessage, route, waitFor, type Context, type Node, type Routed, type Worker } from "@hopwire/runtime";
import { runsTaken } from "../../runtime/dist/placement/thread-placement.js";
import { PayloadChecker, StreamsRecorder, payloadOf, taggedPayloadOf } from "./fixtures/payload-checker.js";
import { startNode } from "./support.js";

// A stream of small messages from TCP to a worker placed "main", or on a thread of its own,
// reaches its mailbox a socket read at a time (MessageRun, REPEATED_HEAD_PAYLOADS): each
// payload must still arrive whole, once, in order, and the worker's bound must still stop
// the socket.
const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/** Checks each message against payloadOf, in order; every `slowEvery` messages it waits a turn (its queue fills meanwhile). */
class CheckingSink implements Worker {
  received = 0;
  wrong = 0;
  #onTotal: (() => void) | undefined;
  constructor(
    private readonly slowEvery: number,
    private readonly total: number,
  ) {}
  whenAllReceived(timeout: number): Promise<void> {
    return waitFor<void>((resolve) => (this.received >= this.total ? resolve() : (this.#onTotal = resolve)), {
      timeout,
      what: () => `the sink to receive ${this.total} messages (it has ${this.received})`,
    });
  }
  async handleMessage(_ctx: Context, msg: Routed): Promise<void> {
    if (!payloadOf(this.received).equals(msg.payload)) this.wrong++;
    this.received++;
    if (this.received === this.total) this.#onTotal?.();
    if (this.received % this.slowEvery === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("a stream from TCP to a worker placed main, a read at a time", () => {
  it("delivers every payload whole, once and in order, while the worker's small mailbox pauses the socket", async () => {
    const receiver = await startNode("receiver");
    const sender = await startNode("sender");
    nodes.push(receiver.node, sender.node);
    const total = 40_000;
    const sink = new CheckingSink(500, total);
    // A bound far below what one socket read holds at these sizes: runs overshoot it, the socket pauses and resumes.
    await receiver.node.startWorker("sink", sink, { placement: "main", mailbox: { maxMessages: 64, maxBytes: 64 * 1024 } });
    const listener = await receiver.tcp.listen("127.0.0.1:0");
    receiver.node.flowControls.addConsumer("sink", listener.flowControlId);
    const connection = await sender.tcp.connect(listener.address);
    for (let i = 0; i < total; i++) {
      await sender.node.forward(new LocalMessage(route(connection, "sink"), route(), payloadOf(i)));
    }
    await sink.whenAllReceived(30_000);
    expect(sink.wrong).toBe(0);
    expect(sink.received).toBe(total);
  });
});

describe("a stream from TCP to a worker on its own thread, a read at a time", () => {
  it("writes each run into the thread's batch: every payload whole, once and in order, under a small mailbox", async () => {
    const receiver = await startNode("receiver");
    const sender = await startNode("sender");
    nodes.push(receiver.node, sender.node);
    const total = 40_000;
    await receiver.node.startWorker("sink", PayloadChecker, { args: [500, total], mailbox: { maxMessages: 64, maxBytes: 64 * 1024 } });
    const listener = await receiver.tcp.listen("127.0.0.1:0");
    receiver.node.flowControls.addConsumer("sink", listener.flowControlId);
    const connection = await sender.tcp.connect(listener.address);
    const before = runsTaken.messages;
    for (let i = 0; i < total; i++) {
      await sender.node.forward(new LocalMessage(route(connection, "sink"), route(), payloadOf(i)));
    }
    // Answered once the sink has handled all of them.
    const tally = await receiver.node.sendAndReceive<{ received: number; wrong: number }>("sink", null, { timeout: 60_000 });
    expect(tally).toEqual({ received: total, wrong: 0 });
    // Runs count against the thread's mailbox: over its bound, the connection stopped reading.
    await receiver.log.waitFor(/paused reading/);
    // Most messages came in runs (the first of a stream, and of each read, is routed alone).
    expect(runsTaken.messages - before).toBeGreaterThan(total / 2);
  });

  // Small payloads (many frames a read, batches posted every 1,024 frames) and larger ones
  // (batches that fill up mid-run, payloads from 4 KiB on that are not runs).
  it.each([
    ["up to 300 bytes", 293, 20_000],
    ["up to 9 KB", 9_000, 4_000],
  ])(
    "two connections, another head now and then and the main thread's own sends into one thread (%s): each stream whole and in order, under its own routes",
    async (_what, maxExtra, n) => {
      const receiver = await startNode("receiver");
      const sender = await startNode("sender");
      nodes.push(receiver.node, sender.node);
      await receiver.node.startWorker("rec", StreamsRecorder, { args: [maxExtra], mailbox: { maxMessages: 256, maxBytes: 256 * 1024 } });
      const listener = await receiver.tcp.listen("127.0.0.1:0");
      receiver.node.flowControls.addConsumer("rec", listener.flowControlId);
      const [c1, c2] = [await sender.tcp.connect(listener.address), await sender.tcp.connect(listener.address)];
      const before = runsTaken.messages;
      const sends: Promise<void>[] = [];
      const streams = [0, 0, 0, 0];
      const next = (tag: number): Buffer => taggedPayloadOf(tag, streams[tag]!++, maxExtra);
      for (let i = 0; i < n; i++) {
        sends.push(sender.node.forward(new LocalMessage(route(c1, "rec"), route("back"), next(1))));
        sends.push(sender.node.forward(new LocalMessage(route(c2, "rec"), route("back"), next(2))));
        if (i % 100 === 0) sends.push(sender.node.forward(new LocalMessage(route(c1, "rec"), route("back", "other"), next(3))));
        if (i % 50 === 0) sends.push(receiver.node.forward(new LocalMessage(route("rec"), route("mainside"), next(0))));
        if (i % 512 === 0) await Promise.all(sends.splice(0));
      }
      await Promise.all(sends);
      const total = streams.reduce((a, b) => a + b, 0);
      type Verdict = { count: number; problems: string[]; heads: Record<string, string[]> };
      let verdict: Verdict;
      // The main thread's request may overtake what the sockets still hold: asked again until all came.
      for (;;) {
        verdict = await receiver.node.sendAndReceive<Verdict>("rec", null, { timeout: 30_000 });
        if (verdict.count >= total) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(verdict.count).toBe(total);
      expect(verdict.problems).toEqual([]);
      // One head per stream: what per-message delivery would have given (no local info from TCP).
      for (const tag of ["1", "2", "3"]) expect(verdict.heads[tag]).toHaveLength(1);
      expect(verdict.heads["1"]![0]).toMatch(/ \| 0#rec \| \{\}$/);
      expect(verdict.heads["3"]![0]).toContain("0#other");
      expect(verdict.heads["1"]![0]).not.toBe(verdict.heads["2"]![0]); // a return route per connection
      expect(runsTaken.messages - before).toBeGreaterThan(maxExtra < 4096 ? total / 2 : total / 4);
    },
    60_000,
  );
});
