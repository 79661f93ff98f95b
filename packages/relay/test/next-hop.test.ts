import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { node, route, waitFor, type Context, type Node, type Routed } from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  SecureChannelListenerOptions,
  SecureChannelTransportError,
  type SecureChannel,
} from "@hopwire/secure-channel";
import { createTcpTransport, NextHopClosedError, TcpConnectionOptions, TcpListenerOptions, type TcpConnection, type TcpTransport } from "@hopwire/transport-tcp";
import { killAll, startChild, type Child } from "../../../test/support/children.js";
import { allowAnyIdentity, createRemoteRelay, startRelayService, type RelayServiceEvent } from "../dist/index.js";

// The next-hop rule at a relay service (docs/transport-tcp.md, "When the hop after a relay
// dies"): the connection a registration came in on is a next hop. The relay node and the
// nodes whose side is checked run in this process; the node killed with kill -9 is a child
// process (fixtures/registrant.mjs), in its own process group.
const registrantFixture = fileURLToPath(new URL("./fixtures/registrant.mjs", import.meta.url));

const nodes: Node[] = [];
afterEach(async () => {
  killAll();
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function startNode(name: string): Promise<{ n: Node; tcp: TcpTransport }> {
  const n = await node({ name });
  nodes.push(n);
  return { n, tcp: await createTcpTransport(n) };
}

/** The relay node: TCP listener, secure channel listener "api", a relay service that lets anyone register any name. */
async function relayNode() {
  const { n, tcp } = await startNode("relay");
  const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const api = await createSecureChannelListener(n, await createIdentity(), "api", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
  const events: RelayServiceEvent[] = [];
  const service = await startRelayService(n, {
    policy: allowAnyIdentity(),
    serviceConsumerOf: api.flowControlId,
    forwarderConsumerOf: listener.flowControlId,
    onEvent: (e) => events.push(e),
  });
  return { n, tcp, listener, service, events, address: listener.address.toString() };
}

/** A registrant of `name` as a child process (kill -9 it to kill the node). */
async function registrantProcess(relayAddress: string, name: string, peer?: string): Promise<Child> {
  const child = startChild(registrantFixture, [relayAddress, name, ...(peer === undefined ? [] : [peer])]);
  await child.line(/^REGISTERED /);
  return child;
}

/**
 * A registrant of `name` in this process. Its registration connection (`connection`, also
 * for channels of its own) is made once, or with `reconnect` anew at each (re)connect (`connections`).
 */
async function registrantHere(relayAddress: string, name: string, reconnect = false) {
  const { n, tcp } = await startNode(name);
  const identity = await createIdentity();
  await n.startWorker("echoer", { async handleMessage(ctx: Context, m: Routed<string>) { await ctx.send(m.returnRoute, `${name}:${m.body}`); } }, { placement: "main" });
  const connections = [await tcp.connect(relayAddress, new TcpConnectionOptions())];
  const connection = connections[0]!;
  const relay = await createRemoteRelay(n, {
    name,
    identity,
    backoff: { initialMs: 20, maxMs: 200 },
    connect: async () => {
      if (reconnect && connections.at(-1)!.state !== "open") connections.push(await tcp.connect(relayAddress, new TcpConnectionOptions()));
      const c = connections.at(-1)!;
      return { route: c, closed: c.whenClosed(), close: () => c.stop() };
    },
  });
  const listener = await createSecureChannelListener(n, identity, "listener", new SecureChannelListenerOptions().asConsumer(relay.flowControlId));
  n.flowControls.addConsumer("echoer", listener.flowControlId);
  return { n, identity, connection, connections, relay };
}

/** A secure channel from `n` over `connection` through forward_to_<name> to that registrant's "listener". */
async function channelTo(n: Node, connection: TcpConnection, name: string): Promise<SecureChannel> {
  return createSecureChannel(n, await createIdentity(), route(connection, `forward_to_${name}`, "listener"));
}

function echo(n: Node, channel: SecureChannel, text: string): Promise<string> {
  return n.sendAndReceive<string>(route(channel, "echoer"), text, { timeout: 20_000 });
}

/** The relay node's side of the connection whose peer is `local` (an initiator's local address). */
function acceptedFrom(relay: { tcp: TcpTransport }, local: string): TcpConnection {
  const found = relay.tcp.connections.find((c) => c.mode === "incoming" && c.peer === local);
  if (!found) throw new Error(`the relay node has no connection from ${local}`);
  return found;
}

/** The reason `connection` closed with, if it closes within `timeout` ms (a bound far beyond what the rule takes). */
function closed(connection: TcpConnection, what: string, timeout = 15_000): Promise<Awaited<ReturnType<TcpConnection["whenClosed"]>>> {
  return waitFor((resolve) => void connection.whenClosed().then(resolve), { what, timeout });
}

/** Resolves when `condition` holds (checked every 10 ms), at most `timeout` ms. */
function until(condition: () => boolean, what: string, timeout = 20_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return waitFor<void>((resolve) => (timer = setInterval(() => condition() && resolve(), 10)), { what, timeout, cleanup: () => clearInterval(timer) });
}

describe("the next-hop rule at a relay service: a registrant's connection is a next hop", { timeout: 60_000 }, () => {
  it("kill -9 of the registrant: the relay node closes the initiator's connection at once (NextHopClosedError), and its channel closes", async () => {
    const relay = await relayNode();
    const bob = await registrantProcess(relay.address, "bob");
    try {
      const registrantSide = relay.tcp.connections.find((c) => c.isNextHop);
      expect(registrantSide?.mode).toBe("incoming");
      const { n, tcp } = await startNode("initiator");
      const toRelay = await tcp.connect(relay.address, new TcpConnectionOptions());
      const channel = await channelTo(n, toRelay, "bob");
      expect(await echo(n, channel, "hello")).toBe("bob:hello");
      const initiatorSide = acceptedFrom(relay, toRelay.local);
      expect(initiatorSide.isNextHop).toBe(false);
      expect(registrantSide!.fedBy.has(initiatorSide)).toBe(true);

      const killedAt = performance.now();
      process.kill(-bob.process.pid!, "SIGKILL");
      // Bounded waits well beyond what the rule takes: without it, only the channel's peer timeout (30 s) would tell.
      const [closedAtRelay, channelClosed] = await Promise.all([
        closed(initiatorSide, "the relay node closing the initiator's connection"),
        waitFor<Awaited<SecureChannel["closed"]>>((resolve) => void channel.closed.then(resolve), { what: "the initiator's channel to close", timeout: 15_000 }),
      ]);
      const recoveryMs = performance.now() - killedAt;
      console.log(`registrant killed -> initiator's channel closed in ${recoveryMs.toFixed(0)} ms`);
      expect(closedAtRelay.cause).toBeInstanceOf(NextHopClosedError);
      expect((closedAtRelay.cause as NextHopClosedError).code).toBe("TCP_NEXT_HOP_CLOSED");
      // The initiator's side: its connection closed, so did the channel whose first hop it was.
      expect(toRelay.state).toBe("closed");
      expect(channelClosed).toBeInstanceOf(SecureChannelTransportError);
      expect(recoveryMs).toBeLessThan(5_000); // the channel's peer timeout is 30 s
      await until(() => !relay.service.registrations.has("bob"), "bob's registration to go");
    } finally {
      killAll();
    }
  });

  it("kill -9 of an initiator that is a registrant too: the other registrant's connection, which reached it, stays open and registered", async () => {
    const relay = await relayNode();
    // bob (here) registers "bob"; ivy (a process) registers "ivy" and reaches bob over the same
    // connection; bob reaches ivy over its registration connection. Each connection fed the other.
    const bob = await registrantHere(relay.address, "bob");
    const bobSide = relay.tcp.connections.find((c) => c.isNextHop)!;
    const ivy = await registrantProcess(relay.address, "ivy", "bob");
    try {
      expect((await ivy.line(/^REPLY (.*)$/))[1]).toBe("bob:hi");
      const toIvy = await createSecureChannel(bob.n, bob.identity, route(bob.connection, "forward_to_ivy", "listener"));
      expect(await echo(bob.n, toIvy, "hi")).toBe("ivy:hi");
      const ivySide = relay.tcp.connections.find((c) => c.isNextHop && c !== bobSide)!;
      expect(ivySide.fedBy.has(bobSide) && bobSide.fedBy.has(ivySide)).toBe(true);
      const forwarder = relay.service.registrations.get("bob")!.forwarder;

      process.kill(-ivy.process.pid!, "SIGKILL");
      await ivySide.whenClosed(); // the rule ran as it closed
      expect(bobSide.state).toBe("open");
      expect(bob.connection.state).toBe("open");
      expect(relay.service.registrations.get("bob")?.forwarder).toBe(forwarder);
      expect(forwarder.stopped).toBe(false);
      expect(relay.events.filter((e) => e.kind === "removed").map((e) => e.name)).toEqual(["ivy"]);

      // A new initiator reaches bob through the same registration.
      const { n, tcp } = await startNode("initiator");
      const channel = await channelTo(n, await tcp.connect(relay.address, new TcpConnectionOptions()), "bob");
      expect(await echo(n, channel, "still there")).toBe("bob:still there");
      expect(bob.relay.registrations).toBe(1);
    } finally {
      killAll();
    }
  });

  it("a registrant whose connection drops registers over a new one, which is a next hop in turn; the old one's closing closed the initiators that fed it", async () => {
    const relay = await relayNode();
    const bob = await registrantHere(relay.address, "bob", true);
    const { n, tcp } = await startNode("initiator");
    const first = await tcp.connect(relay.address, new TcpConnectionOptions());
    expect(await echo(n, await channelTo(n, first, "bob"), "1")).toBe("bob:1");
    const firstAtRelay = acceptedFrom(relay, first.local);

    await bob.connection.stop(); // the NAT drops bob's connection
    expect((await closed(firstAtRelay, "the first initiator's connection to close")).cause).toBeInstanceOf(NextHopClosedError);
    await until(() => bob.relay.registrations === 2, "bob's registration over a new connection");
    const newAtRelay = acceptedFrom(relay, bob.connections.at(-1)!.local);
    expect(newAtRelay.isNextHop).toBe(true);

    const second = await tcp.connect(relay.address, new TcpConnectionOptions());
    expect(await echo(n, await channelTo(n, second, "bob"), "2")).toBe("bob:2");
    const secondAtRelay = acceptedFrom(relay, second.local);
    await bob.connections.at(-1)!.stop();
    expect((await closed(secondAtRelay, "the second initiator's connection to close")).cause).toBeInstanceOf(NextHopClosedError);
  });

  it("an initiator's connection that fed two registrants stays open while one of them is alive", async () => {
    const relay = await relayNode();
    const bob = await registrantProcess(relay.address, "bob");
    try {
      const bobSide = relay.tcp.connections.find((c) => c.isNextHop)!;
      const carol = await registrantHere(relay.address, "carol");
      const { n, tcp } = await startNode("initiator");
      const toRelay = await tcp.connect(relay.address, new TcpConnectionOptions());
      const [toBob, toCarol] = [await channelTo(n, toRelay, "bob"), await channelTo(n, toRelay, "carol")];
      expect([await echo(n, toBob, "1"), await echo(n, toCarol, "2")]).toEqual(["bob:1", "carol:2"]);
      const initiatorSide = acceptedFrom(relay, toRelay.local);
      expect([...initiatorSide.feeds].length).toBe(2);

      process.kill(-bob.process.pid!, "SIGKILL");
      await bobSide.whenClosed(); // the rule ran as it closed
      expect(initiatorSide.state).toBe("open");
      expect(toRelay.state).toBe("open");
      expect(await echo(n, toCarol, "3")).toBe("carol:3");
      expect(carol.connection.state).toBe("open");
    } finally {
      killAll();
    }
  });
});
