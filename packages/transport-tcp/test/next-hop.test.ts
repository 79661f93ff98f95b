import { afterEach, describe, expect, it } from "vitest";
import { once } from "node:events";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { runToExit } from "../../../test/support/children.js";
import { Relay, TimeoutError, UnknownAddressError, node, route, startRelay, type Context, type DroppedEvent, type Node, type NodeWarning, type Routed, type Worker } from "@hopwire/runtime";
import { ConnectionClosedError, NextHopClosedError, PeerTimeoutError, PROTOCOL_VERSION, TcpConnectionOptions, TcpListenerOptions, createTcpTransport, type TcpConnection } from "@hopwire/transport-tcp";
import { Echoer, startNode, startResponder } from "./support.js";

// The next-hop rule and reconnects, in one process (test/liveness-multiprocess.test.ts
// does the same across real processes with kill -9).
const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/**
 * The seed's three nodes: a responder, a middle whose connection to it reconnects and whose
 * relay "forward_to_bob" (built in, or the Relay worker on its thread) forwards onto that
 * connection from its listener, and an initiator node.
 */
async function relayThroughReconnecting(relay: "startRelay" | "the Relay worker on its thread") {
  const first = await startResponder("responder");
  const address = first.listener.address;
  const middle = await startNode("middle");
  const initiator = await startNode("initiator");
  nodes.push(first.node, middle.node, initiator.node);
  const toBob = await middle.tcp.connect(address, new TcpConnectionOptions().withReconnect({ initialDelay: 20, maxDelay: 200 }));
  if (relay === "startRelay") await startRelay(middle.node, "forward_to_bob", route(toBob));
  else await middle.node.startWorker("forward_to_bob", Relay, { args: [route(toBob)] });
  const listener = await middle.tcp.listen("127.0.0.1:0");
  middle.node.flowControls.addConsumer("forward_to_bob", listener.flowControlId);
  return { first, address, middle, initiator, toBob, listener };
}

/** A responder node again on `address` (the port the first one had), with its echoer. */
async function restartResponder(address: string): Promise<Node> {
  const { node } = await import("@hopwire/runtime");
  const { createTcpTransport } = await import("@hopwire/transport-tcp");
  const again = await node({ name: "responder-again" });
  nodes.push(again);
  await again.startWorker("echoer", new Echoer(), { placement: "main" });
  const relisten = await (await createTcpTransport(again)).listen(address);
  again.flowControls.addConsumer("echoer", relisten.flowControlId);
  return again;
}

/** Waits until `connection` noticed its peer is gone and is trying again. */
async function untilReconnecting(connection: TcpConnection): Promise<void> {
  for (const giveUpAt = Date.now() + 20_000; connection.state !== "reconnecting"; ) {
    if (Date.now() > giveUpAt) throw new Error(`the connection is ${connection.state}, not reconnecting`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A raw TCP server on a free loopback port: `serve` gets each accepted socket (errors
 * ignored) and how many came before it. Closed by the caller.
 */
async function rawServer(serve: (socket: Socket, before: number) => void): Promise<{ server: Server; sockets: Socket[]; port: number }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    socket.on("error", () => {});
    sockets.push(socket);
    serve(socket, sockets.length - 1);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, sockets, port: (server.address() as AddressInfo).port };
}

/** What a Hopwire peer sends first: its version byte and a keepalive. */
const HELLO = Buffer.of(PROTOCOL_VERSION, 0, 0, 0, 0);

class ForwardingHop implements Worker {
  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    const stepped = msg.message.withOnwardRoute(msg.onwardRoute.popFront()).withReturnRoute(msg.returnRoute.prepend(ctx.address));
    await ctx.forward(stepped);
  }
}

