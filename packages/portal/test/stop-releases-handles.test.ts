// A portal's stop that resolves has released its TCP handles: none is left closing behind it.
// process.getActiveResourcesInfo() lists a handle until libuv has closed it; the inlet's server
// "close" event, and a reset socket's release, come a turn before that.
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Address, LocalMessage, node, NodeStoppedError, route, toAddress, type Mailbox, type Node } from "@hopwire/runtime";
import { createInlet, createOutlet, Inlet, type Outlet } from "@hopwire/portal";
import { decodePortalMessage, encodeOpen, KIND } from "../dist/protocol/index.js";
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

/** An inlet's stream by hand, on the outlet's node: sends OPEN to "outlet" and notes its OPENED. */
class Opener implements Mailbox {
  readonly address = Address.random();
  opened = false;

  constructor(n: Node) {
    n.router.register([this.address], this);
    n.router.route(new LocalMessage(route("outlet"), route(this.address), encodeOpen(64 * 1024, "")), this.address.key);
  }

  deliver(message: LocalMessage): void {
    if (decodePortalMessage(message.payload)?.kind === KIND.OPENED) this.opened = true;
  }
}

const nodes: Node[] = [];
const clients: Socket[] = [];
const servers: Server[] = [];
let baseline: Record<string, number>;
beforeAll(() => {
  baseline = tcpHandles();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
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

/** A target for an outlet, not listed (unref'd, as is every socket it accepts): only the outlet's socket to it is. */
async function unlistedTarget(): Promise<string> {
  const server = createServer((socket) => {
    socket.unref();
    socket.on("error", () => {});
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
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

describe("createInlet() in progress when the node stops", () => {
  it("node.stop() waits for it: no TCPServerWrap is left the moment it resolves, and createInlet rejects with NodeStoppedError", async () => {
    const before = tcpHandles();
    const n = await startNode();
    // Its listen looks the host up first (a tick, even for an IP): the server binds after that.
    const creating = createInlet(n, { listen: "127.0.0.1:0", route: route("outlet") });
    creating.catch(() => {});
    await n.stop();
    expect(tcpHandles()).toEqual(before);
    const outcome = await creating.catch((e: unknown) => e);
    // Nor did it bind after.
    const after = tcpHandles();
    // An inlet listening on a stopped node is the test's to stop.
    if (outcome instanceof Inlet) await outcome.stop();
    expect(after).toEqual(before);
    expect(outcome).toBeInstanceOf(NodeStoppedError);
    expect(n.stopHookCount).toBe(0);
  });
});

const outletStops: Record<string, (r: { node: Node; outlet: Outlet }) => Promise<void>> = {
  "outlet.stop()": (r) => r.outlet.stop(),
  "node.stop()": (r) => r.node.stop(),
  "outlet.stop() not awaited, then node.stop()": (r) => {
    void r.outlet.stop();
    return r.node.stop();
  },
};

describe("an outlet's stop releases its sockets to the target before it resolves", () => {
  for (const [stop, run] of Object.entries(outletStops)) {
    for (const streams of [0, 1]) {
      it(`${stop} with ${streams} open stream${streams === 1 ? "" : "s"}: no TCPSocketWrap of the outlet is left`, async () => {
        const before = tcpHandles();
        const n = await startNode();
        const outlet = await createOutlet(n, { to: await unlistedTarget() });
        if (streams === 1) {
          const opener = new Opener(n);
          await eventually(() => opener.opened, 5_000, "the outlet's OPENED");
          expect(tcpHandles()).not.toEqual(before);
        }
        await run({ node: n, outlet });
        expect(tcpHandles()).toEqual(before);
      });
    }
  }
});

describe("a node that carries a connection (inlet, outlet and target in one process)", () => {
  it("node.stop() leaves no TCP handle of the portal", async () => {
    const before = tcpHandles();
    const n = await startNode();
    const outlet = await createOutlet(n, { to: await unlistedTarget() });
    const inlet = await createInlet(n, { listen: "127.0.0.1:0", route: route("outlet") });
    await client(inlet.port);
    await eventually(() => outlet.openedStreams === 1 && inlet.activeStreams === 1, 5_000, "the carried connection");
    await n.stop();
    expect(tcpHandles()).toEqual(before);
  });
});
