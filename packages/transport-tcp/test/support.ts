import { afterEach } from "vitest";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { LocalMessage, createLogger, decodeEnvelopeHead, node, type Context, type Logger, type Node, type Routed, type Worker } from "@hopwire/runtime";
import { FrameReader } from "../dist/frame-reader.js";
import { createTcpTransport, PROTOCOL_VERSION, type TcpListener, type TcpTransport, type TcpTransportOptions } from "@hopwire/transport-tcp";

/** Replies with the body it received. */
export class Echoer implements Worker {
  async handleMessage(ctx: Context, message: Routed): Promise<void> {
    await ctx.send(message.returnRoute, message.body);
  }
}

/** Keeps every message it receives and never replies. */
export class Sink implements Worker {
  readonly received: Routed[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  handleMessage(_ctx: Context, message: Routed): void {
    this.received.push(message);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.received.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `count` messages have arrived. */
  waitFor(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

/** A logger that records every line (all namespaces on) and lets a test wait for one. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: Logger;
  #waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];

  constructor(name: string) {
    this.logger = createLogger("hopwire", {
      debug: "hopwire*",
      prefix: name,
      sink: (line) => {
        this.lines.push(line);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.pattern.test(line)) return true;
          w.resolve(line);
          return false;
        });
      },
    });
  }

  /** Resolves with the first line (already logged or to come) that matches. */
  waitFor(pattern: RegExp): Promise<string> {
    const found = this.lines.find((l) => pattern.test(l));
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.#waiters.push({ pattern, resolve }));
  }

  matching(pattern: RegExp): string[] {
    return this.lines.filter((l) => pattern.test(l));
  }
}

export interface Responder {
  node: Node;
  tcp: TcpTransport;
  listener: TcpListener;
  log: LogCapture;
  drops: DropRecorder;
}

/** A node with a TCP listener on 127.0.0.1:0 and an "echoer" reachable through it. */
export async function startResponder(name = "responder", options?: TcpTransportOptions): Promise<Responder> {
  const log = new LogCapture(name);
  const n = await node({ name, logger: log.logger, sendAndReceiveTimeout: 5_000 });
  const drops = new DropRecorder(n);
  const tcp = await createTcpTransport(n, options);
  await n.startWorker("echoer", new Echoer(), { placement: "main" });
  const listener = await tcp.listen("127.0.0.1:0");
  n.flowControls.addConsumer("echoer", listener.flowControlId);
  return { node: n, tcp, listener, log, drops };
}

export async function startNode(name: string, options?: TcpTransportOptions): Promise<{ node: Node; tcp: TcpTransport; log: LogCapture; drops: DropRecorder }> {
  const log = new LogCapture(name);
  const n = await node({ name, logger: log.logger, sendAndReceiveTimeout: 5_000 });
  return { node: n, tcp: await createTcpTransport(n, options), log, drops: new DropRecorder(n) };
}

/** A node's "denied" and "dropped" events (flow controls refused a network message; a message could not go on), kept from the start. */
export class DropRecorder {
  readonly events: { kind: "denied" | "dropped"; address: string; reason?: string }[] = [];
  #waiters: { kind: "denied" | "dropped"; address: string; resolve: () => void }[] = [];

  constructor(n: Node) {
    n.on("denied", (event) => this.#add({ kind: "denied", address: event.address }));
    n.on("dropped", (event) => this.#add({ kind: "dropped", address: event.address, reason: event.reason }));
  }

  /** Resolves once an event of `kind` for `address` (a key: "private", "1#host:port") has come, or at once if one has. */
  waitFor(kind: "denied" | "dropped", address: string): Promise<void> {
    if (this.events.some((e) => e.kind === kind && e.address === address)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ kind, address, resolve }));
  }

  #add(event: DropRecorder["events"][number]): void {
    this.events.push(event);
    this.#waiters = this.#waiters.filter((w) => {
      if (w.kind !== event.kind || w.address !== event.address) return true;
      w.resolve();
      return false;
    });
  }
}

