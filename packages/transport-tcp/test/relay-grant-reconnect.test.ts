import { afterEach, describe, expect, it } from "vitest";
import { route, startRelay, type Node } from "@hopwire/runtime";
import { TcpConnectionOptions } from "@hopwire/transport-tcp";
import { startResponder } from "./support.js";
import { eventually } from "../../../test/support/eventually.js";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

describe("relay grants after the next hop reconnects", () => {
  it("a relay that opens its flows after the next hop reconnected grants the next hop the previous hop's flow again", async () => {
    const middle = await startResponder("middle");
    const bob = await startResponder("bob");
    const alice = await startResponder("alice");
    nodes.push(middle.node, bob.node, alice.node);
    const toBob = await middle.tcp.connect(bob.listener.address, new TcpConnectionOptions().withReconnect({ initialDelay: 10 }));
    const first = await startRelay(middle.node, "forward_to_bob", route(toBob));
    const second = await startRelay(middle.node, "forward_to_bob2", route(toBob));
    // The middle dialled Alice (an outgoing connection: the next-hop rule closes only accepted feeders).
    const aliceOnMiddle = await middle.tcp.connect(alice.listener.address);
    middle.node.flowControls.addConsumer("forward_to_bob", aliceOnMiddle.flowControlId);
    middle.node.flowControls.addConsumer("forward_to_bob2", aliceOnMiddle.flowControlId);
    await eventually(() => alice.listener.connections.length === 1, 5_000);
    const connection = alice.listener.connections[0]!;
    expect(await alice.node.sendAndReceive(route(connection, "forward_to_bob", "echoer"), "one")).toBe("one");
    const aliceFlow = middle.node.flowControls.findFlowControlWithProducerAddress(aliceOnMiddle.address)!.flowControlId;
    expect(middle.node.flowControls.isConsumer(toBob.address, aliceFlow)).toBe(true);

    // Bob drops the middle's connection: it reconnects under the same address (the router forgot what it consumed).
    await bob.listener.connections[0]!.stop();
    await eventually(() => toBob.state !== "open", 5_000);
    await toBob.whenConnected({ timeout: 5_000 });
    expect(middle.node.flowControls.isConsumer(toBob.address, aliceFlow)).toBe(false);

    // The second relay opens its flows now (its first use): as addConsumer did before grants were counted,
    // Alice's flow may reach the next hop again.
    expect(await alice.node.sendAndReceive(route(connection, "forward_to_bob2", "echoer"), "two")).toBe("two");
    expect(middle.node.flowControls.isConsumer(toBob.address, aliceFlow)).toBe(true);
    expect(await alice.node.sendAndReceive(route(connection, toBob.address, "echoer"), "direct", { timeout: 2_000 })).toBe("direct");
    first.stop();
    second.stop();
  });
});
