// forwardOver "connection": the relay node passes what reaches forward_to_<name> on to the registrant
// on the TCP connection under the registrant's secure channel, not inside that channel. Three nodes in
// one process, real TCP on 127.0.0.1, real secure channels, as relay.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import { decodeBody, encodeBody, LocalMessage, node, route, waitFor, type Address, type Context, type Mailbox, type Node, type Routed } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, type Identity } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions, type TcpConnection, type TcpTransport } from "@hopwire/transport-tcp";
import { allowAnyIdentity, createRemoteRelay, startRelayService, type ForwardOver, type RelayServiceEvent } from "../dist/index.js";
import { recordingConnector } from "./relay-node.js";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function startNode(): Promise<{ n: Node; tcp: TcpTransport }> {
  const n = await node({ warnings: false });
  nodes.push(n);
  return { n, tcp: await createTcpTransport(n) };
}

async function relayNode(allowForwardOverConnection: boolean) {
  const { n, tcp } = await startNode();
  const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const scl = await createSecureChannelListener(n, await createIdentity(), "api", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
  const events: RelayServiceEvent[] = [];
  const service = await startRelayService(n, {
    policy: allowAnyIdentity(),
    serviceConsumerOf: scl.flowControlId,
    forwarderConsumerOf: listener.flowControlId,
    allowForwardOverConnection,
    onEvent: (e) => events.push(e),
  });
  return { n, tcp, service, events, address: listener.address.toString() };
}

/** Bob: an echoer reachable through the relay over a secure channel only; `seen` counts what reached it. */
async function bobNode(identity: Identity, relayAddress: string, forwardOver: ForwardOver) {
  const { n, tcp } = await startNode();
  const seen: string[] = [];
  await n.startWorker(
    "echoer",
    {
      async handleMessage(ctx: Context, msg: Routed<Uint8Array | string>) {
        seen.push(typeof msg.body === "string" ? msg.body : `${msg.body.length} bytes`);
        await ctx.send(msg.returnRoute, msg.body);
      },
    },
    { placement: "main" },
  );
  const connections: TcpConnection[] = [];
  const relay = await createRemoteRelay(n, {
    name: "bob",
    identity,
    connect: recordingConnector(tcp, relayAddress, connections),
    heartbeatIntervalMs: 200,
    replyTimeoutMs: 3_000,
    backoff: { initialMs: 20, maxMs: 200 },
    forwardOver,
  });
  const scl = await createSecureChannelListener(n, identity, "bob_listener", new SecureChannelListenerOptions().asConsumer(relay.flowControlId));
  n.flowControls.addConsumer("echoer", scl.flowControlId);
  return { n, relay, connections, seen };
}

/** Counts the payload bytes delivered into `mailbox` (a channel's end: what it seals and sends). */
function countBytes(mailbox: Mailbox | undefined): { bytes: number } {
  if (mailbox === undefined) throw new Error("no such mailbox");
  const count = { bytes: 0 };
  const deliver = mailbox.deliver.bind(mailbox);
  mailbox.deliver = (message, senderKey) => {
    count.bytes += message.payloadLength;
    deliver(message, senderKey);
  };
  const run = mailbox.deliverRun?.bind(mailbox);
  if (run) mailbox.deliverRun = () => false; // every message through deliver, counted
  return count;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  await waitFor<void>((resolve) => {
    const timer = setInterval(() => condition() && (clearInterval(timer), resolve()), 10);
  }, { what, timeout: 10_000 });
}

async function alice(relayAddress: string) {
  const { n, tcp } = await startNode();
  const connection = await tcp.connect(relayAddress, new TcpConnectionOptions());
  const channel = await createSecureChannel(n, await createIdentity(), route(connection, "forward_to_bob", "bob_listener"));
  return { n, connection, channel };
}

describe("forwardOver: \"connection\"", () => {
  for (const over of ["channel", "connection"] as const) {
    it(`${over}: alice's channel to bob carries 1 MiB each way; the registrant's channel carries it only in mode "channel"`, async () => {
      const relay = await relayNode(true);
      const b = await bobNode(await createIdentity(), relay.address, over);
      expect(b.relay.forwardingOver).toBe(over);
      const registration = relay.service.registrations.get("bob")!;
      expect(registration.over).toBe(over);
      const registrantChannel = registration.returnRoute.next();
      const connection = relay.tcp.connectionOf(registration.forwarder.to.next());
      // Over the connection, the forwarder's first hop is the relay node's connection under the registrant's channel.
      expect(connection !== undefined).toBe(over === "connection");
      // What each end of the registrant's channel seals: relay → bob at the relay node, bob → relay at bob's.
      const toBob = countBytes(relay.n.router.mailboxOf(registrantChannel));
      const fromBob = countBytes(b.n.router.mailboxOf(b.relay.channel!.address));
      const a = await alice(relay.address);
      const payload = new Uint8Array(1 << 20).fill(7);
      const echoed = await a.n.sendAndReceive<Uint8Array>(route(a.channel, "echoer"), payload, { timeout: 10_000 });
      expect(echoed.length).toBe(payload.length);
      expect(await a.n.sendAndReceive<string>(route(a.channel, "echoer"), "small", { timeout: 10_000 })).toBe("small");
      if (over === "channel") {
        expect(toBob.bytes).toBeGreaterThan(1 << 20);
        expect(fromBob.bytes).toBeGreaterThan(1 << 20);
      } else {
        // Heartbeats only (a ping or pong is some 50 bytes, every 200 ms here).
        expect(toBob.bytes).toBeLessThan(16 * 1024);
        expect(fromBob.bytes).toBeLessThan(16 * 1024);
      }
    });
  }

  it("a relay service that does not allow it forwards inside the channel, and says so", async () => {
    const relay = await relayNode(false);
    const b = await bobNode(await createIdentity(), relay.address, "connection");
    expect(b.relay.forwardingOver).toBe("channel");
    expect(relay.service.registrations.get("bob")!.over).toBe("channel");
    expect(relay.events.find((e) => e.kind === "registered")).toMatchObject({ over: "channel" });
    const a = await alice(relay.address);
    expect(await a.n.sendAndReceive<string>(route(a.channel, "echoer"), "hi", { timeout: 10_000 })).toBe("hi");
  });

  it("the relay node's connection reaches only the RemoteRelay on bob's node, and through it only its consumers", async () => {
    const relay = await relayNode(true);
    const b = await bobNode(await createIdentity(), relay.address, "connection");
    const connection = relay.service.registrations.get("bob")!.forwarder.to.next();
    // The relay node's own program sends on the connection: to a worker of bob's node directly, and
    // through the RemoteRelay to one that is no consumer of its flow. Neither arrives.
    await expect(relay.n.sendAndReceive(route(connection, "echoer"), "direct", { timeout: 800 })).rejects.toMatchObject({ code: "TIMEOUT" });
    const remoteRelay = b.relay.address.toString();
    await expect(relay.n.sendAndReceive(route(connection, remoteRelay, "echoer"), "via relay", { timeout: 800 })).rejects.toMatchObject({ code: "TIMEOUT" });
    // A "reply" to the RemoteRelay on the bare connection is no reply: the registration keeps going.
    await relay.n.send(route(connection, remoteRelay), { t: "pong", id: "x", registered: false, replaced: true });
    expect(b.seen).toEqual([]);
    const a = await alice(relay.address);
    expect(await a.n.sendAndReceive<string>(route(a.channel, "echoer"), "through the channel", { timeout: 10_000 })).toBe("through the channel");
    expect(b.seen).toEqual(["through the channel"]);
    expect(b.relay.stopped).toBe(false);
    expect(b.relay.registrations).toBe(1);
  });

  it("an initiator reaches bob's node only through the forwarder: the registrant's connection is no way to bob's workers", async () => {
    const relay = await relayNode(true);
    const b = await bobNode(await createIdentity(), relay.address, "connection");
    const bobConnection = relay.service.registrations.get("bob")!.forwarder.to.next().toString();
    const remoteRelay = b.relay.address.toString();
    const { n, tcp } = await startNode();
    const connection = await tcp.connect(relay.address, new TcpConnectionOptions());
    // Before it used the forwarder: the registrant's connection is no consumer of the initiator's.
    await expect(n.sendAndReceive(route(connection, bobConnection, remoteRelay, "bob_listener"), "x", { timeout: 800 })).rejects.toMatchObject({ code: "TIMEOUT" });
    // Through the forwarder, to a worker that is no consumer of the RemoteRelay's flow: refused on bob's node.
    await expect(n.sendAndReceive(route(connection, "forward_to_bob", "echoer"), "plain", { timeout: 800 })).rejects.toMatchObject({ code: "TIMEOUT" });
    // Once it has used the forwarder it may address the connection directly (as it may the registrant's channel in
    // mode "channel"), but on bob's node that reaches what the connection may reach: not the echoer.
    await expect(n.sendAndReceive(route(connection, bobConnection, "echoer"), "direct", { timeout: 800 })).rejects.toMatchObject({ code: "TIMEOUT" });
    await expect(n.sendAndReceive(route(connection, bobConnection, remoteRelay, "echoer"), "via relay", { timeout: 800 })).rejects.toMatchObject({ code: "TIMEOUT" });
    // Garbage to bob's end of the registrant channel (the relay node knows its address, an initiator would have to
    // guess it): dropped there, the registration goes on.
    await n.send(route(connection, bobConnection, b.relay.channel!.address.toString()), new Uint8Array(64)).catch(() => {});
    expect(b.seen).toEqual([]);
    const a = await alice(relay.address);
    expect(await a.n.sendAndReceive<string>(route(a.channel, "echoer"), "ok", { timeout: 10_000 })).toBe("ok");
    await new Promise((r) => setTimeout(r, 500)); // two heartbeats
    expect(b.relay.registrations).toBe(1);
    expect(b.relay.channel?.isClosed).toBe(false);
  });

  it("the forwarder goes when the registrant's connection closes; bob registers again on a new one and is reached", async () => {
    const relay = await relayNode(true);
    const b = await bobNode(await createIdentity(), relay.address, "connection");
    const first = relay.service.registrations.get("bob")!.forwarder;
    const a = await alice(relay.address);
    expect(await a.n.sendAndReceive<string>(route(a.channel, "echoer"), "before", { timeout: 10_000 })).toBe("before");
    await relay.tcp.connectionOf(first.to.next() as Address)!.stop();
    expect(first.stopped).toBe(true);
    expect(relay.events.find((e) => e.kind === "removed")).toMatchObject({ kind: "removed", name: "bob" });
    // The next-hop rule closed alice's connection, which fed only bob's.
    await until(() => a.connection.state !== "open", "alice's connection closed");
    await until(() => b.relay.registrations === 2, "bob registered again");
    expect(relay.service.registrations.get("bob")!.over).toBe("connection");
    const again = await alice(relay.address);
    expect(await again.n.sendAndReceive<string>(route(again.channel, "echoer"), "after", { timeout: 10_000 })).toBe("after");
  });

  it("a registrant whose channel rides through another node (two TCP hops) gets the channel mode, and X's connection nothing", async () => {
    const relay = await relayNode(true);
    // X: a Hopwire node between the registrant and the relay node, which passes the registrant's traffic on.
    const x = await startNode();
    const xListener = await x.tcp.listen("127.0.0.1:0", new TcpListenerOptions());
    const xToRelay = await x.tcp.connect(relay.address, new TcpConnectionOptions());
    x.n.flowControls.addConsumer(xToRelay.address, xListener.flowControlId);
    // A worker on X at the address the registrant names after its channel: what the relay node sends on X's
    // connection with that onward route reaches it.
    const reachedX: unknown[] = [];
    await x.n.startWorker("rr", { handleMessage: (_ctx: Context, m: Routed) => void reachedX.push(m.body) }, { placement: "main" });
    x.n.flowControls.addConsumer("rr", xToRelay.flowControlId);
    // The registrant: its own secure channel to the relay node's listener, through X; it speaks the protocol itself.
    const r = await startNode();
    const toX = await r.tcp.connect(xListener.address.toString(), new TcpConnectionOptions());
    await until(() => x.tcp.connections.length === 2, "X accepted the registrant's connection");
    const xFromR = x.tcp.connections.find((c) => c !== xToRelay)!;
    x.n.flowControls.addConsumer(xFromR.address, xToRelay.flowControlId);
    const channel = await createSecureChannel(r.n, await createIdentity(), route(toX, xToRelay.address.toString(), "api"));
    const heard: Record<string, unknown>[] = [];
    await r.n.startWorker("rr", { handleMessage: (_ctx: Context, m: Routed) => void heard.push(m.body as Record<string, unknown>) }, { placement: "main" });
    r.n.flowControls.addConsumer("rr", channel.flowControlId);
    const ask = async (body: Record<string, unknown>) => void r.n.router.route(new LocalMessage(route(channel, "forwarding_service"), route("rr"), encodeBody(body)), undefined);
    await ask({ t: "register", id: "r1", name: "bob", over: "connection" });
    await until(() => heard.length > 0, "an answer to the registration");
    // Never registered over X's connection on the registrant's word (the first cut did: an initiator's
    // handshake then reached X's "rr").
    expect(heard[0]).toMatchObject({ t: "registered", id: "r1", over: "channel" });
    expect(relay.service.registrations.get("bob")!.over).toBe("channel");
    // Nor with a proof it made up.
    await ask({ t: "register", id: "r2", name: "bob", over: "connection", proof: "00".repeat(16) });
    await until(() => heard.length > 1, "an answer to the proof");
    expect(heard[1]).toMatchObject({ t: "registered", id: "r2", over: "channel" });
    const { n, tcp } = await startNode();
    const connection = await tcp.connect(relay.address, new TcpConnectionOptions());
    await n.send(route(connection, "forward_to_bob", "anything"), "for bob");
    await until(() => heard.length > 2, "the initiator's message reached the registrant inside its channel");
    expect(heard[2]).toBe("for bob");
    expect(reachedX).toEqual([]);
  });

  it("a registrant on a direct connection must send back the nonce that came on it: a made-up or missing one gets the channel mode", async () => {
    const relay = await relayNode(true);
    const r = await startNode();
    const toRelay = await r.tcp.connect(relay.address, new TcpConnectionOptions());
    const channel = await createSecureChannel(r.n, await createIdentity(), route(toRelay, "api"));
    const heard: Record<string, unknown>[] = [];
    const bare: Record<string, unknown>[] = [];
    await r.n.startWorker(
      "rr",
      { handleMessage: (_ctx: Context, m: Routed) => void (m.returnRoute.next().equals(toRelay.address) ? bare : heard).push(m.body as Record<string, unknown>) },
      { placement: "main" },
    );
    r.n.flowControls.addConsumer("rr", channel.flowControlId);
    r.n.flowControls.addConsumer("rr", toRelay.flowControlId);
    const ask = async (body: Record<string, unknown>) => void r.n.router.route(new LocalMessage(route(channel, "forwarding_service"), route("rr"), encodeBody(body)), undefined);
    // A proof with no challenge before it.
    await ask({ t: "register", id: "r0", name: "bob", over: "connection", proof: "00".repeat(16) });
    await until(() => heard.length > 0, "an answer");
    expect(heard[0]).toMatchObject({ t: "registered", id: "r0", over: "channel" });
    await ask({ t: "register", id: "r1", name: "bob", over: "connection" });
    await until(() => heard.length > 1 && bare.length > 0, "a challenge on the connection and an answer in the channel");
    expect(heard[1]).toEqual({ t: "challenge", id: "r1" });
    expect(bare[0]).toMatchObject({ t: "prove", id: "r1" });
    // A wrong nonce uses the challenge up: the right one after it proves nothing.
    await ask({ t: "register", id: "r2", name: "bob", over: "connection", proof: "00".repeat(16) });
    await until(() => heard.length > 2, "an answer to a wrong proof");
    expect(heard[2]).toMatchObject({ t: "registered", id: "r2", over: "channel" });
    await ask({ t: "register", id: "r3", name: "bob", over: "connection", proof: bare[0]!.nonce });
    await until(() => heard.length > 3, "an answer to a late proof");
    expect(heard[3]).toMatchObject({ t: "registered", id: "r3", over: "channel" });
    // A new challenge, answered right: granted.
    await ask({ t: "register", id: "r4", name: "bob", over: "connection" });
    await until(() => heard.length > 4 && bare.length > 1, "a second challenge");
    await ask({ t: "register", id: "r5", name: "bob", over: "connection", proof: bare[1]!.nonce });
    await until(() => heard.length > 5, "an answer to the proof");
    expect(heard[5]).toMatchObject({ t: "registered", id: "r5", over: "connection" });
    expect(relay.service.registrations.get("bob")!.over).toBe("connection");
  });

  it("the direct case proves the connection: the challenge reaches the RemoteRelay on the bare connection only", async () => {
    const relay = await relayNode(true);
    const b = await bobNode(await createIdentity(), relay.address, "connection");
    expect(b.relay.forwardingOver).toBe("connection");
    expect(relay.service.registrations.get("bob")!.over).toBe("connection");
    // A challenge that comes inside the channel, or a second one on the connection, changes nothing.
    const connection = relay.service.registrations.get("bob")!.forwarder.to.next();
    await relay.n.send(route(connection, b.relay.address.toString()), { t: "prove", id: "x", nonce: "00" });
    const a = await alice(relay.address);
    expect(await a.n.sendAndReceive<string>(route(a.channel, "echoer"), "ok", { timeout: 10_000 })).toBe("ok");
    expect(b.relay.registrations).toBe(1);
  });

  it("a registrant that does not get the challenge falls back to the channel mode", async () => {
    const relay = await relayNode(true);
    // Everything the relay node sends on a bare connection with a "prove" body is lost (an active attacker on that hop).
    const send = relay.n.router.route.bind(relay.n.router);
    relay.n.router.route = ((message, key) => {
      try {
        const body = (message.payloadLength < 200 ? decodeBody(message.payload) : undefined) as { t?: string } | undefined;
        if (body?.t === "prove") return undefined;
      } catch {}
      return send(message, key);
    }) as typeof relay.n.router.route;
    const b = await bobNode(await createIdentity(), relay.address, "connection");
    expect(b.relay.forwardingOver).toBe("channel");
    expect(relay.service.registrations.get("bob")!.over).toBe("channel");
    const a = await alice(relay.address);
    expect(await a.n.sendAndReceive<string>(route(a.channel, "echoer"), "ok", { timeout: 10_000 })).toBe("ok");
  });

  it("forwardOver must be \"channel\" or \"connection\"; allowForwardOverConnection a boolean", async () => {
    const { n, tcp } = await startNode();
    await expect(
      createRemoteRelay(n, { name: "bob", identity: await createIdentity(), connect: async () => ({ route: "x" }), forwardOver: "tcp" as ForwardOver }),
    ).rejects.toMatchObject({ option: "forwardOver" });
    await expect(startRelayService(n, { policy: allowAnyIdentity(), allowForwardOverConnection: "yes" as unknown as boolean })).rejects.toMatchObject({
      option: "allowForwardOverConnection",
    });
    void tcp;
  });
});
