import { afterEach, describe, expect, it } from "vitest";
import type { Socket } from "node:net";
import { node, route, type Node, type RefusedEvent } from "@hopwire/runtime";
import {
  ConnectError,
  ConnectionClosedError,
  createTcpTransport,
  FirstFrameTimeoutError,
  HostConnectionLimitError,
  IdleTimeoutError,
  PeerTimeoutError,
  PROTOCOL_VERSION,
  TcpConnectionOptions,
  TcpListenerOptions,
  type TcpConnection,
  type TcpTransport,
} from "@hopwire/transport-tcp";
import { FrameReader } from "../dist/frame-reader.js";
import { hostKeyOf } from "../dist/host-key.js";
import { closed, helloBytes, rawClient, startNode, startResponder } from "./support.js";
import { eventually } from "../../../test/support/eventually.js";

// Short liveness settings in the code under test, generous waits in the tests: the machine
// is loaded while the suite runs.
const nodes: Node[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/** A node with a TCP transport whose warning lines and "refused" events the test reads. */
async function listeningNode(): Promise<{ tcp: TcpTransport; lines: string[]; refused: RefusedEvent[] }> {
  const lines: string[] = [];
  const refused: RefusedEvent[] = [];
  const n = await node({ name: "responder", warnings: (line) => void lines.push(line) });
  nodes.push(n);
  n.on("refused", (event) => refused.push(event));
  return { tcp: await createTcpTransport(n), lines, refused };
}

/** A raw client that counts the keepalive frames (length 0) it receives, and answers each with one (so it stays alive). */
async function keepaliveCounter(address: string): Promise<{ socket: Socket; keepalives: () => number }> {
  const socket = await rawClient(address);
  sockets.push(socket);
  const reader = new FrameReader();
  let keepalives = 0;
  socket.on("data", (chunk: Buffer) =>
    reader.push(chunk, (_b, start, end, repeatsHead) => {
      if (start !== end || repeatsHead) return;
      keepalives++;
      socket.write(Buffer.alloc(4));
    }),
  );
  return { socket, keepalives: () => keepalives };
}

function causeOf(connection: TcpConnection): unknown {
  return connection.closedReason?.cause;
}

describe("keepalives and dead peers", () => {
  it("an idle connection sends keepalives and stays open well past the peer timeout", async () => {
    const responder = await startResponder("responder", { keepaliveInterval: 50, peerTimeout: 400 });
    const initiator = await startNode("initiator", { keepaliveInterval: 50, peerTimeout: 400 });
    nodes.push(responder.node, initiator.node);
    const connection = await initiator.tcp.connect(responder.listener.address);
    // A raw observer sees the version byte and then keepalives at the interval.
    const observer = await keepaliveCounter(responder.listener.address);
    observer.socket.write(Buffer.of(PROTOCOL_VERSION, 0, 0, 0, 0)); // version byte and one keepalive
    await eventually(() => observer.keepalives() >= 3, 20_000, "three keepalives");
    // Idle in both directions for several peer timeouts (measured by the observer's own
    // keepalives: 30 of them span at least 30 × 50 ms = 1.5 s): keepalives keep it up.
    const seen = observer.keepalives();
    await eventually(() => observer.keepalives() >= seen + 30 || connection.state !== "open", 20_000, "30 more keepalives");
    expect(connection.state).toBe("open");
    expect(responder.listener.connections.find((c) => c.peer === connection.local)?.isClosed).toBe(false);
    expect(await initiator.node.sendAndReceive(route(connection, "echoer"), "still here")).toBe("still here");
  });

  it("a stall of this process past the peer timeout does not close a connection: the liveness clocks stop while the process does not run", async () => {
    const responder = await startResponder("responder", { keepaliveInterval: 50, peerTimeout: 400 });
    const initiator = await startNode("initiator", { keepaliveInterval: 50, peerTimeout: 400 });
    nodes.push(responder.node, initiator.node);
    const connection = await initiator.tcp.connect(responder.listener.address);
    await eventually(() => responder.listener.connections.length === 1, 20_000, "the accept");
    const accepted = responder.listener.connections[0]!;
    // Block this process for three peer timeouts (a long GC or a blocking call does this).
    // Afterwards the liveness timers run before the poll phase reads the sockets, and neither
    // end has sent a keepalive meanwhile: before, they judged both ends silent and closed them.
    const until1200 = Date.now() + 1_200;
    while (Date.now() < until1200) {
      // busy: no turn of the event loop
    }
    const reply = initiator.node.sendAndReceive(route(connection, "echoer"), "after the stall");
    expect(await reply).toBe("after the stall");
    expect(connection.state).toBe("open");
    expect(accepted.isClosed).toBe(false);
  });

  it("a peer that goes silent (no keepalives) is declared dead within the configured bound, with a PeerTimeoutError", async () => {
    const peerTimeout = 600;
    const responder = await startResponder("responder", { keepaliveInterval: 100, peerTimeout });
    nodes.push(responder.node);
    const raw = await rawClient(responder.listener.address);
    sockets.push(raw);
    raw.write(Buffer.of(PROTOCOL_VERSION, 0, 0, 0, 0)); // a first frame, then silence (as a frozen or vanished host)
    await eventually(() => responder.listener.connections.length === 1, 20_000, "the accept");
    const accepted = responder.listener.connections[0]!;
    const start = Date.now();
    const reason = await accepted.whenClosed();
    const detected = Date.now() - start;
    expect(reason).toBeInstanceOf(ConnectionClosedError);
    expect(reason.cause).toBeInstanceOf(PeerTimeoutError);
    expect((reason.cause as PeerTimeoutError).code).toBe("TCP_PEER_TIMEOUT");
    // Not before the bound; after it, only by how late the loaded event loop ran the timer.
    expect(detected).toBeGreaterThanOrEqual(peerTimeout - 150);
    expect(detected).toBeLessThan(peerTimeout + 5_000);
    await closed(raw);
  });
});

describe("per-connection and per-listener overrides", () => {
  it("withKeepalive on one connection applies to it alone (the transport keeps its 10 s / 30 s defaults)", async () => {
    const { createServer } = await import("node:net");
    const { once } = await import("node:events");
    // A peer that accepts, sends its version byte and a first keepalive, then stays silent.
    const server = createServer((socket) => {
      socket.on("error", () => {});
      socket.write(Buffer.of(PROTOCOL_VERSION, 0, 0, 0, 0));
      socket.resume();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const initiator = await startNode("initiator");
      nodes.push(initiator.node);
      const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
      const quick = await initiator.tcp.connect(address, new TcpConnectionOptions().withKeepalive(50, 300));
      const usual = await initiator.tcp.connect(address);
      expect(quick.liveness).toMatchObject({ keepaliveInterval: 50, peerTimeout: 300 });
      expect(usual.liveness).toMatchObject({ keepaliveInterval: 10_000, peerTimeout: 30_000, firstFrameTimeout: 10_000, idleTimeout: 0 });
      const reason = await quick.whenClosed();
      expect(reason.cause).toBeInstanceOf(PeerTimeoutError);
      expect(usual.state).toBe("open");
    } finally {
      server.close();
    }
  });

  it("a listener's withKeepalive applies to the connections it accepts", async () => {
    const responder = await startNode("responder");
    nodes.push(responder.node);
    const listener = await responder.tcp.listen("127.0.0.1:0", new TcpListenerOptions().withKeepalive(50, 300));
    const raw = await rawClient(listener.address);
    sockets.push(raw);
    raw.write(Buffer.of(PROTOCOL_VERSION, 0, 0, 0, 0));
    await eventually(() => listener.connections.length === 1, 20_000, "the accept");
    const reason = await listener.connections[0]!.whenClosed();
    expect(reason.cause).toBeInstanceOf(PeerTimeoutError);
    await closed(raw);
  });
});

describe("first-frame and idle timeouts, connection cap", () => {
  it("a connection that sends nothing (or only part of a first frame) is closed after firstFrameTimeout", async () => {
    const responder = await startResponder("responder", { firstFrameTimeout: 300 });
    nodes.push(responder.node);
    const silent = await rawClient(responder.listener.address);
    const versionOnly = await rawClient(responder.listener.address);
    const halfFrame = await rawClient(responder.listener.address);
    sockets.push(silent, versionOnly, halfFrame);
    versionOnly.write(Buffer.of(PROTOCOL_VERSION));
    halfFrame.write(Buffer.of(PROTOCOL_VERSION, 0, 0));
    await eventually(() => responder.listener.connections.length === 3, 20_000, "three accepts");
    const accepted = responder.listener.connections;
    const reasons = await Promise.all(accepted.map((c) => c.whenClosed()));
    for (const reason of reasons) {
      expect(reason.cause).toBeInstanceOf(FirstFrameTimeoutError);
      expect((reason.cause as FirstFrameTimeoutError).code).toBe("TCP_FIRST_FRAME_TIMEOUT");
    }
    await Promise.all([closed(silent), closed(versionOnly), closed(halfFrame)]);
    // A real connection's first keepalive follows its version byte at once: it is not reaped.
    const initiator = await startNode("initiator");
    nodes.push(initiator.node);
    const connection = await initiator.tcp.connect(responder.listener.address);
    expect(await initiator.node.sendAndReceive(route(connection, "echoer"), "ok")).toBe("ok");
  });

  it("hundreds of idle raw connections are reaped, not held", async () => {
    // All from 127.0.0.1: more than maxConnectionsPerHost's default (256) allows.
    const responder = await startResponder("responder", { firstFrameTimeout: 500, maxConnectionsPerHost: 300 });
    nodes.push(responder.node);
    const raws = await Promise.all(Array.from({ length: 300 }, () => rawClient(responder.listener.address)));
    sockets.push(...raws);
    await eventually(() => responder.listener.connectionCount > 0, 20_000, "accepts");
    await Promise.all(raws.map((r) => closed(r)));
    await eventually(() => responder.listener.connectionCount === 0, 20_000, "every idle connection reaped");
    expect(responder.tcp.connections).toHaveLength(0);
  });

  it("idleTimeout closes a connection that carries only keepalives, with an IdleTimeoutError", async () => {
    const responder = await startNode("responder", { keepaliveInterval: 50, peerTimeout: 2_000 });
    const initiator = await startNode("initiator", { keepaliveInterval: 50, peerTimeout: 2_000 });
    nodes.push(responder.node, initiator.node);
    const listener = await responder.tcp.listen("127.0.0.1:0", new TcpListenerOptions().withIdleTimeout(400));
    const connection = await initiator.tcp.connect(listener.address);
    await eventually(() => listener.connections.length === 1, 20_000);
    const accepted = listener.connections[0]!;
    const reason = await accepted.whenClosed();
    expect(reason.cause).toBeInstanceOf(IdleTimeoutError);
    expect((reason.cause as IdleTimeoutError).code).toBe("TCP_IDLE_TIMEOUT");
    // The initiator learns at once (FIN), keepalives notwithstanding.
    await connection.whenClosed();
  });

  it("idleTimeout is kept to, whatever the keepalive interval: a connection that never carries a message closes after it, not at the next keepalive (10 s)", async () => {
    const responder = await startResponder("responder", { idleTimeout: 300 });
    const initiator = await startNode("initiator");
    nodes.push(responder.node, initiator.node);
    const started = Date.now();
    await initiator.tcp.connect(responder.listener.address);
    await eventually(() => responder.listener.connections.length === 1, 20_000);
    const reason = await responder.listener.connections[0]!.whenClosed();
    const elapsed = Date.now() - started;
    expect(reason.cause).toBeInstanceOf(IdleTimeoutError);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    // Before, the first look came at min(firstFrameTimeout, keepaliveInterval): ~10 s. Generous for a loaded machine.
    expect(elapsed).toBeLessThan(5_000);
  });

  it("idleTimeout counts from the last message in or out: messages keep a connection open, and it closes idleTimeout after the last one", async () => {
    const responder = await startResponder("responder", { idleTimeout: 600 });
    const initiator = await startNode("initiator");
    nodes.push(responder.node, initiator.node);
    const connection = await initiator.tcp.connect(responder.listener.address);
    await eventually(() => responder.listener.connections.length === 1, 20_000);
    const accepted = responder.listener.connections[0]!;
    let reason: ConnectionClosedError | undefined;
    void accepted.whenClosed().then((r) => (reason = r));
    // Round trips for three idle timeouts, a pause between them well below one.
    const busyUntil = Date.now() + 1_800;
    let lastPingSent = 0;
    for (;;) {
      lastPingSent = Date.now();
      await initiator.node.sendAndReceive(route(connection, "echoer"), "ping");
      if (Date.now() >= busyUntil) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(reason).toBeUndefined();
    await accepted.whenClosed();
    expect(reason!.cause).toBeInstanceOf(IdleTimeoutError);
    // The responder read the last ping and wrote its reply after it was sent, so its idle clock
    // started no earlier. (Counted from when the initiator read the reply, as before, a loaded
    // machine's delay between that write and that read came off the bound: 534 ms was seen.)
    expect(Date.now() - lastPingSent).toBeGreaterThanOrEqual(600);
  });

  it("a listener holds at most maxConnections; the rest are refused at once, counted, raised as events and warned about rate-limited", async () => {
    const { tcp, lines, refused } = await listeningNode();
    const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions().withMaxConnections(5));
    const raws = await Promise.all(Array.from({ length: 40 }, () => rawClient(listener.address)));
    sockets.push(...raws);
    for (const r of raws) r.write(Buffer.of(PROTOCOL_VERSION, 0, 0, 0, 0));
    await eventually(() => listener.connectionCount + listener.refusedConnections === 40, 20_000, "every connection accepted or refused");
    expect(listener.connectionCount).toBe(5);
    expect(listener.refusedConnections).toBe(35);
    // The refused sockets were closed by the listener.
    let closedCount = 0;
    await eventually(() => (closedCount = raws.filter((r) => r.closed || r.destroyed || r.readableEnded).length) === 35, 20_000, "35 closed");
    expect(closedCount).toBe(35);
    // Every refusal is an event; one warning line (on by default: before, only DEBUG showed it) a minute per listener.
    expect(refused).toHaveLength(35);
    expect(refused[0]).toMatchObject({ listener: listener.address, what: "a TCP connection", reason: "TCP_CONNECTION_LIMIT" });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^hopwire \\[responder\\] warning: "${listener.address.replace(/\./g, "\\.")}" refused a TCP connection from an unauthenticated peer \\(via 127\\.0\\.0\\.1:\\d+\\): it holds its maximum of 5 connections \\(maxConnections\\)`));
    // Room again once one closes.
    raws.find((r) => !r.destroyed && !r.readableEnded)!.destroy();
    await eventually(() => listener.connectionCount === 4, 20_000, "one closed");
    const initiator = await startNode("initiator");
    nodes.push(initiator.node);
    await initiator.tcp.connect(listener.address);
    await eventually(() => listener.connectionCount === 5, 20_000, "accepted again");
  });

  it("a client turned away by a full listener gets ConnectError from connect(), not a connection that is already gone", async () => {
    const responder = await startNode("responder");
    const initiator = await startNode("initiator");
    nodes.push(responder.node, initiator.node);
    const listener = await responder.tcp.listen("127.0.0.1:0", new TcpListenerOptions().withMaxConnections(1));
    const first = await initiator.tcp.connect(listener.address);
    const error = await initiator.tcp.connect(listener.address).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect(error!.message).toMatch(/^Could not connect to 127\.0\.0\.1:\d+: the peer closed the connection before its first frame \(most likely a Hopwire listener at its maxConnections, or maxConnectionsPerHost for this host, which closes new connections at once; else a peer that is stopping or reset the connection\)$/);
    expect(error!.cause).toBeInstanceOf(ConnectionClosedError);
    expect(listener.refusedConnections).toBe(1);
    // The refused one is not kept; the first still works.
    expect(initiator.tcp.connections).toEqual([first]);
    expect(first.state).toBe("open");
  });

  it("maxConnectionsPerHost counts an IPv4 address (also IPv4-mapped) as one host, and an IPv6 address by its /64", () => {
    expect(hostKeyOf("192.0.2.7")).toBe("192.0.2.7");
    expect(hostKeyOf("::ffff:192.0.2.7")).toBe("192.0.2.7");
    // One /64 is one site (and what one attacker holds): its addresses share the allowance.
    for (const ip of ["2001:db8::5", "2001:db8:0:0:ffff::1", "2001:DB8:0000:0000:1:2:3:4", "2001:db8::5%eth0"]) expect(hostKeyOf(ip), ip).toBe("2001:db8:0:0::/64");
    expect(hostKeyOf("2001:db8:0:1::5")).toBe("2001:db8:0:1::/64");
    expect(hostKeyOf("64:ff9b::192.0.2.7")).toBe("64:ff9b:0:0::/64");
  });

  it("one host holds at most maxConnectionsPerHost, so it cannot take every slot: others are still accepted", async () => {
    const { tcp, lines, refused } = await listeningNode();
    const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions().withMaxConnections(10).withMaxConnectionsPerHost(3));
    expect(listener.maxConnectionsPerHost).toBe(3);
    // Five from 127.0.0.1 (Linux routes all of 127.0.0.0/8 to loopback: another source address is another host).
    const fromOne = await Promise.all(Array.from({ length: 5 }, () => rawClient(listener.address)));
    sockets.push(...fromOne);
    for (const r of fromOne) r.write(helloBytes());
    await eventually(() => listener.connectionCount + listener.refusedConnections === 5, 20_000, "every connection accepted or refused");
    expect(listener.connectionsFrom("127.0.0.1")).toBe(3);
    expect(listener.refusedConnections).toBe(2);
    expect(refused[0]).toMatchObject({ listener: listener.address, what: "a TCP connection", reason: "TCP_HOST_CONNECTION_LIMIT" });
    expect(refused[0]!.error).toBeInstanceOf(HostConnectionLimitError);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/it holds its maximum of 3 connections from that host \(maxConnectionsPerHost\)/);
    // Another host still gets in: the listener itself is far from full.
    const other = await rawClient(listener.address, false, "127.0.0.2");
    sockets.push(other);
    other.write(helloBytes());
    await eventually(() => listener.connectionsFrom("127.0.0.2") === 1, 20_000, "the other host accepted");
    // A Hopwire client from the full host is told at connect().
    const initiator = await startNode("initiator");
    nodes.push(initiator.node);
    await expect(initiator.tcp.connect(listener.address)).rejects.toThrow(/maxConnectionsPerHost for this host/);
    // Room again for that host once one of its connections closes.
    fromOne.find((r) => !r.destroyed && !r.readableEnded)!.destroy();
    await eventually(() => listener.connectionsFrom("127.0.0.1") === 2, 20_000, "one closed");
    await initiator.tcp.connect(listener.address);
    expect(listener.connectionsFrom("127.0.0.1")).toBe(3);
  });
});

describe("option validation", () => {
  it("liveness options are validated with InvalidOptionError naming the option", async () => {
    const { InvalidOptionError } = await import("@hopwire/runtime");
    const { createTcpTransport } = await import("@hopwire/transport-tcp");
    const { node } = await import("@hopwire/runtime");
    const n = await node({ name: "n" });
    nodes.push(n);
    for (const [options, pattern] of [
      [{ keepaliveInterval: 0 }, /keepaliveInterval/],
      [{ peerTimeout: -1 }, /peerTimeout/],
      [{ keepaliveInterval: 20_000, peerTimeout: 30_000 }, /at most half of peerTimeout/],
      [{ firstFrameTimeout: 1.5 }, /firstFrameTimeout/],
      [{ idleTimeout: -5 }, /idleTimeout/],
      [{ maxConnections: 0 }, /maxConnections/],
      [{ maxConnectionsPerHost: 1.5 }, /maxConnectionsPerHost/],
      [{ sendHighWaterMark: 2 ** 60 }, /sendHighWaterMark must be a positive integer up to Number\.MAX_SAFE_INTEGER/],
      [{ dialAllowList: "127.0.0.1:1" }, /dialAllowList/],
      [{ dialAllowList: ["nohost"] }, /dialAllowList/],
    ] as const) {
      const error = await createTcpTransport(n, options as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).toMatch(pattern);
    }
    expect(() => new TcpConnectionOptions().withKeepalive(100, 150)).toThrow(InvalidOptionError);
    expect(() => new TcpConnectionOptions().withIdleTimeout(-1)).toThrow(/withIdleTimeout/);
    expect(() => new TcpConnectionOptions().withFirstFrameTimeout(0)).toThrow(/withFirstFrameTimeout/);
    expect(() => new TcpConnectionOptions().withReconnect({ initialDelay: 0 })).toThrow(/initialDelay/);
    expect(() => new TcpConnectionOptions().withReconnect({ initialDelay: 500, maxDelay: 100 })).toThrow(/maxDelay/);
    expect(() => new TcpConnectionOptions().withReconnect({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => new TcpListenerOptions().withMaxConnections(0)).toThrow(/withMaxConnections/);
    expect(() => new TcpListenerOptions().withMaxConnectionsPerHost(0)).toThrow(/withMaxConnectionsPerHost/);
    expect(() => new TcpListenerOptions().withKeepalive(0, 100)).toThrow(/withKeepalive/);
    // A per-connection override is checked against the transport's other setting too.
    const tcp = await createTcpTransport(n, { keepaliveInterval: 100, peerTimeout: 1_000 });
    await expect(tcp.connect("127.0.0.1:1", new TcpConnectionOptions().withKeepalive(600, 1_200))).rejects.toThrow(/ConnectError|connect/i);
    const listenerOptions = new TcpListenerOptions().withIdleTimeout(0).withFirstFrameTimeout(50);
    const listener = await tcp.listen("127.0.0.1:0", listenerOptions);
    expect(listener.liveness).toEqual({ keepaliveInterval: 100, peerTimeout: 1_000, firstFrameTimeout: 50, idleTimeout: 0 });
  });
});
