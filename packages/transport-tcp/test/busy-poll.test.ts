import { performance } from "node:perf_hooks";
import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, nextTurn } from "../../../test/support/eventually.js";
import { LocalMessage, node, route, type Node } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { FrameWriter } from "../dist/frame-writer.js";
import { Sink, startResponder } from "./support.js";

/** NodeOptions.busyPollMicros' largest value: the longest a hand-off keeps the loop polling. */
const MAX_MICROS = 10_000;

describe("FrameWriter's onWritten (NodeOptions.busyPollMicros' hook)", () => {
  it("is called once per flush that handed the socket bytes, not per frame", async () => {
    const chunks: Uint8Array[] = [];
    const socket = { writableLength: 0, cork() {}, uncork() {}, write: (c: Uint8Array) => (chunks.push(c), true) } as unknown as Socket;
    let written = 0;
    const writer = new FrameWriter(socket, () => {}, Infinity, 1024 * 1024, () => written++);
    const message = new LocalMessage(route("x"), route("app"), new Uint8Array(16));
    writer.enqueue(message);
    writer.enqueue(message);
    expect(written).toBe(0); // flushed on a microtask, after this synchronous code
    await nextTurn();
    expect(written).toBe(1);
    expect(chunks.length).toBeGreaterThan(0);
    await nextTurn();
    expect(written).toBe(1); // nothing more to write, no call
  });
});

describe("a node with busyPollMicros keeps polling after its TCP writes", () => {
  const nodes: Node[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  /**
   * Sends one message to the responder's sink and says whether the sender's loop was polling
   * one turn later; undefined when, with busy polling on, that check came too late to tell
   * (more than the poll's 10 ms after the send, on a stalled host).
   */
  async function pollingAfterSend(sender: Node, to: ReturnType<typeof route>, sink: Sink, n: number): Promise<boolean | undefined> {
    await eventually(() => !sender.busyPolling);
    const sentAt = performance.now();
    await sender.send(to, new Uint8Array([n]));
    await nextTurn();
    const polling = sender.busyPolling;
    // Off, it must not poll however late the check comes; on, only a check within the poll's 10 ms tells.
    const conclusive = sender.busyPollMicros === 0 || performance.now() - sentAt < MAX_MICROS / 1000;
    await sink.waitFor(n);
    return conclusive ? polling : undefined;
  }

  it("polls after a write with the option and stops once the writes stop; without it the loop sleeps", async () => {
    const responder = await startResponder();
    nodes.push(responder.node);
    const sink = new Sink();
    await responder.node.startWorker("sink", sink, { placement: "main" });
    responder.node.flowControls.addConsumer("sink", responder.listener.flowControlId);

    const polling = await node({ warnings: false, busyPollMicros: MAX_MICROS });
    nodes.push(polling);
    const pollingTcp = await createTcpTransport(polling);
    const toSink = route(await pollingTcp.connect(responder.listener.address), "sink");
    let seen: boolean | undefined;
    let sent = 0;
    for (let attempt = 0; attempt < 50 && seen === undefined; attempt++) seen = await pollingAfterSend(polling, toSink, sink, ++sent);
    expect(seen).toBe(true);
    // No more writes: the poll ends (within its 10 ms; checked, not slept on), and the node sleeps.
    await eventually(() => !polling.busyPolling);
    await nextTurn();
    expect(polling.busyPolling).toBe(false);
    await polling.stop();

    // The same with the option off: the loop is not kept polling after the write.
    const quiet = await node({ warnings: false });
    nodes.push(quiet);
    const quietTcp = await createTcpTransport(quiet);
    const quietToSink = route(await quietTcp.connect(responder.listener.address), "sink");
    expect(await pollingAfterSend(quiet, quietToSink, sink, ++sent)).toBe(false);
    expect(sink.received).toHaveLength(sent);
  });
});
