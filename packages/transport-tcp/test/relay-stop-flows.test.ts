import { afterEach, describe, expect, it } from "vitest";
import { Echoer, TimeoutError, route, startRelay, type Node } from "@hopwire/runtime";
import { Sink, startNode, startResponder } from "./support.js";
import { eventually } from "../../../test/support/eventually.js";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

describe("a stopped relay", () => {
  it("withdraws the flows it opened: its peers no longer reach its next hop directly, nor the next hop them", async () => {
    const middle = await startResponder("middle");
    const bob = await startResponder("bob");
    const alice = await startNode("alice");
    nodes.push(middle.node, bob.node, alice.node);
    const toBob = await middle.tcp.connect(bob.listener.address);
    const relay = await startRelay(middle.node, "forward_to_bob", route(toBob));
    middle.node.flowControls.addConsumer("forward_to_bob", middle.listener.flowControlId);

    const connection = await alice.tcp.connect(middle.listener.address);
    // Alice lets whatever comes on her connection to the middle reach "alice_echoer" (replies through the relay).
    await alice.node.startWorker("alice_echoer", new Echoer(), { placement: "main" });
    alice.node.flowControls.addConsumer("alice_echoer", connection.flowControlId);
    const aliceOnMiddle = middle.listener.connections.find((c) => c.peer === connection.local)!;
    const middleOnBob = bob.listener.connections[0]!;

    expect(await alice.node.sendAndReceive(route(connection, "forward_to_bob", "echoer"), "via the relay")).toBe("via the relay");
    // As documented while the relay runs: the next hop consumes Alice's flow, and Alice's connection Bob's.
    expect(await alice.node.sendAndReceive(route(connection, toBob.address, "echoer"), "direct")).toBe("direct");
    expect(await bob.node.sendAndReceive(route(middleOnBob, aliceOnMiddle.address, "alice_echoer"), "back")).toBe("back");

    relay.stop();
    await expect(alice.node.sendAndReceive(route(connection, "forward_to_bob", "echoer"), "x", { timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
    // The relay is gone: neither side may go on using the way it opened.
    await expect(alice.node.sendAndReceive(route(connection, toBob.address, "echoer"), "after stop", { timeout: 300 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    await expect(bob.node.sendAndReceive(route(middleOnBob, aliceOnMiddle.address, "alice_echoer"), "after stop", { timeout: 300 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
  });

  it("leaves a consumer it did not add (the program's own addConsumer) in place", async () => {
    const middle = await startResponder("middle");
    const bob = await startResponder("bob");
    const alice = await startNode("alice");
    nodes.push(middle.node, bob.node, alice.node);
    const sink = new Sink();
    await bob.node.startWorker("sink", sink, { placement: "main" });
    bob.node.flowControls.addConsumer("sink", bob.listener.flowControlId);
    const toBob = await middle.tcp.connect(bob.listener.address);
    // The program lets everything the middle's listener accepts into the connection to Bob itself.
    middle.node.flowControls.addConsumer(toBob.address, middle.listener.flowControlId);
    const relay = await startRelay(middle.node, "forward_to_bob", route(toBob));
    middle.node.flowControls.addConsumer("forward_to_bob", middle.listener.flowControlId);
    const connection = await alice.tcp.connect(middle.listener.address);
    expect(await alice.node.sendAndReceive(route(connection, "forward_to_bob", "echoer"), "via the relay")).toBe("via the relay");
    relay.stop();
    await alice.node.send(route(connection, toBob.address, "sink"), "still allowed");
    await eventually(() => sink.received.length === 1, 20_000);
  });

  it("leaves what another relay over the same hops still needs: two relays share a grant, and the last to stop withdraws it", async () => {
    const middle = await startResponder("middle");
    const bob = await startResponder("bob");
    const alice = await startNode("alice");
    nodes.push(middle.node, bob.node, alice.node);
    const toBob = await middle.tcp.connect(bob.listener.address);
    // Two names over one connection to Bob (a registrant holding two), used by one initiator.
    const first = await startRelay(middle.node, "forward_to_bob", route(toBob));
    const second = await startRelay(middle.node, "forward_to_bob2", route(toBob));
    middle.node.flowControls.addConsumer("forward_to_bob", middle.listener.flowControlId);
    middle.node.flowControls.addConsumer("forward_to_bob2", middle.listener.flowControlId);
    const connection = await alice.tcp.connect(middle.listener.address);
    expect(await alice.node.sendAndReceive(route(connection, "forward_to_bob", "echoer"), "one")).toBe("one");
    expect(await alice.node.sendAndReceive(route(connection, "forward_to_bob2", "echoer"), "two")).toBe("two");

    first.stop();
    // The second relay's replies come back to Alice through the grant both relays hold.
    expect(await alice.node.sendAndReceive(route(connection, "forward_to_bob2", "echoer"), "still")).toBe("still");
    expect(await alice.node.sendAndReceive(route(connection, toBob.address, "echoer"), "direct")).toBe("direct");

    second.stop();
    await expect(alice.node.sendAndReceive(route(connection, toBob.address, "echoer"), "after both", { timeout: 300 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
  });
});