describe("when the hop after a relay dies, the relay closes the inbound side", () => {
  it("built-in relay: the responder goes away, the middle closes the initiator's connection at once (NextHopClosedError)", async () => {
    const responder = await startResponder("responder");
    const middle = await startNode("middle");
    const initiator = await startNode("initiator");
    nodes.push(responder.node, middle.node, initiator.node);
    const toBob = await middle.tcp.connect(responder.listener.address);
    await startRelay(middle.node, "forward_to_bob", route(toBob));
    const listener = await middle.tcp.listen("127.0.0.1:0", new TcpListenerOptions());
    middle.node.flowControls.addConsumer("forward_to_bob", listener.flowControlId);
    const toMiddle = await initiator.tcp.connect(listener.address);
    expect(await initiator.node.sendAndReceive(route(toMiddle, "forward_to_bob", "echoer"), "hi")).toBe("hi");
    // A second initiator that never used the relay: its connection is not touched.
    const bystander = await initiator.tcp.connect(listener.address);

    await responder.node.stop();
    const reason = await toMiddle.whenClosed();
    expect(reason.message).toMatch(/closed/);
    const inbound = listener.connections.length === 0 ? undefined : listener.connections.find((c) => c.peer === toMiddle.local);
    expect(inbound).toBeUndefined();
    await middle.log.waitFor(/its next hop .* closed/);
    expect(bystander.state).toBe("open");
    expect(listener.connections.map((c) => c.peer)).toEqual([bystander.local]);
  });

  it("the closed inbound connection's reason names the next hop (cause NextHopClosedError), also behind a Hop that dialled on demand", async () => {
    const responder = await startResponder("responder");
    const middle = await startResponder("middle", { dialAllowList: [responder.listener.address] });
    await middle.node.startWorker("hop", new ForwardingHop(), { placement: "main" });
    middle.node.flowControls.addConsumer("hop", middle.listener.flowControlId);
    const initiator = await startNode("initiator");
    nodes.push(responder.node, middle.node, initiator.node);
    const toMiddle = await initiator.tcp.connect(middle.listener.address);
    expect(await initiator.node.sendAndReceive(route(toMiddle, "hop", `1#${responder.listener.address}`, "echoer"), "hop")).toBe("hop");
    const inbound = middle.listener.connections[0]!;
    const outbound = middle.tcp.connections.find((c) => c.mode === "outgoing")!;
    expect(outbound.fedBy.has(inbound)).toBe(true);

    await responder.node.stop();
    const reason = await inbound.whenClosed();
    expect(reason.cause).toBeInstanceOf(NextHopClosedError);
    expect((reason.cause as NextHopClosedError).code).toBe("TCP_NEXT_HOP_CLOSED");
    await toMiddle.whenClosed();
  });

  it("an inbound connection that also feeds another open outgoing connection stays open", async () => {
    const bob = await startResponder("bob");
    const carol = await startResponder("carol");
    const middle = await startNode("middle");
    const initiator = await startNode("initiator");
    nodes.push(bob.node, carol.node, middle.node, initiator.node);
    await startRelay(middle.node, "to_bob", route(await middle.tcp.connect(bob.listener.address)));
    await startRelay(middle.node, "to_carol", route(await middle.tcp.connect(carol.listener.address)));
    const listener = await middle.tcp.listen("127.0.0.1:0");
    middle.node.flowControls.addConsumer("to_bob", listener.flowControlId);
    middle.node.flowControls.addConsumer("to_carol", listener.flowControlId);
    const toMiddle = await initiator.tcp.connect(listener.address);
    expect(await initiator.node.sendAndReceive(route(toMiddle, "to_bob", "echoer"), 1)).toBe(1);
    expect(await initiator.node.sendAndReceive(route(toMiddle, "to_carol", "echoer"), 2)).toBe(2);
    await bob.node.stop();
    await middle.log.waitFor(/connection to .* closed/);
    expect(await initiator.node.sendAndReceive(route(toMiddle, "to_carol", "echoer"), 3)).toBe(3);
    expect(toMiddle.state).toBe("open");
    // Carol goes too: nothing is left behind the inbound connection, so it closes.
    await carol.node.stop();
    await toMiddle.whenClosed();
  });
});

