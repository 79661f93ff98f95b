// A portal's stop that resolves has released its TCP handles: none is left closing behind it.
// process.getActiveResourcesInfo() lists a handle until libuv has closed it; the inlet's server
// "close" event comes a turn before that.
import { connect, type Socket } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { node, route, toAddress, type Address, type Mailbox, type Node } from "@hopwire/runtime";
import { createInlet, type Inlet } from "@hopwire/portal";
import { eventually } from "../../../test/support/eventually.js";

/** The TCP handles that keep this process alive now, by kind. */
function tcpHandles(): Record<string, number> {
  const counts: Record<string, number> = { TCPServerWrap: 0, TCPSocketWrap: 0 };
  for (const kind of process.getActiveResourcesInfo()) if (kind in counts) counts[kind]!++;
  return counts;
}

/** Swallows whatever reaches it: an "outlet" that never answers, so an inlet's stream waits for OPENED. */
class Silent implements Mailbox {
  readonly address: Address = toAddress("outlet");
  deliver(): void {}
}

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

async function startNode(): Promise<Node> {
  const n = await node({ name: "portal" });
  nodes.push(n);
  return n;
}

/** A client of 127.0.0.1:`port` that the test holds: unref'd, so that only the node's end of it is listed. */
async function client(port: number): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  clients.push(socket);
  socket.on("error", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.unref();
  return socket;
}

const inletStops: Record<string, (r: { node: Node; inlet: Inlet }) => Promise<void>> = {
  "inlet.stop()": (r) => r.inlet.stop(),
  "node.stop()": (r) => r.node.stop(),
  // The inlet's stop hook goes only once its stop is done: node.stop() waits for it meanwhile.
  "inlet.stop() not awaited, then node.stop()": (r) => {
    void r.inlet.stop();
    return r.node.stop();
  },
};

describe("an inlet's stop releases its server and its clients' sockets before it resolves", () => {
  for (const [stop, run] of Object.entries(inletStops)) {
    for (const accepted of [0, 1]) {
      it(`${stop} with ${accepted} accepted client${accepted === 1 ? "" : "s"}: no TCPServerWrap or TCPSocketWrap of the inlet is left`, async () => {
        const before = tcpHandles();
        const n = await startNode();
        const silent = new Silent();
        n.router.register([silent.address], silent);
        const inlet = await createInlet(n, { listen: "127.0.0.1:0", route: route("outlet") });
        if (accepted === 1) {
          await client(inlet.port);
          await eventually(() => inlet.activeStreams === 1, 5_000, "the inlet's stream for the client");
        }
        expect(tcpHandles()).not.toEqual(before);
        await run({ node: n, inlet });
        // At once: not a turn later.
        expect(tcpHandles()).toEqual(before);
      });
    }
  }
});
