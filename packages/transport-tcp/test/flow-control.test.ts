import { afterEach, describe, expect, it } from "vitest";
import { FlowControls, TimeoutError, route, type Context, type DroppedEvent, type Node, type Routed } from "@hopwire/runtime";
import { TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { nextTurn } from "../../../test/support/eventually.js";
import { LateReplyAsker } from "./fixtures/late-reply-asker.js";
import { Echoer, Sink, startNode, startResponder } from "./support.js";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function pair() {
  const responder = await startResponder();
  const initiator = await startNode("initiator");
  nodes.push(responder.node, initiator.node);
  const connection = await initiator.tcp.connect(responder.listener.address);
  return { responder, initiator, connection };
}

describe("flow controls", () => {
  it("a worker that is not a consumer is unreachable from the network; addConsumer makes it reachable", async () => {
    const { responder, initiator, connection } = await pair();
    await responder.node.startWorker("private", new Echoer(), { placement: "main" });
    await expect(initiator.node.sendAndReceive(route(connection, "private"), "x", { timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
    await responder.drops.waitFor("denied", "private");

    responder.node.flowControls.addConsumer("private", responder.listener.flowControlId);
    expect(await initiator.node.sendAndReceive(route(connection, "private"), "now")).toBe("now");
  });

  it("a worker that exists but is no consumer looks exactly like one that does not exist", async () => {
    const { responder, initiator, connection } = await pair();
    const hidden = new Sink();
    await responder.node.startWorker("hidden", hidden, { placement: "main" });
    // Both are dropped; the peer gets nothing back and the connection stays open.
    await initiator.node.send(route(connection, "hidden"), "a");
    await initiator.node.send(route(connection, "nobody"), "b");
    await responder.drops.waitFor("dropped", "nobody");
    await responder.drops.waitFor("denied", "hidden");
    expect(hidden.received).toHaveLength(0);
    expect(connection.isClosed).toBe(false);
    expect(await initiator.node.sendAndReceive(route(connection, "echoer"), "open")).toBe("open");
  });

  it("an accepted connection is a producer spawned by the listener, found from its sender address", async () => {
    const { responder, connection } = await pair();
    const accepted = responder.listener.connections[0]!;
    const info = responder.node.flowControls.findFlowControlWithProducerAddress(accepted.address);
    expect(info).toEqual({ flowControlId: accepted.flowControlId, spawnerFlowControlId: responder.listener.flowControlId });
    expect(accepted.flowControlId).not.toBe(responder.listener.flowControlId);
    expect(responder.node.flowControls.findFlowControlWithProducerAddress(accepted.receiverAddress)).toEqual(info);
    expect(responder.node.flowControls.findFlowControlWithSpawnerAddress(responder.listener.processorAddress)).toBe(
      responder.listener.flowControlId,
    );
    // Closing forgets the producer.
    await connection.stop();
    await accepted.whenClosed();
    expect(responder.node.flowControls.findFlowControlWithProducerAddress(accepted.address)).toBeUndefined();
  });

  it("an outgoing connection is a producer with its options' own id; asConsumer makes its sender a consumer", async () => {
    const responder = await startResponder();
    const initiator = await startNode("initiator");
    nodes.push(responder.node, initiator.node);
    const elsewhere = FlowControls.generateId();
    const options = new TcpConnectionOptions().asConsumer(elsewhere);
    const connection = await initiator.tcp.connect(responder.listener.address, options);
    expect(connection.flowControlId).toBe(options.flowControlId);
    expect(initiator.node.flowControls.findFlowControlWithProducerAddress(connection.address)).toEqual({ flowControlId: options.flowControlId });
    expect(initiator.node.flowControls.isConsumer(connection.address, elsewhere)).toBe(true);
  });

  it("the listener's id reaches every accepted connection; a given connection's id reaches only that one", async () => {
    const options = new TcpListenerOptions();
    const responder = await startResponder();
    nodes.push(responder.node);
    const listener = await responder.tcp.listen("127.0.0.1:0", options);
    expect(listener.flowControlId).toBe(options.spawnerFlowControlId);
    await responder.node.startWorker("shared", new Echoer(), { placement: "main" });
    await responder.node.startWorker("only-first", new Echoer(), { placement: "main" });
    responder.node.flowControls.addConsumer("shared", listener.flowControlId);

    const a = await startNode("a");
    const b = await startNode("b");
    nodes.push(a.node, b.node);
    const toA = await a.tcp.connect(listener.address);
    const toB = await b.tcp.connect(listener.address);
    expect(await a.node.sendAndReceive(route(toA, "shared"), "a")).toBe("a");
    expect(await b.node.sendAndReceive(route(toB, "shared"), "b")).toBe("b");

    const first = listener.connections.find((c) => c.peer === toA.local)!;
    responder.node.flowControls.addConsumer("only-first", first.flowControlId);
    expect(await a.node.sendAndReceive(route(toA, "only-first"), "a")).toBe("a");
    await expect(b.node.sendAndReceive(route(toB, "only-first"), "b", { timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
    // The echoer is a consumer of the other listener only.
    await expect(a.node.sendAndReceive(route(toA, "echoer"), "a", { timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
  });

  it("replies reach the local sender without any setup (it became a consumer by sending)", async () => {
    const { responder, initiator, connection } = await pair();
    // The responder's echoer replies to a route that goes back through the connection.
    expect(await initiator.node.sendAndReceive(route(connection, "echoer"), 1)).toBe(1);
    // But the initiator's own workers are not reachable from the connection.
    await initiator.node.startWorker("secret", new Echoer(), { placement: "main" });
    const accepted = responder.listener.connections[0]!;
    await expect(responder.node.sendAndReceive(route(accepted, "secret"), "x", { timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
    await initiator.drops.waitFor("denied", "secret");
  });

  it("a message from the network cannot make the node open a TCP connection", async () => {
    const { responder, initiator, connection } = await pair();
    const victim = await startResponder("victim");
    nodes.push(victim.node);
    await initiator.node.send(route(connection, `1#${victim.listener.address}`, "echoer"), "dial out");
    await responder.log.waitFor(/next hop is 1#/);
    expect(responder.tcp.connections).toHaveLength(1);
    expect(victim.listener.connections).toHaveLength(0);
  });

  it("a thread worker's sendAndReceive reply address hands the worker nothing once its call ended, whatever the peer sends to it", async () => {
    const { responder, initiator, connection } = await pair();
    // The peer answers the request, then goes on sending to the reply address it was given.
    await responder.node.startWorker(
      "evil",
      {
        async handleMessage(ctx: Context, msg: Routed) {
          if (msg.body !== "request") return ctx.send(msg.returnRoute, "flushed"); // after every late one: one message at a time
          await ctx.send(msg.returnRoute, "reply");
          for (let i = 0; i < 50; i++) {
            await nextTurn();
            await ctx.send(msg.returnRoute, `late ${i}`);
          }
        },
      },
      { placement: "main" },
    );
    responder.node.flowControls.addConsumer("evil", responder.listener.flowControlId);
    const recorder = new Sink();
    await initiator.node.startWorker("recorder", recorder, { placement: "main" });
    // Every late message is a "dropped" event, as a late reply to a call on the main thread is:
    // whether the thread dropped it (before its unregister reached the main thread) or the router.
    const drops: DroppedEvent[] = [];
    initiator.node.on("dropped", (event) => drops.push(event));
    // On a thread, and a consumer of no flow: nothing from the connection may reach it.
    await initiator.node.startWorker("asker", LateReplyAsker);
    // After the reply it computes for a while: its thread tells the main thread that the call
    // ended (and its reply address went) only then, while the late messages arrive.
    await initiator.node.send("asker", { t: "ask", to: route(connection, "evil"), busyMs: 300 });
    await recorder.waitFor(1);
    // Whatever the asker was handed meanwhile, it handles before this.
    await initiator.node.send("asker", "end");
    await recorder.waitFor(2);
    expect(recorder.received.map((m) => m.body)).toEqual(["asked", { first: "0#asker", body: "end" }]);
    expect(drops.length).toBeGreaterThan(0);
    expect(drops.every((d) => d.reason === "unknown-address")).toBe(true);
    // Those the thread dropped, reported by it (a late one may also meet the call's own inbox, or the router after the unregister).
    expect(drops.some((d) => /the sendAndReceive it was made for had ended/.test(d.error.message))).toBe(true);
    expect(new Set(drops.map((d) => d.from))).toEqual(new Set([connection.address.key]));
    // The control: the peer cannot reach the asker at its own address either.
    const accepted = responder.listener.connections[0]!;
    await responder.node.send(route(accepted, "asker"), "direct");
    await initiator.drops.waitFor("denied", "asker");
    expect(recorder.received).toHaveLength(2);
  });
});
