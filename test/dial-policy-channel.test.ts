// The dial policy behind a secure channel: a message that arrived inside a channel, then
// went through a forwarding worker, still may not make the node open a TCP connection.
import { afterEach, describe, expect, it } from "vitest";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { node, route, type Context, type Node, type Routed, type Worker } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { createTcpTransport, DialDeniedError, TcpListenerOptions } from "@hopwire/transport-tcp";
import { eventually } from "./support/eventually.js";

const nodes: Node[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  for (const s of servers.splice(0)) s.close();
});

/** The examples' Hop: pops itself, puts itself on the return route, forwards. */
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

class Echoer implements Worker {
  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    await ctx.send(msg.returnRoute, msg.body);
  }
}

describe("dial policy through a secure channel", () => {
  it("a message decrypted from a channel and forwarded by a Hop to 1#127.0.0.1:<private port> opens no connection", async () => {
    let victimConnections = 0;
    const victim = createServer((socket) => {
      victimConnections++;
      sockets.push(socket);
    });
    servers.push(victim);
    victim.listen(0, "127.0.0.1");
    await once(victim, "listening");
    const victimAddress = `127.0.0.1:${(victim.address() as { port: number }).port}`;

    const bobNode = await node({ name: "bob" });
    const aliceNode = await node({ name: "alice", sendAndReceiveTimeout: 10_000 });
    nodes.push(bobNode, aliceNode);
    const bobTcp = await createTcpTransport(bobNode);
    const tcpListener = await bobTcp.listen("127.0.0.1:0", new TcpListenerOptions());
    const channels = await createSecureChannelListener(bobNode, await createIdentity(), "bob_listener", new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId));
    const hop = new ForwardingHop();
    await bobNode.startWorker("hop", hop, { placement: "main" });
    await bobNode.startWorker("echoer", new Echoer(), { placement: "main" });
    bobNode.flowControls.addConsumer("hop", channels.flowControlId);
    bobNode.flowControls.addConsumer("echoer", channels.flowControlId);

    const connection = await (await createTcpTransport(aliceNode)).connect(tcpListener.address);
    const channel = await createSecureChannel(aliceNode, await createIdentity(), route(connection, "bob_listener"));
    await aliceNode.send(route(channel, "hop", `1#${victimAddress}`, "anything"), "knock knock");
    await eventually(() => bobTcp.deniedDials === 1, 20_000, "the denial");
    expect(hop.errors[0]).toBeInstanceOf(DialDeniedError);
    // The channel still works, and nothing reached the private port.
    expect(await aliceNode.sendAndReceive(route(channel, "echoer"), "after")).toBe("after");
    expect(victimConnections).toBe(0);
  });
});
