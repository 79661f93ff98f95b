import { afterEach, describe, expect, it } from "vitest";
import { AbortError, InvalidAddressError, LocalMessage, RouteUnavailableError, UnknownTransportError, encodeBody, route, type Node } from "@hopwire/runtime";
import { ConnectError, FrameTooLargeError, ListenError, MAX_FRAME_LENGTH, TcpConnection, createTcpTransport } from "@hopwire/transport-tcp";
import { Sink, portOf, startNode, startResponder } from "./support.js";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function pair() {
  const responder = await startResponder();
  const initiator = await startNode("initiator");
  nodes.push(responder.node, initiator.node);
  return { responder, initiator };
}

/** A pair whose responder has a main-placed Sink at "sink", reachable over the listener, and the initiator's connection to it. */
async function pairWithSink() {
  const { responder, initiator } = await pair();
  const sink = new Sink();
  await responder.node.startWorker("sink", sink, { placement: "main" });
  responder.node.flowControls.addConsumer("sink", responder.listener.flowControlId);
  const connection = await initiator.tcp.connect(responder.listener.address);
  return { responder, initiator, sink, connection };
}

describe("TcpTransport: listen and connect", () => {
  it("binds port 0 to a real port and round-trips through route(connection, 'echoer')", async () => {
    const { responder, initiator } = await pair();
    expect(responder.listener.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(portOf(responder.listener.address)).toBeGreaterThan(0);
    const connection = await initiator.tcp.connect(responder.listener.address);
    expect(connection).toBeInstanceOf(TcpConnection);
    expect(connection.address.isLocal).toBe(true);
    expect(connection.peer).toBe(responder.listener.address);
    expect(connection.mode).toBe("outgoing");
    expect(route(connection, "echoer").toString()).toBe(`0#${connection.address.value} => 0#echoer`);
    expect(await initiator.node.sendAndReceive(route(connection, "echoer"), "Hello Ockam!")).toBe("Hello Ockam!");
    expect(responder.listener.connections).toHaveLength(1);
    expect(responder.listener.connections[0]!.mode).toBe("incoming");
  });

  it("resolves hostnames: localhost", async () => {
    const { responder, initiator } = await pair();
    const connection = await initiator.tcp.connect(`localhost:${portOf(responder.listener.address)}`);
    expect(await initiator.node.sendAndReceive(route(connection, "echoer"), { hello: "localhost" })).toEqual({ hello: "localhost" });
  });

  it("is one transport per node", async () => {
    const { initiator } = await pair();
    expect(await createTcpTransport(initiator.node)).toBe(initiator.tcp);
  });

  it("keeps order and carries payloads up to the 16 MiB frame limit", async () => {
    const { responder, initiator, sink, connection } = await pairWithSink();
    for (let i = 0; i < 2000; i++) await initiator.node.send(route(connection, "sink"), i);
    await sink.waitFor(2000);
    expect(sink.received.map((m) => m.body)).toEqual([...Array(2000).keys()]);

    const big = Buffer.alloc(MAX_FRAME_LENGTH - 1024, 0x5a);
    await initiator.node.send(route(connection, "sink"), big);
    await sink.waitFor(2001);
    expect((sink.received[2000]!.body as Buffer).equals(big)).toBe(true);
    // The return route starts with the responder's side of the connection.
    const accepted = responder.listener.connections[0]!;
    expect(sink.received[0]!.returnRoute.addresses[0]!.equals(accepted.address)).toBe(true);
  });

  it("carries no local info: a message forwarded with local info arrives on the next node with none", async () => {
    const { initiator, sink, connection } = await pairWithSink();
    const message = new LocalMessage(route(connection, "sink"), route(initiator.node.address), encodeBody("forwarded"), { tenant: "own" });
    await initiator.node.forward(message);
    await initiator.node.forward(message, { localInfo: { tenant: "given" } });
    await sink.waitFor(2);
    // Local info never leaves its node: network envelopes have no room for it.
    expect(sink.received.map((m) => [m.body, m.localInfo])).toEqual([
      ["forwarded", {}],
      ["forwarded", {}],
    ]);
  });

  it("refuses a message over 16 MiB with FrameTooLargeError to its sender; the connection stays usable", async () => {
    const { responder, initiator } = await pair();
    const connection = await initiator.tcp.connect(responder.listener.address);
    const refused = await initiator.node.send(route(connection, "echoer"), Buffer.alloc(MAX_FRAME_LENGTH)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FrameTooLargeError);
    expect((refused as Error).message).toMatch(/maximum 16777216 bytes\): send it in smaller messages, or as a byte stream through a portal$/);
    expect(await initiator.node.sendAndReceive(route(connection, "echoer"), "still here")).toBe("still here");
  });

  it("fails to connect with ConnectError, and to listen on a taken port with ListenError", async () => {
    const { responder, initiator } = await pair();
    const port = portOf(responder.listener.address);
    await responder.listener.stop();
    const refused = await initiator.tcp.connect(`127.0.0.1:${port}`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe("TCP_CONNECT_FAILED");
    const other = await responder.tcp.listen("127.0.0.1:0");
    await expect(responder.tcp.listen(other.address)).rejects.toBeInstanceOf(ListenError);
    await expect(initiator.tcp.connect("no-such-host.invalid:80")).rejects.toBeInstanceOf(ConnectError);
  });

  it("takes an AbortSignal and checks addresses", async () => {
    const { responder, initiator } = await pair();
    await expect(initiator.tcp.connect(responder.listener.address, undefined, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    await expect(initiator.tcp.listen("127.0.0.1:0", undefined, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(initiator.tcp.connections).toHaveLength(0);
    // "my host:80" too, up front (the runtime's grammar: a name, an IPv4 or a bracketed IPv6 host), not a ConnectError after a DNS lookup.
    for (const bad of ["127.0.0.1", "127.0.0.1:", ":80", "host:99999", "host:0", "::1:80", "2#host:80", "my host:80", "[nope]:80"]) {
      await expect(initiator.tcp.connect(bad), bad).rejects.toBeInstanceOf(InvalidAddressError);
    }
    // What is missing is said: a lone port has no host (it said "no port"), a lone host no port.
    await expect(initiator.tcp.connect("5432")).rejects.toThrow('connect address "5432" has no host: write "host:port", e.g. "127.0.0.1:5432"');
    await expect(initiator.tcp.connect("localhost")).rejects.toThrow('connect address "localhost" has no port: write "host:port", e.g. "localhost:4000"');
    await expect(initiator.tcp.connect("127.0.0.1:0")).rejects.toThrow('connect address "127.0.0.1:0" has an invalid port 0: expected a port from 1 to 65535');
    const controller = new AbortController();
    const pending = initiator.tcp.connect(responder.listener.address, undefined, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
  });

  it("listens on IPv6 loopback and reports the bracketed address", async () => {
    const { initiator } = await pair();
    const listener = await initiator.tcp.listen("[::1]:0").catch(() => undefined);
    if (!listener) return; // no IPv6 loopback on this machine
    expect(listener.address).toMatch(/^\[::1\]:\d+$/);
    const connection = await initiator.tcp.connect(listener.address);
    expect(connection.peer).toBe(listener.address);
  });
});

describe("TcpTransport: routes through '1#host:port'", () => {
  it("connects on demand, then reuses the connection", async () => {
    const { responder, initiator } = await pair();
    const to = `1#${responder.listener.address}`;
    expect(await initiator.node.sendAndReceive(route(to, "echoer"), "on demand")).toBe("on demand");
    expect(await initiator.node.sendAndReceive(route(to, "echoer"), "again")).toBe("again");
    // Many messages while the connection is being made all wait for it, in order.
    const replies = await Promise.all([1, 2, 3].map((i) => initiator.node.sendAndReceive(route(to, "echoer"), i)));
    expect(replies).toEqual([1, 2, 3]);
    expect(initiator.tcp.connections).toHaveLength(1);
    expect(responder.listener.connections).toHaveLength(1);
  });

  it("reuses an explicit connection to the same address", async () => {
    const { responder, initiator } = await pair();
    const connection = await initiator.tcp.connect(responder.listener.address);
    expect(await initiator.node.sendAndReceive(route(`1#${responder.listener.address}`, "echoer"), "reused")).toBe("reused");
    expect(initiator.tcp.connections).toEqual([connection]);
  });

  it("fails a pending request fast when the on-demand connection cannot be made", async () => {
    const { responder, initiator } = await pair();
    const address = responder.listener.address;
    await responder.listener.stop();
    const started = Date.now();
    const error = await initiator.node.sendAndReceive(route(`1#${address}`, "echoer"), "x", { timeout: 4_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouteUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(ConnectError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("is unregistered when the transport stops", async () => {
    const { responder, initiator } = await pair();
    await initiator.tcp.stop();
    await expect(initiator.node.send(route(`1#${responder.listener.address}`, "echoer"), "x")).rejects.toBeInstanceOf(UnknownTransportError);
  });
});
