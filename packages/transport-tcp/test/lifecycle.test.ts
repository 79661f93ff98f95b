import { afterEach, describe, expect, it } from "vitest";
import { connect } from "node:net";
import { once } from "node:events";
import { RouteUnavailableError, UnknownAddressError, route, type Node } from "@hopwire/runtime";
import { ConnectionClosedError, PROTOCOL_VERSION, TransportStoppedError } from "@hopwire/transport-tcp";
import { Sink, closed, portOf, rawClient, startNode, startResponder } from "./support.js";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function pairWithSilentWorker() {
  const responder = await startResponder();
  const initiator = await startNode("initiator");
  nodes.push(responder.node, initiator.node);
  // A consumer that never replies, so that a request through the connection stays pending.
  await responder.node.startWorker("silent", new Sink(), { placement: "main" });
  responder.node.flowControls.addConsumer("silent", responder.listener.flowControlId);
  const connection = await initiator.tcp.connect(responder.listener.address);
  return { responder, initiator, connection };
}

describe("connection lifecycle", () => {
  it("when the peer closes, a pending sendAndReceive fails fast with RouteUnavailableError caused by ConnectionClosedError", async () => {
    const { responder, initiator, connection } = await pairWithSilentWorker();
    const started = Date.now();
    const pending = initiator.node.sendAndReceive(route(connection, "silent"), "hello?", { timeout: 10_000 }).catch((e: unknown) => e);
    await responder.log.waitFor(/incoming connection/);
    await responder.listener.connections[0]!.stop();
    const error = await pending;
    expect(error).toBeInstanceOf(RouteUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(ConnectionClosedError);
    expect(((error as Error).cause as ConnectionClosedError).code).toBe("TCP_CONNECTION_CLOSED");
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(connection.isClosed).toBe(true);
    expect(connection.closedReason).toBeInstanceOf(ConnectionClosedError);
    // Later sends to the gone connection: the router no longer knows its address.
    await expect(initiator.node.send(route(connection, "echoer"), "late")).rejects.toBeInstanceOf(UnknownAddressError);
    expect(initiator.tcp.connections).toHaveLength(0);
    await expect(connection.waitForDrain()).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it("stopping a connection locally fails its own pending requests the same way", async () => {
    const { initiator, connection } = await pairWithSilentWorker();
    const pending = initiator.node.sendAndReceive(route(connection, "silent"), "x").catch((e: unknown) => e);
    await connection.stop();
    const error = await pending;
    expect(error).toBeInstanceOf(RouteUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(ConnectionClosedError);
  });

  it("when the peer's process dies (reset), the connection closes", async () => {
    const { responder } = await pairWithSilentWorker();
    const raw = await rawClient(responder.listener.address);
    raw.write(Buffer.of(PROTOCOL_VERSION));
    await responder.log.waitFor(new RegExp(`incoming connection .*<-> 127\\.0\\.0\\.1:${raw.localPort}`));
    const accepted = responder.listener.connections.find((c) => c.peer.endsWith(`:${raw.localPort}`))!;
    raw.resetAndDestroy();
    const reason = await accepted.whenClosed();
    expect(reason).toBeInstanceOf(ConnectionClosedError);
    expect(responder.listener.connections.includes(accepted)).toBe(false);
  });

  it("stopping a listener closes the connections it accepted, and only those", async () => {
    const responder = await startResponder();
    const initiator = await startNode("initiator");
    nodes.push(responder.node, initiator.node);
    const other = await responder.tcp.listen("127.0.0.1:0");
    responder.node.flowControls.addConsumer("echoer", other.flowControlId);
    const viaFirst = await initiator.tcp.connect(responder.listener.address);
    const viaOther = await initiator.tcp.connect(other.address);
    await responder.listener.stop();
    await viaFirst.whenClosed();
    expect(responder.tcp.listeners).toEqual([other]);
    expect(await initiator.node.sendAndReceive(route(viaOther, "echoer"), "other")).toBe("other");
    // The port no longer accepts.
    const socket = connect({ host: "127.0.0.1", port: portOf(responder.listener.address) });
    const [error] = (await once(socket, "error")) as [NodeJS.ErrnoException];
    expect(error.code).toBe("ECONNREFUSED");
  });

  it("node.stop() closes every socket and server of the node", async () => {
    const responder = await startResponder();
    const initiator = await startNode("initiator");
    nodes.push(initiator.node);
    const connection = await initiator.tcp.connect(responder.listener.address);
    const raw = await rawClient(responder.listener.address);
    const outgoing = await responder.tcp.connect(responder.listener.address);
    await responder.node.stop();
    await Promise.all([connection.whenClosed(), closed(raw), outgoing.whenClosed()]);
    expect(responder.tcp.isStopped).toBe(true);
    expect(responder.tcp.connections).toHaveLength(0);
    expect(responder.tcp.listeners).toHaveLength(0);
    await expect(responder.tcp.connect(responder.listener.address)).rejects.toBeInstanceOf(TransportStoppedError);
    const socket = connect({ host: "127.0.0.1", port: portOf(responder.listener.address) });
    const [error] = (await once(socket, "error")) as [NodeJS.ErrnoException];
    expect(error.code).toBe("ECONNREFUSED");
  });
});