describe("reconnect", () => {
  it("an outgoing connection withReconnect keeps its address: a relay through it works again once the responder is back", async () => {
    const { first, address, middle, initiator, toBob, listener } = await relayThroughReconnecting("startRelay");
    const before = await initiator.tcp.connect(listener.address);
    expect(await initiator.node.sendAndReceive(route(before, "forward_to_bob", "echoer"), "before")).toBe("before");
    const senderAddress = toBob.address.toString();

    await first.node.stop();
    // The initiator learns at once (next-hop rule), and the middle keeps trying.
    await before.whenClosed();
    expect(toBob.isClosed).toBe(false);

    // The responder restarts on the same port.
    await restartResponder(address);

    await toBob.whenConnected({ timeout: 20_000 });
    expect(toBob.state).toBe("open");
    expect(toBob.reconnects).toBe(1);
    expect(toBob.address.toString()).toBe(senderAddress);
    const after = await initiator.tcp.connect(listener.address);
    expect(await initiator.node.sendAndReceive(route(after, "forward_to_bob", "echoer"), "after")).toBe("after");
    // stop() ends it for good.
    await toBob.stop();
    expect(toBob.state).toBe("closed");
    await toBob.whenClosed();
  });

  for (const relay of ["startRelay", "the Relay worker on its thread"] as const) {
    it(`a connection that first reaches the relay while its next hop reconnects is answered once the hop is back (${relay})`, async () => {
      const { first, address, middle, initiator, toBob, listener } = await relayThroughReconnecting(relay);

      await first.node.stop();
      await untilReconnecting(toBob);
      // A new connection (an initiator that reconnected, say) reaches the relay during the outage.
      const during = await initiator.tcp.connect(listener.address);
      // startRelay reports the message it could not pass on as "dropped"; the Relay worker's
      // forward rejects, and its handler's error is reported.
      const failed = new Promise((resolve) => {
        middle.node.once("dropped", resolve);
        middle.node.once("handler-error", resolve);
      });
      await initiator.node.send(route(during, "forward_to_bob", "echoer"), "during the outage");
      await failed; // the relay has seen this connection, with nowhere to send its message

      await restartResponder(address);
      await toBob.whenConnected({ timeout: 20_000 });

      // The same connection is answered again (the Relay worker looks its flows up again
      // within 100 ms; a request sent before that may go unanswered, as during the outage).
      const deadline = Date.now() + 20_000;
      let reply: unknown;
      while (reply === undefined) {
        try {
          reply = await initiator.node.sendAndReceive(route(during, "forward_to_bob", "echoer"), "after", { timeout: 1_000 });
        } catch (error) {
          if (!(error instanceof TimeoutError) || Date.now() > deadline) throw error;
        }
      }
      expect(reply).toBe("after");
    }, 60_000);
  }

  it("a message sent to a connection that closed or is reconnecting is refused with a reason that says so, not only an unknown address", async () => {
    const responder = await startResponder("responder");
    const local = await startNode("local");
    nodes.push(responder.node, local.node);
    const reconnecting = await local.tcp.connect(responder.listener.address, new TcpConnectionOptions().withReconnect({ initialDelay: 60_000 }));
    const plain = await local.tcp.connect(responder.listener.address);
    await responder.node.stop();
    await plain.whenClosed();
    await untilReconnecting(reconnecting);
    const refusal = (connection: TcpConnection) => local.node.send(route(connection, "echoer"), "x").then(() => undefined, (e: unknown) => e as Error);
    const closed = await refusal(plain);
    expect(closed).toBeInstanceOf(UnknownAddressError);
    expect(closed!.message).toMatch(/\(it went away: .*closed the connection\)$/);
    const meanwhile = await refusal(reconnecting);
    expect(meanwhile).toBeInstanceOf(UnknownAddressError);
    expect(meanwhile!.message).toContain("it is reconnecting (connection.whenConnected() waits for it)");
    await reconnecting.stop();
  });

  it('a relay whose connection closed warns that it went away and why, not that a reply came late', async () => {
    const responder = await startResponder("responder");
    const lines: string[] = [];
    const warnings: NodeWarning[] = [];
    const middle = await node({ name: "middle", warnings: (line, warning) => (lines.push(line), warnings.push(warning)) });
    nodes.push(responder.node, middle);
    const tcp = await createTcpTransport(middle);
    const toResponder = await tcp.connect(responder.listener.address);
    await startRelay(middle, "forward", route(toResponder));
    await responder.node.stop();
    await toResponder.whenClosed();
    const dropped = new Promise<DroppedEvent>((resolve) => middle.once("dropped", resolve));
    await expect(middle.send("forward", "x")).rejects.toBeInstanceOf(UnknownAddressError);
    const event = await dropped;
    expect(event).toMatchObject({ address: toResponder.address.key, from: "forward", reason: "unknown-address" });
    expect(event.gone).toMatch(/closed the connection/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/went away \(.*closed the connection\) and nothing has its address now/);
    expect(lines[0]).not.toContain("likely a reply");
    expect(warnings[0]).toMatchObject({ kind: "dropped", gone: event.gone });
  });

  it("a program whose only work is await whenConnected() waits for the reconnect instead of exiting in between", async () => {
    const script = fileURLToPath(new URL("./fixtures/when-connected-child.mjs", import.meta.url));
    const { code, stdout, stderr } = await runToExit([script], { timeoutMs: 60_000 });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("reconnected open");
  }, 90_000);

  it("gives up after maxAttempts; whenClosed then resolves and whenConnected rejects", async () => {
    const responder = await startResponder("responder");
    const middle = await startNode("middle");
    nodes.push(responder.node, middle.node);
    const toBob = await middle.tcp.connect(responder.listener.address, new TcpConnectionOptions().withReconnect({ initialDelay: 10, maxDelay: 20, maxAttempts: 2 }));
    await responder.node.stop();
    const reason = await toBob.whenClosed();
    expect(reason.message).toMatch(/Gave up reconnecting .* after 2 attempt/);
    expect(toBob.state).toBe("closed");
    await expect(toBob.whenConnected()).rejects.toBe(reason);
    expect(middle.tcp.connections).toHaveLength(0);
  });

  it("a peer timeout also triggers a reconnect (the dead socket is dropped, not kept)", async () => {
    // A responder whose peer timeout is long never answers keepalives... simulated by a
    // raw server that accepts, sends a first frame, then stays silent.
    const { server, sockets, port } = await rawServer((socket) => (socket.write(HELLO), socket.resume()));
    try {
      const middle = await startNode("middle", { keepaliveInterval: 50, peerTimeout: 300 });
      nodes.push(middle.node);
      const toSilent = await middle.tcp.connect(`127.0.0.1:${port}`, new TcpConnectionOptions().withReconnect({ initialDelay: 20, maxDelay: 100 }));
      const down = new Promise<unknown>((resolve) => middle.node.router.watchHop(toSilent.address, (error) => resolve(error.cause)));
      const cause = (await down) as { cause?: unknown };
      expect(cause.cause).toBeInstanceOf(PeerTimeoutError);
      await toSilent.whenConnected({ timeout: 20_000 });
      expect(sockets.length).toBeGreaterThanOrEqual(2);
      await toSilent.stop();
    } finally {
      server.close();
    }
  });

  it("reconnects to a peer that closes every new socket before its first frame (a full listener) back off and give up after maxAttempts", async () => {
    // The first socket is served; every later one is closed at once, as a full listener does.
    const { server, sockets, port } = await rawServer((socket, before) => (before === 0 ? socket.write(HELLO) : socket.destroy()));
    try {
      const middle = await startNode("middle");
      nodes.push(middle.node);
      const connection = await middle.tcp.connect(`127.0.0.1:${port}`, new TcpConnectionOptions().withReconnect({ initialDelay: 20, maxDelay: 100, maxAttempts: 3 }));
      sockets[0]!.destroy();
      // Each silent socket continues the backoff: before, each one started it over, and the connection redialled for ever.
      const reason = await connection.whenClosed();
      expect(reason.message).toMatch(/^Gave up reconnecting to 127\.0\.0\.1:\d+ after 3 attempt\(s\)$/);
      expect(connection.state).toBe("closed");
      expect(sockets).toHaveLength(4);
    } finally {
      server.close();
    }
  });

  it("whenConnected() of a reconnecting connection waits for a socket whose peer speaks, not one that is closed at once", async () => {
    // Served, then closed at once (a full listener), then served again.
    const { server, sockets, port } = await rawServer((socket, before) => (before === 1 ? socket.destroy() : (socket.write(HELLO), socket.resume())));
    try {
      const middle = await startNode("middle");
      nodes.push(middle.node);
      const connection = await middle.tcp.connect(`127.0.0.1:${port}`, new TcpConnectionOptions().withReconnect({ initialDelay: 20, maxDelay: 100 }));
      const down = new Promise<void>((resolve) => middle.node.router.watchHop(connection.address, () => resolve()));
      sockets[0]!.destroy();
      await down;
      await connection.whenConnected({ timeout: 20_000 });
      // Before, it resolved as the second socket connected, which the peer then closed.
      expect(sockets).toHaveLength(3);
      expect(connection.state).toBe("open");
    } finally {
      server.close();
    }
  });

  it("a hop watcher sees the state the connection goes to: reconnecting (whenConnected waits for the next socket), closed (it rejects), and stop() from it ends a reconnect for good", async () => {
    // The protocol version and a first keepalive, then silence.
    const { server, sockets, port } = await rawServer((socket) => (socket.write(HELLO), socket.resume()));
    const accepted = async (n: number): Promise<void> => {
      while (sockets.length < n) await once(server, "connection");
    };
    try {
      const middle = await startNode("middle");
      nodes.push(middle.node);
      const connection = await middle.tcp.connect(`127.0.0.1:${port}`, new TcpConnectionOptions().withReconnect({ initialDelay: 20, maxDelay: 100 }));
      await accepted(1);
      const watch = <T>(inWatcher: () => T): Promise<T> =>
        new Promise<T>((resolve) => middle.node.router.watchHop(connection.address, () => resolve(inWatcher())));

      // The peer drops the socket: the watcher sees "reconnecting", and its whenConnected waits for the next socket.
      let seen = watch(() => ({ state: connection.state, back: connection.whenConnected({ timeout: 20_000 }) }));
      sockets[0]!.destroy();
      const first = await seen;
      expect(first.state).toBe("reconnecting");
      await first.back;
      expect(connection.reconnects).toBe(1);
      expect(sockets).toHaveLength(2);

      // A watcher that stops the reconnecting connection: it stays closed (no reconnect scheduled after).
      const stopped = watch(() => {
        void connection.stop();
        return connection.state;
      });
      sockets[1]!.destroy();
      expect(await stopped).toBe("closed");
      await connection.whenClosed();
      expect(connection.state).toBe("closed");

      // Closed for good: a watcher of a connection that is not reconnecting sees "closed", and whenConnected rejects.
      const plain = await middle.tcp.connect(`127.0.0.1:${port}`);
      await accepted(3);
      const closing = new Promise<{ state: string; back: Promise<void> }>((resolve) =>
        middle.node.router.watchHop(plain.address, () => resolve({ state: plain.state, back: plain.whenConnected() })),
      );
      sockets[2]!.destroy();
      const last = await closing;
      expect(last.state).toBe("closed");
      await expect(last.back).rejects.toBeInstanceOf(ConnectionClosedError);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});
