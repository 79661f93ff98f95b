import { afterEach, describe, expect, it } from "vitest";
import { once } from "node:events";
import { type Server, type Socket } from "node:net";
import {
  Address,
  DuplicateAddressError,
  InvalidRouteError,
  LocalMessage,
  MessageRun,
  REPEATED_HEAD,
  Route,
  UnknownAddressError,
  node,
  route,
  startRelay,
  type Mailbox,
  type Node,
} from "@hopwire/runtime";
import { pausedPeer, startNode, startResponder } from "./support.js";
import { eventually } from "../../../test/support/eventually.js";

const nodes: Node[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  for (const s of servers.splice(0)) s.close();
});

/** A mailbox that keeps what it gets and is full when the test says so. */
class Capture implements Mailbox {
  readonly messages: LocalMessage[] = [];
  full = false;
  #room: (() => void)[] = [];
  constructor(readonly address: Address) {}
  get isFull(): boolean {
    return this.full;
  }
  deliver(message: LocalMessage): void {
    this.messages.push(message);
  }
  onRoom(callback: () => void): () => void {
    this.#room.push(callback);
    return () => (this.#room = this.#room.filter((c) => c !== callback));
  }
  makeRoom(): void {
    this.full = false;
    for (const c of this.#room.splice(0)) c();
  }
}

describe("the built-in relay", () => {
  it("forgets a previous hop when it goes away: a relay node does not grow by an entry per connection it accepted", async () => {
    const middle = await startResponder("middle");
    nodes.push(middle.node);
    const capture = new Capture(new Address(0, "capture"));
    middle.node.router.register([capture.address], capture);
    const relay = await startRelay(middle.node, "forward", route("capture"));
    middle.node.flowControls.addConsumer("forward", middle.listener.flowControlId);
    const client = await startNode("client");
    nodes.push(client.node);
    for (let i = 0; i < 5; i++) {
      const connection = await client.tcp.connect(middle.listener.address);
      await client.node.send(route(connection, "forward"), `hello ${i}`);
      await eventually(() => capture.messages.length === i + 1, 20_000);
      expect(relay.openedHops).toBeGreaterThan(0);
      await connection.stop();
      await eventually(() => middle.listener.connections.length === 0, 20_000);
      expect(relay.openedHops).toBe(0);
    }
  });

  it("the Relay worker's memory of opened hops is bounded", async () => {
    const { OpenedHops } = await import("../../runtime/dist/relay/opened-hops.js");
    const hops = new OpenedHops();
    for (let i = 0; i < 10_000; i++) hops.tried(`hop-${i}`, true);
    expect(hops.openCount).toBeLessThanOrEqual(4096);
    expect(hops.shouldTry("hop-9999")).toBe(false); // the newest are remembered
    expect(hops.shouldTry("hop-0")).toBe(true); // the oldest were forgotten: opened again if they speak again
  });

  it("rewrites the onward route, keeps the return route and passes the payload on as the same view", async () => {
    const n = await node({ name: "relay-unit" });
    nodes.push(n);
    const capture = new Capture(new Address(0, "capture"));
    n.router.register([capture.address], capture);
    const relay = await startRelay(n, "forward", route("capture", "extra"));
    const chunk = Buffer.alloc(64 * 1024);
    const payload = chunk.subarray(100, 100 + 16 * 1024); // a view into a bigger buffer, as a TCP receiver hands it
    const returned = n.router.route(new LocalMessage(route("forward", "sink"), route("back"), payload), undefined);
    expect(returned).toBe(relay);
    const out = capture.messages[0]!;
    expect(out.onwardRoute.toString()).toBe("0#capture => 0#extra => 0#sink");
    expect(out.returnRoute.toString()).toBe("0#back");
    expect(out.payload).toBe(payload); // not decoded, not copied: the very same view
    expect(relay.relayed).toBe(1);
  });

  it("is full while its next hop is, and calls back when the next hop has room", async () => {
    const n = await node({ name: "relay-unit" });
    nodes.push(n);
    const capture = new Capture(new Address(0, "capture"));
    n.router.register([capture.address], capture);
    const relay = await startRelay(n, "forward", route("capture"));
    expect(relay.isFull).toBe(false);
    capture.full = true;
    expect(relay.isFull).toBe(true); // before any message: looked up through the router
    let called = false;
    relay.onRoom(() => (called = true));
    expect(called).toBe(false);
    capture.makeRoom();
    expect(called).toBe(true);
    expect(relay.isFull).toBe(false);
  });

  it("checks its arguments, takes its address once, and leaves the router on stop", async () => {
    const n = await node({ name: "relay-unit" });
    nodes.push(n);
    await expect(startRelay(n, "r", route())).rejects.toBeInstanceOf(InvalidRouteError);
    await expect(startRelay(n, "1#127.0.0.1:1", route("x"))).rejects.toBeInstanceOf(InvalidRouteError);
    const relay = await startRelay(n, "r", route("x"));
    await expect(startRelay(n, "r", route("y"))).rejects.toBeInstanceOf(DuplicateAddressError);
    // Its next hop does not exist: the sender is told, nothing crashes.
    expect(() => n.router.route(new LocalMessage(route("r"), Route.EMPTY, new Uint8Array(1)), undefined)).toThrow(UnknownAddressError);
    relay.stop();
    expect(n.router.has(new Address(0, "r"))).toBe(false);
    await expect(n.send(route("r"), "hi")).rejects.toBeInstanceOf(UnknownAddressError);
  });

  it("a payload that arrived over TCP is relayed as a view of the bytes the socket read, not a copy", async () => {
    const middle = await startNode("middle");
    const a = await startNode("a");
    nodes.push(middle.node, a.node);
    const capture = new Capture(new Address(0, "capture"));
    middle.node.router.register([capture.address], capture);
    await startRelay(middle.node, "forward", route("capture"));
    const listener = await middle.tcp.listen("127.0.0.1:0");
    middle.node.flowControls.addConsumer("forward", listener.flowControlId);
    const toMiddle = await a.tcp.connect(listener.address);
    // Sizes above Buffer's 4 KiB pool: a copy would get an ArrayBuffer of its own, exactly its size.
    const sizes = [16 * 1024, 64 * 1024];
    // Each with a return route of its own, so that each frame carries a head (a repeated-head
    // frame of 64 KiB, assembled from socket reads, would be exactly its payload).
    for (const size of sizes) await a.node.forward(new LocalMessage(route(toMiddle, "forward"), route(`reply-${size}`), Buffer.alloc(size, size & 0xff)));
    while (capture.messages.length < sizes.length) await new Promise((resolve) => setImmediate(resolve));
    for (const [i, size] of sizes.entries()) {
      const message = capture.messages[i]!;
      // A frame that spanned socket reads comes in parts (views of the reads, not joined), else as one view.
      const pieces = message.parts ?? [message.payload];
      expect(pieces.reduce((n, p) => n + p.length, 0)).toBe(size);
      // A copy would own its buffer; a view shares the socket read's, which also holds the head before it.
      expect(pieces[0]!.byteOffset).toBeGreaterThan(0);
      expect(pieces[0]!.buffer.byteLength).toBeGreaterThan(pieces[0]!.length);
      expect(Buffer.from(message.payload).equals(Buffer.alloc(size, size & 0xff))).toBe(true);
    }
  });

  it("relays between two TCP connections both ways, opening the flow controls (the seed's middle node)", async () => {
    const responder = await startResponder();
    const middle = await startNode("middle");
    const a = await startNode("a");
    nodes.push(responder.node, middle.node, a.node);
    const toBob = await middle.tcp.connect(responder.listener.address);
    await startRelay(middle.node, "forward_to_bob", route(toBob));
    const listener = await middle.tcp.listen("127.0.0.1:0");
    middle.node.flowControls.addConsumer("forward_to_bob", listener.flowControlId);
    const toMiddle = await a.tcp.connect(listener.address);
    for (let i = 0; i < 3; i++) {
      expect(await a.node.sendAndReceive(route(toMiddle, "forward_to_bob", "echoer"), `hello ${i}`)).toBe(`hello ${i}`);
    }
    const big = Buffer.alloc(256 * 1024, 9);
    expect(Buffer.compare((await a.node.sendAndReceive(route(toMiddle, "forward_to_bob", "echoer"), big)) as Uint8Array, big)).toBe(0);
  });
});

/** A Capture that also takes runs of frames (refusing every other one) and keeps every payload in the order it came. */
class RunCapture extends Capture {
  readonly payloads: Buffer[] = [];
  runs = 0;
  refused = 0;
  longestRun = 0;
  #calls = 0;
  override deliver(message: LocalMessage): void {
    super.deliver(message);
    this.payloads.push(Buffer.from(message.payload));
  }
  deliverRun(run: MessageRun): boolean {
    if (++this.#calls % 2 === 0) {
      this.refused++;
      return false;
    }
    this.runs++;
    this.longestRun = Math.max(this.longestRun, run.count);
    const bytes = Buffer.from(run.source.buffer, run.source.byteOffset, run.source.byteLength);
    let frames = 0;
    for (let at = run.start; at < run.end; frames++) {
      const length = bytes.readUInt32BE(at) - REPEATED_HEAD; // each a repeated-head frame, as it arrived
      this.payloads.push(Buffer.from(bytes.subarray(at + 4, at + 4 + length)));
      at += 4 + length;
    }
    expect(frames).toBe(run.count);
    return true;
  }
}

/** Payload `i` of a test stream: its number (u32), then filler of its own, `size` bytes in all. */
function numbered(i: number, size: number): Buffer {
  const payload = Buffer.alloc(size, i & 0xff);
  payload.writeUInt32BE(i);
  return payload;
}

/**
 * a → middle (built-in relay "forward", small send bounds) → a raw peer that does not read
 * until told: what the relay tests under load start from.
 */
async function relayToPausedPeer() {
  const limits = { sendHighWaterMark: 64 * 1024, maxSendBufferBytes: 1024 * 1024 };
  const peer = await pausedPeer(servers);
  const middle = await startNode("middle", limits);
  const a = await startNode("a", limits);
  nodes.push(middle.node, a.node);
  const toPeer = await middle.tcp.connect(peer.address);
  const relay = await startRelay(middle.node, "forward", route(toPeer));
  const listener = await middle.tcp.listen("127.0.0.1:0");
  middle.node.flowControls.addConsumer("forward", listener.flowControlId);
  const toMiddle = await a.tcp.connect(listener.address);
  return { limits, peer, middle, a, toPeer, relay, listener, toMiddle, mailbox: a.node.router.mailboxOf(toMiddle.address)! };
}

describe("the built-in relay passes a stream on in runs", () => {
  it("short messages that share their routes reach the next hop's mailbox as runs of frames, in order, and one by one when it refuses a run", async () => {
    const middle = await startNode("middle");
    const a = await startNode("a");
    nodes.push(middle.node, a.node);
    const capture = new RunCapture(new Address(0, "capture"));
    middle.node.router.register([capture.address], capture);
    const relay = await startRelay(middle.node, "forward", route("capture"));
    const listener = await middle.tcp.listen("127.0.0.1:0");
    middle.node.flowControls.addConsumer("forward", listener.flowControlId);
    const toMiddle = await a.tcp.connect(listener.address);
    const total = 3_000;
    const sizeOf = (i: number): number => 4 + ((i * 37) % 3_000); // all under the 4 KiB that are copied on
    const sent: Promise<void>[] = [];
    for (let i = 0; i < total; i++) sent.push(a.node.forward(new LocalMessage(route(toMiddle, "forward"), route("back"), numbered(i, sizeOf(i)))));
    await Promise.all(sent);
    while (capture.payloads.length < total) await new Promise((resolve) => setImmediate(resolve));
    expect(capture.payloads.length).toBe(total);
    for (let i = 0; i < total; i++) expect(capture.payloads[i]!.equals(numbered(i, sizeOf(i)))).toBe(true);
    expect(capture.runs).toBeGreaterThan(0);
    expect(capture.longestRun).toBeGreaterThan(1);
    expect(capture.refused).toBeGreaterThan(0); // those came through deliver
    expect(capture.messages.length).toBeGreaterThan(capture.refused);
    expect(relay.relayed).toBe(total);
  });

  it("a stream of mixed sizes and alternating heads reaches the next connection intact and in order, also while that connection is blocked", async () => {
    const { peer, middle, a, relay, toMiddle, mailbox } = await relayToPausedPeer();
    // Runs end at a payload of 4 KiB or more (handed on as a view) and at a new head (every
    // 250); short ones of one size in a row make reads that end between frames, so that a
    // blocked writer gets runs of several reads back to back.
    const sizes = [8, 100, 1_000, 3_000, 5_000, 64, 4_095, 4_096, 2_000, 700];
    const sizeOf = (i: number): number => (i % 2_000 < 1_000 ? 60 : sizes[i % sizes.length]!);
    const total = 20_000; // ≈ 22 MiB: more than the sockets hold while the peer does not read
    const sending = (async () => {
      for (let i = 0; i < total; i++) {
        if (mailbox.isFull) await new Promise<void>((resolve) => mailbox.onRoom!(resolve));
        const back = route(Math.floor(i / 250) % 2 === 0 ? "r1" : "r2");
        void a.node.forward(new LocalMessage(route(toMiddle, "forward", "sink"), back, numbered(i, sizeOf(i))));
      }
    })();
    // While the outbound socket is blocked, runs of many reads wait in its writer together.
    await middle.log.waitFor(/paused reading/);
    peer.startReading();
    await sending;
    await peer.received(total);
    expect(peer.outOfOrder).toBe(0);
    expect(peer.frames).toBe(total);
    expect(relay.relayed).toBe(total);
  }, 60_000);
});

describe("the built-in relay under load", () => {
  it("stops reading its inbound connection while the outbound one is full; the original sender waits; order kept", async () => {
    const { limits, peer, middle, toPeer, relay, listener, mailbox, a, toMiddle } = await relayToPausedPeer();

    const size = 16 * 1024;
    const total = 2048; // 32 MiB
    let maxOutbound = 0;
    const sending = (async () => {
      for (let i = 0; i < total; i++) {
        if (mailbox.isFull) await new Promise<void>((resolve) => mailbox.onRoom!(resolve));
        const payload = Buffer.alloc(size);
        payload.writeUInt32BE(i);
        await a.node.forward(new LocalMessage(route(toMiddle, "forward", "sink"), Route.EMPTY, payload));
        maxOutbound = Math.max(maxOutbound, toPeer.bufferedBytes);
      }
    })();
    await middle.log.waitFor(/paused reading/);
    const inbound = listener.connections[0]!;
    expect(inbound.readingPaused).toBe(true);
    expect(relay.isFull).toBe(true);
    peer.startReading();
    await sending; // no BackpressureError anywhere on the way
    await peer.received(total);
    expect(peer.outOfOrder).toBe(0);
    // The relay never let the outbound buffer run to its hard bound: it stopped reading first.
    expect(maxOutbound).toBeLessThan(limits.maxSendBufferBytes);
    expect(toPeer.bufferedBytes).toBeLessThanOrEqual(limits.maxSendBufferBytes);
    expect(relay.relayed).toBe(total);
  }, 60_000);
});
