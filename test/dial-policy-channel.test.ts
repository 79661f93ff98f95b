// The dial policy behind a secure channel: a message that arrived inside a channel, then
// went through a forwarding worker, still may not make the node open a TCP connection.
import { afterEach, describe, expect, it } from "vitest";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { node, route, type Context, type Node, type Routed, type Worker } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { createTcpTransport, DialDeniedError, PROTOCOL_VERSION, TcpListenerOptions } from "@hopwire/transport-tcp";
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

  it("with dialAllowList, a channel's message that waited for the dial is dropped if the channel closed meanwhile, as it is while it is open", async () => {
    // A service the allow-list names, which answers the dial (its first frame) only when told.
    const received: Buffer[] = [];
    let answer: () => void = () => {};
    let dialled = false;
    const allowed = createServer((socket) => {
      dialled = true;
      sockets.push(socket);
      socket.on("data", (data) => received.push(data));
      answer = () => socket.write(Buffer.of(PROTOCOL_VERSION, 0, 0, 0, 0));
    });
    servers.push(allowed);
    allowed.listen(0, "127.0.0.1");
    await once(allowed, "listening");
    const allowedAddress = `127.0.0.1:${(allowed.address() as { port: number }).port}`;

    const bobNode = await node({ name: "bob" });
    const aliceNode = await node({ name: "alice" });
    nodes.push(bobNode, aliceNode);
    const dropped: string[] = [];
    bobNode.on("dropped", (event) => dropped.push(event.address.toString()));
    const bobTcp = await createTcpTransport(bobNode, { dialAllowList: [allowedAddress] });
    const tcpListener = await bobTcp.listen("127.0.0.1:0", new TcpListenerOptions());
    await createSecureChannelListener(bobNode, await createIdentity(), "bob_listener", new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId));
    const connection = await (await createTcpTransport(aliceNode)).connect(tcpListener.address);
    const channel = await createSecureChannel(aliceNode, await createIdentity(), route(connection, "bob_listener"));
    // The on-demand connection is no consumer of the channel's flow: while the channel is
    // open, its message would be denied there. The peer closes its connection (and so the
    // channel) while bob still dials.
    await aliceNode.send(route(channel, `1#${allowedAddress}`, "anything"), "knock knock");
    await eventually(() => dialled, 20_000, "bob's dial");
    await connection.stop();
    await eventually(() => bobTcp.connections.every((c) => c.mode === "outgoing"), 20_000, "the channel's connection to close on bob");
    answer();
    await eventually(() => dropped.length > 0 || Buffer.concat(received).includes("knock knock"), 20_000, "what became of the message");
    expect(Buffer.concat(received).includes("knock knock")).toBe(false);
    expect(dropped).toEqual([`1#${allowedAddress}`]);
  });
});
