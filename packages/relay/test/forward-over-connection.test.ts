// forwardOver "connection": the relay node passes what reaches forward_to_<name> on to the registrant
// on the TCP connection under the registrant's secure channel, not inside that channel. Three nodes in
// one process, real TCP on 127.0.0.1, real secure channels, as relay.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import { node, route, waitFor, type Address, type Context, type Mailbox, type Node, type Routed } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, type Identity } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions, type TcpConnection, type TcpTransport } from "@hopwire/transport-tcp";
import { allowAnyIdentity, createRemoteRelay, startRelayService, type ForwardOver, type RelayServiceEvent } from "../dist/index.js";

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
    connect: async (signal) => {
      const c = await tcp.connect(relayAddress, new TcpConnectionOptions(), { signal });
      connections.push(c);
      return { route: c, closed: c.whenClosed(), close: () => c.stop() };
    },
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
