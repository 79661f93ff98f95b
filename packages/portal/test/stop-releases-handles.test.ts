// A portal's stop that resolves has released its TCP handles: none is left closing behind it.
// process.getActiveResourcesInfo() lists a handle until libuv has closed it; the inlet's server
// "close" event, and a reset socket's release, come a turn before that.
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { Address, LocalMessage, node, NodeStoppedError, route, toAddress, type Mailbox, type Node } from "@hopwire/runtime";
import { createInlet, createOutlet, Inlet } from "@hopwire/portal";
import { decodePortalMessage, encodeOpen, KIND } from "../dist/protocol/index.js";
import { eventually } from "../../../test/support/eventually.js";
import { endEachTestsHandles, tcpHandles } from "../../../test/support/tcp-handles.js";

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

const { nodes, clients, servers } = endEachTestsHandles();

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
  servers.push({ server });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * The ways a portal end (`what`: "inlet", "outlet") stops: its own stop, the node's, and its own
 * not awaited, then the node's (its stop hook goes only once its stop is done: node.stop() waits for it meanwhile).
 */
function stopsOf(what: string): Record<string, (n: Node, end: { stop(): Promise<void> }) => Promise<void>> {
  return {
    [`${what}.stop()`]: (_n, end) => end.stop(),
    "node.stop()": (n) => n.stop(),
    [`${what}.stop() not awaited, then node.stop()`]: (n, end) => {
      void end.stop();
      return n.stop();
    },
  };
}

describe("an inlet's stop releases its server and its clients' sockets before it resolves", () => {
  for (const [stop, run] of Object.entries(stopsOf("inlet"))) {
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
        await run(n, inlet);
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

describe("an outlet's stop releases its sockets to the target before it resolves", () => {
  for (const [stop, run] of Object.entries(stopsOf("outlet"))) {
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
        await run(n, outlet);
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
