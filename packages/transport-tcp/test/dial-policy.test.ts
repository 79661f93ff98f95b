import { describe, expect, it } from "vitest";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { encodeBody, encodeEnvelope, Hop, LocalMessage, route, type Context, type Node, type Routed, type Worker } from "@hopwire/runtime";
import { DialDeniedError, PROTOCOL_VERSION } from "@hopwire/transport-tcp";
import { closeAfterEach, closed, frame, rawClient, startNode, startResponder } from "./support.js";
import { eventually } from "../../../test/support/eventually.js";

const { nodes, servers, sockets } = closeAfterEach();

/** Like the examples' Hop: pops itself, puts itself on the return route, forwards. */
class ForwardingHop implements Worker {
  readonly errors: unknown[] = [];
  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    const stepped = msg.message.withOnwardRoute(msg.onwardRoute.popFront()).withReturnRoute(msg.returnRoute.prepend(ctx.address));
    try {
      await ctx.forward(stepped);
    } catch (error) {
      this.errors.push(error);
    }
  }
}

/** A private service on 127.0.0.1 that records every connection made to it. */
async function privateService(): Promise<{ address: string; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    sockets.push(socket);
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return { address: `127.0.0.1:${port}`, connections: () => count };
}

describe("dial policy: the network cannot make a node dial", () => {
  async function setUp(dialAllowList?: string[]) {
    const middle = await startResponder("middle", dialAllowList ? { dialAllowList } : undefined);
    const hop = new ForwardingHop();
    await middle.node.startWorker("hop", hop, { placement: "main" });
    middle.node.flowControls.addConsumer("hop", middle.listener.flowControlId);
    const attacker = await startNode("attacker");
    nodes.push(middle.node, attacker.node);
    const connection = await attacker.tcp.connect(middle.listener.address);
    return { middle, hop, attacker, connection };
  }

  it("SSRF: a message from the network naming 1#127.0.0.1:<private port> behind a Hop opens no connection; it is dropped and counted", async () => {
    const victim = await privateService();
    const { middle, hop, attacker, connection } = await setUp();
    await attacker.node.send(route(connection, "hop", `1#${victim.address}`, "anything"), "knock knock");
    await eventually(() => middle.tcp.deniedDials === 1, 20_000, "the denial");
    expect(hop.errors).toHaveLength(1);
    expect(hop.errors[0]).toBeInstanceOf(DialDeniedError);
    expect((hop.errors[0] as DialDeniedError).code).toBe("TCP_DIAL_DENIED");
    // The node is still fine, and a round trip through the same connection after the attempt
    // shows the attempt has been fully handled: no connection was made meanwhile.
    expect(await attacker.node.sendAndReceive(route(connection, "echoer"), "after")).toBe("after");
    expect(victim.connections()).toBe(0);
    expect(middle.tcp.connections.filter((c) => c.mode === "outgoing")).toHaveLength(0);
    await middle.log.waitFor(/dropped a message from the network that named 1#127\.0\.0\.1/);
    // An existing outgoing connection's name may not be used from the network either.
    const other = await startResponder("other");
    nodes.push(other.node);
    await middle.tcp.connect(other.listener.address);
    await attacker.node.send(route(connection, "hop", `1#${other.listener.address}`, "echoer"), "via existing");
    await eventually(() => middle.tcp.deniedDials === 2, 20_000, "the second denial");
  });

  it("the same message is dialled when dialAllowList names the address (the control: the test can see a dial)", async () => {
    const victim = await privateService();
    const { middle, attacker, connection } = await setUp([victim.address]);
    await attacker.node.send(route(connection, "hop", `1#${victim.address}`, "anything"), "allowed");
    await eventually(() => victim.connections() === 1, 20_000, "the allowed dial");
    expect(middle.tcp.deniedDials).toBe(0);
  });

  it("dialAllowList compares host names without regard to case", async () => {
    const victim = await privateService();
    const port = victim.address.split(":")[1];
    const { middle, hop, attacker, connection } = await setUp([`LocalHost:${port}`]);
    await attacker.node.send(route(connection, "hop", `1#LOCALHOST:${port}`, "anything"), "allowed in any case");
    // localhost may resolve to ::1 first: Node 20's connect tries each address, and the service listens on 127.0.0.1.
    await eventually(() => victim.connections() === 1 || middle.tcp.deniedDials > 0, 20_000, "the dial or its refusal");
    expect(middle.tcp.deniedDials).toBe(0);
    expect(victim.connections()).toBe(1);
    expect(hop.errors.filter((e) => e instanceof DialDeniedError)).toEqual([]);
  });

  it("a Hop on a thread or in the pool forwards a message whose connection closed meanwhile: still no connection", async () => {
    const victim = await privateService();
    const middle = await startResponder("middle");
    nodes.push(middle.node);
    for (const placement of ["thread", "pool"] as const) {
      await middle.node.startWorker(`hop-${placement}`, Hop, { placement });
      middle.node.flowControls.addConsumer(`hop-${placement}`, middle.listener.flowControlId);
    }
    let denied = 0;
    for (const placement of ["thread", "pool"] as const) {
      // The peer sends its one message and closes at once: the connection is gone (and with it
      // its flow) before the Hop, on another thread, forwards the message.
      const envelope = encodeEnvelope(new LocalMessage(route(`hop-${placement}`, `1#${victim.address}`, "anything"), route("back"), encodeBody("knock")), "network");
      const socket = await rawClient(middle.listener.address);
      socket.end(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(envelope)]));
      await closed(socket);
      await eventually(() => middle.tcp.deniedDials + victim.connections() > denied, 20_000, `what became of the ${placement} Hop's message`);
      expect(victim.connections()).toBe(0);
      expect(middle.tcp.deniedDials).toBe(++denied);
    }
    expect(middle.tcp.connections.filter((c) => c.mode === "outgoing")).toHaveLength(0);
  });

  it("a local sender may still dial on demand", async () => {
    const responder = await startResponder("responder");
    const local = await startNode("local");
    nodes.push(responder.node, local.node);
    expect(await local.node.sendAndReceive(route(`1#${responder.listener.address}`, "echoer"), "mine")).toBe("mine");
    expect(local.tcp.deniedDials).toBe(0);
  });
});
