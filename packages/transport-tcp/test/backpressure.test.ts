import { afterEach, describe, expect, it } from "vitest";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { decodeBody, encodeBody, LocalMessage, route, type Node } from "@hopwire/runtime";
import { BackpressureError, type TcpConnection } from "@hopwire/transport-tcp";
import { FrameReader } from "../dist/frame-reader.js";
import { Relay } from "../../../examples/src/hello/relay.js";
import { helloBytes, messagesOf, startNode } from "./support.js";

// The slow reader never sends a frame, so liveness would close its connection after the first
// frame timeout (10 s) or the peer timeout (30 s): long enough on a quiet machine, not under
// load. Liveness is not what these tests check (liveness.test.ts does), so it waits 10 min here.
const patientLiveness = { firstFrameTimeout: 600_000, peerTimeout: 600_000 };
const limits = { sendHighWaterMark: 64 * 1024, maxSendBufferBytes: 1024 * 1024, ...patientLiveness };
const nodes: Node[] = [];
const servers: Server[] = [];
const readerSockets: Socket[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  // A slow reader's socket that never started reading never reads the EOF either: end it here
  // (server.close() leaves accepted connections open), also when the test failed before reading.
  for (const s of readerSockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/**
 * The most the kernel may hold between a sender and a slow reader through one relay node: the
 * sender's send buffer, the middle's receive buffer, the middle's send buffer, the reader's
 * receive buffer. The middle reads (in bursts, as it pauses and resumes), so receive autotuning
 * may grow its buffer up to tcp_rmem's maximum (32 MiB on the CI hosts: 20+ MiB seen under
 * load); the reader never reads, so its buffer keeps tcp_rmem's default. Not Linux: 48 MiB.
 */
function kernelBytesThroughOneRelay(): number {
  try {
    const sysctl = (name: string) => readFileSync(`/proc/sys/net/ipv4/${name}`, "utf8").trim().split(/\s+/).map(Number);
    const [, rmemDefault, rmemMax] = sysctl("tcp_rmem");
    const [, , wmemMax] = sysctl("tcp_wmem");
    return wmemMax! + rmemMax! + wmemMax! + rmemDefault!;
  } catch {
    return 48 * 1024 * 1024;
  }
}

/** A raw TCP server whose connections do not read until `startReading()`; it counts the frames it gets. */
async function slowReader() {
  let socket: Socket | undefined;
  const accepted = new Promise<Socket>((resolve) => {
    const server = createServer({ pauseOnConnect: true }, (s) => {
      socket = s;
      readerSockets.push(s);
      s.write(helloBytes());
      resolve(s);
    });
    servers.push(server);
    server.listen(0, "127.0.0.1");
  });
  const server = servers[servers.length - 1]!;
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const bodies: unknown[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  return {
    address: `127.0.0.1:${port}`,
    bodies,
    accepted,
    startReading(): void {
      const reader = new FrameReader();
      const onFrame = messagesOf((message) => {
        bodies.push(decodeBody(message.payload));
        for (const w of waiters) if (bodies.length === w.count) w.resolve();
      });
      socket!.on("data", (chunk: Buffer) => reader.push(chunk, onFrame));
      socket!.resume();
    },
    received(count: number): Promise<void> {
      return bodies.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}

/** Sends `count` messages, waiting for the connection to drain whenever it says so. */
async function sendAll(n: Node, connection: TcpConnection, to: string[], count: number, size: number): Promise<number> {
  let waits = 0;
  for (let i = 0; i < count; i++) {
    const body = { i, pad: Buffer.alloc(size) };
    for (;;) {
      try {
        await n.send(route(connection, ...to), body);
        break;
      } catch (error) {
        if (!(error instanceof BackpressureError)) throw error;
        waits++;
        await connection.waitForDrain();
      }
    }
  }
  return waits;
}

describe("backpressure", () => {
  it("a feeder that ignores isFull gets BackpressureError at the hard bound; a polite sender's send waits instead; the buffer never exceeds it", async () => {
    const peer = await slowReader();
    const a = await startNode("a", limits);
    nodes.push(a.node);
    const connection = await a.tcp.connect(peer.address);
    await peer.accepted;
    const size = 128 * 1024;
    let sent = 0;
    let error: unknown;
    // A feeder that routes straight into the connection, ignoring isFull, in one turn:
    // nothing is written, the buffer fills up to the hard bound.
    const body = encodeBody(Buffer.alloc(size));
    for (;;) {
      try {
        a.node.router.route(new LocalMessage(route(connection, "x"), route("app"), body), "app");
        sent++;
      } catch (e) {
        error = e;
        break;
      }
    }
    expect(error).toBeInstanceOf(BackpressureError);
    expect((error as BackpressureError).code).toBe("TCP_BACKPRESSURE");
    expect(connection.needsDrain).toBe(true);
    expect(connection.bufferedBytes).toBeLessThanOrEqual(limits.maxSendBufferBytes);
    expect(sent * size).toBeLessThanOrEqual(limits.maxSendBufferBytes);

    // Keep sending, politely, while the peer does not read: each send waits for room (the
    // connection is full), never throws; the kernel's buffers fill, then ours stays bounded.
    const total = 300;
    const sending = sendAll(a.node, connection, ["x"], total - sent, size);
    const stuck = await Promise.race([sending.then(() => false), sleep(1000).then(() => true)]);
    expect(stuck).toBe(true);
    expect(connection.bufferedBytes).toBeLessThanOrEqual(limits.maxSendBufferBytes + size + 1024);

    // The peer starts reading: everything arrives, in order, and no send saw BackpressureError.
    peer.startReading();
    expect(await sending).toBe(0);
    await peer.received(total);
    expect(peer.bodies.slice(sent).map((b) => (b as { i: number }).i)).toEqual([...Array(total - sent).keys()]);
    await connection.waitForDrain();
    expect(connection.needsDrain).toBe(false);
  });

  it("a relay whose next hop reads slowly stops reading the connection that feeds it", async () => {
    const peer = await slowReader();
    const middle = await startNode("middle", limits);
    const a = await startNode("a", limits);
    nodes.push(middle.node, a.node);
    const toPeer = await middle.tcp.connect(peer.address);
    // Quiet: the example Relay prints a line per message otherwise (400 lines captured by vitest, ~0.2 s of CPU).
    await middle.node.startWorker("forward", new Relay(route(toPeer), { quiet: true }), { placement: "main" });
    const listener = await middle.tcp.listen("127.0.0.1:0");
    middle.node.flowControls.addConsumer("forward", listener.flowControlId);
    const toMiddle = await a.tcp.connect(listener.address);

    const size = 64 * 1024;
    // More than the kernel and both connections' bounds can hold: else the sender may finish
    // while the middle is paused, everything it sent sitting in socket buffers (seen on a loaded host).
    const total = Math.ceil((kernelBytesThroughOneRelay() + 2 * (limits.maxSendBufferBytes + size)) / size) + 16;
    const sending = sendAll(a.node, toMiddle, ["forward", "sink"], total, size);
    await middle.log.waitFor(/paused reading/);
    const fed = listener.connections[0]!;
    expect(fed.readingPaused).toBe(true);
    expect(toPeer.bufferedBytes).toBeLessThanOrEqual(limits.maxSendBufferBytes + size + 1024);
    // The pause propagates back to the original sender: it is waiting, not piling up memory.
    const early = await Promise.race([sending.then(() => "done"), sleep(500).then(() => "waiting")]);
    expect(early).toBe("waiting");
    expect(toMiddle.bufferedBytes).toBeLessThanOrEqual(limits.maxSendBufferBytes + size + 1024);
    expect(toPeer.bufferedBytes).toBeLessThanOrEqual(limits.maxSendBufferBytes + size + 1024);

    peer.startReading();
    expect(await sending).toBe(0); // the sends waited for room: none was refused
    await peer.received(total);
    expect(peer.bodies.map((b) => (b as { i: number }).i)).toEqual([...Array(total).keys()]);
    await middle.log.waitFor(/resumed reading/);
    expect(fed.readingPaused).toBe(false);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("backpressure with small limits", () => {
  it("waitForDrain resolves even when the socket never reports 'drain'", async () => {
    // Writes smaller than the socket's own high-water mark return true, so no 'drain' will
    // come; with the peer not reading they stay in the socket's buffer and count against the bound.
    const peer = await slowReader();
    const a = await startNode("a", { sendHighWaterMark: 1024, maxSendBufferBytes: 16 * 1024, ...patientLiveness });
    nodes.push(a.node);
    const connection = await a.tcp.connect(peer.address);
    await peer.accepted;
    const size = 10 * 1024;
    const total = 1000; // 10 MiB: more than the kernel's buffers hold
    const sending = sendAll(a.node, connection, ["x"], total, size);
    const stuck = await Promise.race([sending.then(() => false), sleep(500).then(() => true)]);
    expect(stuck).toBe(true);
    peer.startReading();
    expect(await sending).toBe(0); // waited in send (on the connection's onRoom), never refused
    await peer.received(total);
    await connection.waitForDrain({ timeout: 5_000 });
    expect(connection.needsDrain).toBe(false);
  });
});
