import { afterEach, describe, expect, it } from "vitest";
import { connect, createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { AbortError, TimeoutError, route, type Node } from "@hopwire/runtime";
import { ConnectError, TransportStoppedError, type TcpTransport } from "@hopwire/transport-tcp";
import { Sink, portOf, startNode, startResponder } from "./support.js";

// connect() resolves once the peer's first frame arrived (liveness.test.ts and bad-input.test.ts
// cover peers that close first or speak another protocol). These cover the wait itself.
const nodes: Node[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function listening(server: Server): Promise<string> {
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A proxy to `to` that holds back what the server says (its first frame too) until `release()`. */
async function heldHelloProxy(to: string): Promise<{ address: string; release: () => void }> {
  let released = false;
  const holds: (() => void)[] = [];
  const server = createServer((client) => {
    const upstream = connect({ host: "127.0.0.1", port: portOf(to) });
    sockets.push(client, upstream);
    client.on("error", () => {});
    upstream.on("error", () => {});
    client.pipe(upstream);
    const held: Buffer[] = [];
    let open = released;
    upstream.on("data", (b: Buffer) => (open ? client.write(b) : held.push(b)));
    holds.push(() => {
      open = true;
      for (const b of held.splice(0)) client.write(b);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  const address = await listening(server);
  return {
    address,
    release: () => {
      released = true;
      for (const h of holds.splice(0)) h();
    },
  };
}

/** Accepts and never writes: a peer whose first frame never comes. */
function silentServer(): Promise<string> {
  return listening(
    createServer((s) => {
      sockets.push(s);
      s.on("error", () => {});
    }),
  );
}

/** Resolves once the transport holds a connection: the socket connected, its first frame awaited. */
async function waitingForFirstFrame(tcp: TcpTransport): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (tcp.connections.length === 0) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the socket to connect");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("connect() waits for the peer's first frame", () => {
  it("a dial on demand keeps the order of messages sent while its first frame is in flight", async () => {
    const responder = await startResponder();
    const sink = new Sink();
    await responder.node.startWorker("sink", sink, { placement: "main" });
    responder.node.flowControls.addConsumer("sink", responder.listener.flowControlId);
    const initiator = await startNode("initiator");
    nodes.push(responder.node, initiator.node);
    const proxy = await heldHelloProxy(responder.listener.address);
    const to = route(`1#${proxy.address}`, "sink");
    await initiator.node.send(to, 0); // queued in the dial
    await waitingForFirstFrame(initiator.tcp); // connected and named, the dial's queue not yet handed over
    // Before, these went straight into the new connection, ahead of 0.
    await initiator.node.send(to, 1);
    await initiator.node.send(to, 2);
    proxy.release();
    await sink.waitFor(3);
    expect(sink.received.map((m) => m.body)).toEqual([0, 1, 2]);
  });

  it("the transport stopping meanwhile rejects it with TransportStoppedError, not a peer's refusal", async () => {
    const initiator = await startNode("initiator");
    nodes.push(initiator.node);
    const connecting = initiator.tcp.connect(await silentServer()).catch((e: unknown) => e as Error);
    await waitingForFirstFrame(initiator.tcp);
    await initiator.tcp.stop();
    expect(await connecting).toBeInstanceOf(TransportStoppedError);
  });

  it("many dials at once make Node print no 'Possible EventTarget memory leak' warning (they share the transport's stop signal)", async () => {
    // 20 relay registrations at once printed it each time (an operator's trial, session 55).
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    try {
      const responder = await startResponder();
      const initiator = await startNode("initiator");
      nodes.push(responder.node, initiator.node);
      const connections = await Promise.all(Array.from({ length: 15 }, () => initiator.tcp.connect(responder.listener.address)));
      expect(connections).toHaveLength(15);
      // Node emits the warning on the next tick after the eleventh listener.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("a server that answers nothing to what the client sent: ConnectError at firstFrameTimeout, saying what a Hopwire peer would have done", async () => {
    const address = await listening(createServer((socket) => void sockets.push(socket.on("error", () => {}))));
    const initiator = await startNode("initiator");
    nodes.push(initiator.node);
    const error = await initiator.tcp.connect(address, { firstFrameTimeout: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toBe(
      `Could not connect to ${address}: The peer ${address} sent no complete first frame within 300 ms ` +
        "(a Hopwire node sends one at once: is the peer one, or a server that answers nothing to what this node sent?)",
    );
    expect(initiator.tcp.connections).toHaveLength(0);
  });

  it("its timeout bounds the wait, names the caller's timeout, and leaves no connection", async () => {
    const initiator = await startNode("initiator");
    nodes.push(initiator.node);
    const error = await initiator.tcp.connect(await silentServer(), { timeout: 500 }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error!.message).toMatch(/^connect to 127\.0\.0\.1:\d+ timed out after 500 ms \(no first frame from the peer\)$/);
    expect(initiator.tcp.connections).toHaveLength(0);
  });

  it("its signal aborts the wait and leaves no connection", async () => {
    const initiator = await startNode("initiator");
    nodes.push(initiator.node);
    const abort = new AbortController();
    const connecting = initiator.tcp.connect(await silentServer(), { signal: abort.signal }).catch((e: unknown) => e as Error);
    await waitingForFirstFrame(initiator.tcp);
    abort.abort();
    expect(await connecting).toBeInstanceOf(AbortError);
    expect(initiator.tcp.connections).toHaveLength(0);
  });
});
