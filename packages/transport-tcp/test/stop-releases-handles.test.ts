// A stop that resolves has released the node's TCP handles: none is left closing behind it,
// nor opened after it by a listen() or connect() that was in progress.
// process.getActiveResourcesInfo() lists a handle until libuv has closed it, and the server's
// "close" event came a turn before that, so the TCPServerWrap outlived `await node.stop()`.
import { createServer, type AddressInfo, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import type { Node } from "@hopwire/runtime";
import { TransportStoppedError, type TcpListener, type TcpTransport } from "@hopwire/transport-tcp";
import { eventually } from "../../../test/support/eventually.js";
import { endEachTestsHandles, tcpHandles } from "../../../test/support/tcp-handles.js";
import { rawClient, startNode, startResponder } from "./support.js";

const stops: Record<string, (r: { node: Node; tcp: TcpTransport; listener: TcpListener }) => Promise<void>> = {
  "node.stop()": (r) => r.node.stop(),
  "tcp.stop()": (r) => r.tcp.stop(),
  "listener.stop()": (r) => r.listener.stop(),
};

const { nodes, clients, servers } = endEachTestsHandles();

/** A responder node whose listener has accepted `accepted` connections (0 or 1) from a raw client of this test. */
async function responderWith(accepted: number): Promise<Awaited<ReturnType<typeof startResponder>>> {
  const responder = await startResponder();
  nodes.push(responder.node);
  if (accepted === 1) {
    const client = await rawClient(responder.listener.address);
    clients.push(client);
    // The test's own end is not the node's: unref'd, it is not listed.
    client.unref();
    await eventually(() => responder.listener.connections.length === 1, 5_000, "the listener's accepted connection");
  }
  return responder;
}

describe("stopping releases the node's TCP handles before it resolves", () => {
  for (const [stop, run] of Object.entries(stops)) {
    for (const accepted of [0, 1]) {
      it(`${stop} with ${accepted} accepted connection${accepted === 1 ? "" : "s"}: no TCPServerWrap or TCPSocketWrap of the node is left`, async () => {
        const before = tcpHandles();
        const responder = await responderWith(accepted);
        expect(tcpHandles()).not.toEqual(before);
        await run(responder);
        // At once: not a turn later.
        expect(tcpHandles()).toEqual(before);
      });
    }
  }
});

describe("a transport's stop waits for the listeners it did not stop itself", () => {
  // A listener whose own stop was under way was no longer the transport's: tcp.stop() and
  // node.stop() resolved with its server (and its accepted socket) still closing.
  for (const stop of ["node.stop()", "tcp.stop()"] as const) {
    for (const accepted of [0, 1]) {
      it(`${stop} after listener.stop() began, with ${accepted} accepted connection${accepted === 1 ? "" : "s"}`, async () => {
        const before = tcpHandles();
        const responder = await responderWith(accepted);
        const listenerStopped = responder.listener.stop();
        await stops[stop]!(responder);
        expect(tcpHandles()).toEqual(before);
        await listenerStopped;
      });
    }
  }
});

/**
 * A server on 127.0.0.1:0 that accepts and never speaks, not counted (unref'd, as is every
 * socket it accepts): only the node's socket to it is. `accepted()`: how many it accepted.
 */
async function silentServer(): Promise<{ address: string; accepted: () => number }> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.unref();
    socket.on("error", () => {});
  });
  servers.push({ server, sockets });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, accepted: () => accepted };
}

const transportStops: Record<string, (r: { node: Node; tcp: TcpTransport }) => Promise<void>> = {
  "tcp.stop()": (r) => r.tcp.stop(),
  "node.stop()": (r) => r.node.stop(),
};

/** Expects `operation` to reject with the transport's TransportStoppedError. */
async function expectStopped(operation: Promise<unknown>): Promise<void> {
  const error = await operation.then(
    () => new Error("it resolved"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TransportStoppedError);
  expect((error as TransportStoppedError).code).toBe("TCP_TRANSPORT_STOPPED");
}

/**
 * Runs `stop` while `operation` is in progress: the moment the stop resolves, the operation has
 * settled and the TCP handles are back to `before`; it rejected with TransportStoppedError.
 */
async function stopDuring(operation: Promise<unknown>, stop: () => Promise<void>, before: Record<string, number>): Promise<void> {
  let settled = false;
  void operation.catch(() => {}).finally(() => (settled = true));
  await stop();
  expect(settled, "the operation had settled").toBe(true);
  expect(tcpHandles()).toEqual(before);
  await expectStopped(operation);
}

describe("a listen() or connect() in progress when the transport stops: the stop waits for it, and it rejects", () => {
  for (const [stop, run] of Object.entries(transportStops)) {
    it(`${stop} during listen("127.0.0.1:0"): no TCPServerWrap is left, and the listen rejects with TransportStoppedError`, async () => {
      const before = tcpHandles();
      const r = await startNode("racer");
      nodes.push(r.node);
      const listening = r.tcp.listen("127.0.0.1:0");
      // Judged below, once the stop resolved. A host makes listen() look it up first (even an
      // IP, for a tick): the server binds after that, so the stop must wait for the listen
      // itself, not merely find no handle yet.
      await stopDuring(listening, () => run(r), before);
      expect(r.tcp.listeners).toEqual([]);
    });

    it(`${stop} during connect()'s dial: no TCPSocketWrap is left, and the connect rejects with TransportStoppedError`, async () => {
      const before = tcpHandles();
      const server = await silentServer();
      const r = await startNode("racer");
      nodes.push(r.node);
      const connecting = r.tcp.connect(server.address);
      await stopDuring(connecting, () => run(r), before);
      expect(r.tcp.connections).toEqual([]);
    });

    it(`${stop} while connect() waits for the peer's first frame: no TCPSocketWrap is left, and the connect rejects with TransportStoppedError`, async () => {
      const before = tcpHandles();
      const server = await silentServer();
      const r = await startNode("racer");
      nodes.push(r.node);
      const connecting = r.tcp.connect(server.address);
      await eventually(() => server.accepted() === 1 && r.tcp.connections.length === 1, 5_000, "the dial done, the peer silent");
      await stopDuring(connecting, () => run(r), before);
    });
  }
});
