// A stop that resolves has released the node's TCP handles: none is left closing behind it.
// process.getActiveResourcesInfo() lists a handle until libuv has closed it, and the server's
// "close" event came a turn before that, so the TCPServerWrap outlived `await node.stop()`.
import type { Socket } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Node } from "@hopwire/runtime";
import type { TcpListener, TcpTransport } from "@hopwire/transport-tcp";
import { eventually } from "../../../test/support/eventually.js";
import { rawClient, startResponder } from "./support.js";

/** The TCP handles that keep this process alive now, by kind. */
function tcpHandles(): Record<string, number> {
  const counts: Record<string, number> = { TCPServerWrap: 0, TCPSocketWrap: 0 };
  for (const kind of process.getActiveResourcesInfo()) if (kind in counts) counts[kind]!++;
  return counts;
}

const stops: Record<string, (r: { node: Node; tcp: TcpTransport; listener: TcpListener }) => Promise<void>> = {
  "node.stop()": (r) => r.node.stop(),
  "tcp.stop()": (r) => r.tcp.stop(),
  "listener.stop()": (r) => r.listener.stop(),
};

const nodes: Node[] = [];
const clients: Socket[] = [];
let baseline: Record<string, number>;
beforeAll(() => {
  baseline = tcpHandles();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  // A test that failed left its handles closing: the next one starts from none of them.
  await eventually(() => JSON.stringify(tcpHandles()) === JSON.stringify(baseline), 5_000, "the test's TCP handles released");
});

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
