import { afterEach, describe, expect, it } from "vitest";
import { Hop, LocalMessage, route, type Context, type Node, type Routed } from "@hopwire/runtime";
import { startNode, startResponder } from "./support.js";
import { eventually } from "../../../test/support/eventually.js";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

// The next-hop rule's feeder search stops at a hop from the network that is no connection (3b67fa7):
// what follows such a hop on a return route was written by its peer. A connection that closed while
// its message waited in a worker's queue is such a hop too: the search must not go past it either.
describe("the next-hop rule's feeder search past a connection that closed meanwhile", () => {
  it("does not take a connection the closed one's peer named for a feeder", async () => {
    const middle = await startResponder("middle");
    const bob = await startResponder("bob");
    const victim = await startNode("victim");
    const mallory = await startNode("mallory");
    nodes.push(middle.node, bob.node, victim.node, mallory.node);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    // A Hop whose handler waits (a busy worker, a thread's queue): it forwards once the gate opens.
    const hop = new Hop();
    await middle.node.startWorker("hop", { async handleMessage(ctx: Context, msg: Routed) { await gate; await hop.handleMessage(ctx, msg); } }, { placement: "main" });
    middle.node.flowControls.addConsumer("hop", middle.listener.flowControlId);
    const toBob = await middle.tcp.connect(bob.listener.address);

    const victimConn = await victim.tcp.connect(middle.listener.address);
    await eventually(() => middle.listener.connections.some((c) => c.peer === victimConn.local), 5_000);
    const victimAtMiddle = middle.listener.connections.find((c) => c.peer === victimConn.local)!;

    const mConn = await mallory.tcp.connect(middle.listener.address);
    await eventually(() => middle.listener.connections.some((c) => c.peer === mConn.local), 5_000);
    const mAtMiddle = middle.listener.connections.find((c) => c.peer === mConn.local)!;
    // Mallory's message to Bob's echoer through the hop, naming the victim's connection after its own.
    await mallory.node.startWorker("forger", {
      async handleMessage(ctx: Context) {
        await ctx.forward(new LocalMessage(route(mConn, "hop", toBob.address, "nowhere"), route(victimAtMiddle.address), new Uint8Array([0xc0])));
      },
    }, { placement: "main" });
    await mallory.node.send("forger", "go");
    await eventually(() => middle.node.router.has(mAtMiddle.address) && mAtMiddle.state === "open", 5_000);
    await new Promise((r) => setTimeout(r, 100)); // the message is in the hop's handler, at the gate
    // Mallory closes its connection; then the hop forwards onto the connection to Bob.
    await mConn.stop();
    await mAtMiddle.whenClosed();
    open();
    await new Promise((r) => setTimeout(r, 200));
    expect(toBob.fedBy.has(victimAtMiddle)).toBe(false);
    // Had it been taken for a feeder, the next hop's close would close it.
    await bob.listener.connections[0]!.stop();
    await toBob.whenClosed();
    await new Promise((r) => setTimeout(r, 200));
    expect(victimAtMiddle.state).toBe("open");
  });
});