export function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

/** A raw node:net client connected to `address` ("host:port"); it reads (and drops) what it receives unless `paused`. */
export async function rawClient(address: string, paused = false, localAddress?: string): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port: portOf(address), ...(localAddress ? { localAddress } : {}) });
  socket.on("error", () => {});
  await once(socket, "connect");
  if (!paused) socket.resume();
  return socket;
}

/** Resolves when the socket has closed (the other side closed it). */
export function closed(socket: Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

/** A u32 big-endian length followed by `envelope`. */
/**
 * A FrameReader callback that hands on each frame's message (keepalives skipped): a
 * repeated-head frame gets the routes of the last frame that carried a head, as a
 * connection's reader does. Return routes are as written (no prefix added).
 */
export function messagesOf(onMessage: (message: LocalMessage) => void): (bytes: Buffer, start: number, end: number, repeatsHead: boolean) => void {
  let last: LocalMessage | undefined;
  return (bytes, start, end, repeatsHead) => {
    if (start === end && !repeatsHead) return;
    if (repeatsHead) {
      if (last === undefined) throw new Error("a repeated-head frame before any head");
      onMessage(LocalMessage.fromRange(last.onwardRoute, last.returnRoute, bytes, start, end));
      return;
    }
    const head = decodeEnvelopeHead(bytes, "network", start, end);
    last = LocalMessage.fromRange(head.onwardRoute, head.returnRoute, bytes, head.payloadOffset, end);
    onMessage(last);
  };
}

export function frame(envelope: Uint8Array): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(envelope.length);
  return Buffer.concat([head, envelope]);
}

/**
 * What every Hopwire peer sends first: its protocol version byte and a keepalive (a frame of
 * length 0). A raw server writes it at accept, as `connect()` waits for a first frame.
 */
export function helloBytes(): Buffer {
  return Buffer.of(PROTOCOL_VERSION, 0, 0, 0, 0);
}

/**
 * A raw server whose one connection is not read until `startReading()`; it counts frames and
 * checks the order of their u32-numbered raw payloads (keepalives skipped). Pushed to `servers`
 * for the test file to close.
 */
export async function pausedPeer(servers: Server[], host = "127.0.0.1") {
  let socket: Socket | undefined;
  const server = createServer({ pauseOnConnect: true }, (s) => {
    socket = s;
    s.write(helloBytes());
  });
  // close() leaves the accepted connection open, and a paused one never reads its peer's
  // FIN: it ends with the server, or it would outlive the test in the reused fork.
  const close = server.close.bind(server);
  server.close = (callback) => {
    socket?.destroy();
    return close(callback);
  };
  servers.push(server);
  server.listen(0, host);
  await once(server, "listening");
  let frames = 0;
  let outOfOrder = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  return {
    address: `${host}:${(server.address() as { port: number }).port}`,
    get frames() {
      return frames;
    },
    get outOfOrder() {
      return outOfOrder;
    },
    startReading(): void {
      const reader = new FrameReader();
      const onFrame = messagesOf((message) => {
        // Each payload starts with its u32 sequence number (raw bytes, no body codec).
        if (Buffer.from(message.payload).readUInt32BE(0) !== frames) outOfOrder++;
        frames++;
        for (const w of waiters) if (frames === w.count) w.resolve();
      });
      socket!.on("data", (chunk: Buffer) => reader.push(chunk, onFrame));
      socket!.resume();
    },
    received(count: number): Promise<void> {
      return frames >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}

/**
 * The nodes, servers and raw sockets a test file's tests start: registers the afterEach that
 * destroys the sockets, stops the nodes and closes the servers after each test (call once per file).
 */
export function closeAfterEach(): { nodes: Node[]; servers: Server[]; sockets: Socket[] } {
  const nodes: Node[] = [];
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
    for (const s of servers.splice(0)) s.close();
  });
  return { nodes, servers, sockets };
}
