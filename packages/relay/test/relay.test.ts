import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, deferred, encodeBody, InvalidOptionError, LocalMessage, node, route, startRelay, waitFor, type Context, type Logger, type Node, type NodeOptions, type Routed } from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  exportIdentity,
  SecureChannelListenerOptions,
  trustIdentifier,
  UntrustedIdentityError,
  type Identity,
  type SecureChannel,
} from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions, type TcpConnection, type TcpTransport } from "@hopwire/transport-tcp";
import {
  allowRegistrations,
  createRemoteRelay,
  RelayRegistrationRefusedError,
  RelayReplacedError,
  startRelayService,
  type RelayServiceEvent,
  RelayUnreachableError,
  type RemoteRelayEvent,
  tcpRelayConnector,
} from "../dist/index.js";
import { eventually } from "../../../test/support/eventually.js";
import { recordProcessEvents } from "../../../test/support/process-events.js";
import { recordingConnector } from "./relay-node.js";

// Three nodes in one process, joined by real TCP on 127.0.0.1 and real secure channels:
// the relay node, bob (behind "NAT": it only connects out) and alice.
const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function startNode(options?: NodeOptions): Promise<{ n: Node; tcp: TcpTransport }> {
  const n = await node(options);
  nodes.push(n);
  return { n, tcp: await createTcpTransport(n) };
}

/** The relay node: TCP listener, secure channel listener "api", relay service allowing `bobs` to register "bob". */
async function relayNode(bobs: Identity[]) {
  const { n, tcp } = await startNode();
  const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const identity = await createIdentity();
  const scl = await createSecureChannelListener(n, identity, "api", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
  const events: RelayServiceEvent[] = [];
  const service = await startRelayService(n, {
    policy: allowRegistrations({ bob: bobs.map((b) => b.identifier) }),
    // One id each, not a list: as consumerOf takes them elsewhere (the "refuses … secure channel" test passes a list).
    serviceConsumerOf: scl.flowControlId,
    forwarderConsumerOf: listener.flowControlId,
    onEvent: (e) => events.push(e),
  });
  return { n, tcp, address: listener.address.toString(), service, events, identity };
}

/**
 * Bob: an echoer that tags its replies, reachable through the relay over a secure channel only.
 * Its RemoteRelay's events are kept in `events`, unless `onEvent` is given.
 */
async function bobNode(
  identity: Identity,
  relayAddress: string,
  tag: string,
  options: { heartbeatIntervalMs?: number; replyTimeoutMs?: number; onEvent?: (e: RemoteRelayEvent) => void; logger?: Logger } = {},
) {
  const { n, tcp } = await startNode(options.logger ? { logger: options.logger } : undefined);
  await n.startWorker("echoer", { async handleMessage(ctx: Context, msg: Routed<string>) { await ctx.send(msg.returnRoute, `${tag}:${msg.body}`); } }, { placement: "main" });
  const connections: TcpConnection[] = [];
  const events: RemoteRelayEvent[] = [];
  const relay = await createRemoteRelay(n, {
    name: "bob",
    identity,
    connect: recordingConnector(tcp, relayAddress, connections),
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 200,
    replyTimeoutMs: options.replyTimeoutMs ?? 3_000,
    backoff: { initialMs: 20, maxMs: 200 },
    onEvent: options.onEvent ?? ((e) => events.push(e)),
  });
  const scl = await createSecureChannelListener(n, identity, "bob_listener", new SecureChannelListenerOptions().asConsumer(relay.flowControlId));
  n.flowControls.addConsumer("echoer", scl.flowControlId);
  return { n, relay, connections, events };
}

/** Alice: a fresh connection to the relay node, a secure channel to bob through forward_to_bob, one echo. */
async function echoThroughRelay(relayAddress: string, text: string): Promise<string> {
  const { n, tcp } = await startNode();
  const alice = await createIdentity();
  const connection = await tcp.connect(relayAddress, new TcpConnectionOptions());
  const channel = await createSecureChannel(n, alice, route(connection, "forward_to_bob", "bob_listener"));
  return n.sendAndReceive<string>(route(channel, "echoer"), text, { timeout: 10_000 });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  await waitFor<void>((resolve) => {
    const timer = setInterval(() => condition() && (clearInterval(timer), resolve()), 10);
  }, { what, timeout: 20_000 });
}

describe("relay service and RemoteRelay", () => {
  it("bob, who only connects out, registers 'bob'; alice reaches bob's echoer through forward_to_bob inside a channel to bob", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const b = await bobNode(bob, relay.address, "bob");
    expect(b.relay.forwarderAddress).toBe("forward_to_bob");
    expect(relay.service.registrations.get("bob")?.identifier).toBe(bob.identifier);
    expect(await echoThroughRelay(relay.address, "Hello Ockam!")).toBe("bob:Hello Ockam!");
  });

  it("what arrives through the relay reaches only consumers of the RemoteRelay's flow control id", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    await bobNode(bob, relay.address, "bob");
    const { n, tcp } = await startNode();
    const connection = await tcp.connect(relay.address, new TcpConnectionOptions());
    // echoer is a consumer of bob_listener's channels only, not of the relay: no reply.
    await expect(n.sendAndReceive(route(connection, "forward_to_bob", "echoer"), "plain", { timeout: 1_500 })).rejects.toMatchObject({
      code: "TIMEOUT",
    });
    expect(await echoThroughRelay(relay.address, "through a channel")).toBe("bob:through a channel");
  });

  it("refuses to register a name for an identity the policy does not allow for it, with a typed error", async () => {
    const bob = await createIdentity();
    const mallory = await createIdentity();
    const relay = await relayNode([bob]);
    const attempt = bobNode(mallory, relay.address, "mallory");
    await expect(attempt).rejects.toBeInstanceOf(RelayRegistrationRefusedError);
    await expect(attempt).rejects.toMatchObject({ code: "RELAY_REGISTRATION_REFUSED" });
    expect(relay.service.registrations.has("bob")).toBe(false);
    expect(relay.events).toContainEqual({ kind: "refused", name: "bob", code: "RELAY_REGISTRATION_REFUSED", identifier: mallory.identifier });
    // The allowed identity still can.
    await bobNode(bob, relay.address, "bob");
    expect(await echoThroughRelay(relay.address, "after")).toBe("bob:after");
  });

  it("refuses a registration whose forwarder address is another worker's on the relay node", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    await relay.n.startWorker("forward_to_bob", { handleMessage() {} }, { placement: "main" });
    await expect(bobNode(bob, relay.address, "bob")).rejects.toMatchObject({ code: "RELAY_REGISTRATION_REFUSED" });
  });

  // The runtime's words were "start it (node.startWorker("forward_to_bob", ...))": wrong for a forwarder (a user trial).
  it("says in a relay's terms that nobody holds a name a message came for, and not after the service stopped", async () => {
    const lines: string[] = [];
    const { n } = await startNode({ warnings: (line) => void lines.push(line) });
    await startRelayService(n, { policy: () => true, address: "relays" });
    await startRelay(n, "to_bob", route("forward_to_bob"));
    await expect(n.send("to_bob", "for bob")).rejects.toMatchObject({ code: "ADDRESS_UNKNOWN" });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/dropped a message from to_bob for "forward_to_bob": no relay is registered as "bob" on this node now: the node that registers it \(createRemoteRelay\) is not connected, or the sender names the wrong relay\./);
    await n.stopWorker("relays");
    await startRelay(n, "to_carol", route("forward_to_carol"));
    await expect(n.send("to_carol", "for carol")).rejects.toMatchObject({ code: "ADDRESS_UNKNOWN" });
    expect(lines[1]).toMatch(/no worker has the address "forward_to_carol" on this node: start it/);
  });

  // An adversarial trial (session 44): a peer that withheld its channel's credit and pinged held
  // the service 5 s per ping (its replies waited with a timeout), and every registrant's heartbeat
  // and registration timed out behind it.
  it("answers every asker at once while one asker takes no answers (one answer to it waits, the rest are dropped)", async () => {
    const lines: string[] = [];
    const { n } = await startNode({ warnings: false, logger: createLogger("hopwire", { debug: "hopwire*", sink: (line) => lines.push(line) }) });
    await startRelayService(n, { policy: () => true });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    await n.startWorker("deaf", { handleMessage: () => gate }, { placement: "main", mailbox: { maxMessages: 1 } });
    // Twenty pings whose answers go to "deaf", which takes one and then holds its mailbox full.
    for (let i = 0; i < 20; i++) await n.forward(new LocalMessage(route("forwarding_service"), route("deaf"), encodeBody({ t: "ping", id: `p${i}`, name: "bob" })));
    await eventually(() => n.router.localMailbox("deaf")!.isFull, 20_000, "the deaf asker full");
    // Awaiting its answers (5 s each), the service answered nobody else for 95 s.
    const pong = await n.sendAndReceive<{ t: string; id: string }>("forwarding_service", { t: "ping", id: "honest", name: "bob" }, { timeout: 2_000 });
    expect(pong).toMatchObject({ t: "pong", id: "honest" });
    expect(lines.filter((line) => line.includes("dropped a reply: an earlier one to the same asker still waits for room")).length).toBeGreaterThan(0);
    open();
  });

  // An adversarial trial (session 54): a 15 MB body of empty maps decoded into ~1 GB on the relay
  // node's main thread (2.5-3 s each). A request is a few dozen bytes: a larger body is not decoded.
  it("does not decode a body larger than any request: it is dropped, however valid", async () => {
    const { n } = await startNode({ warnings: false });
    await startRelayService(n, { policy: () => true });
    await n.startWorker("asker", { handleMessage: (ctx: Context, msg: Routed) => void ctx.send("app", msg.body) }, { placement: "main" });
    // A valid ping padded past the limit, then a plain one, from the same asker: answered in order, so the
    // first's answer would come before the second's.
    const padded = encodeBody({ t: "ping", id: "padded", name: "bob", pad: "x".repeat(2_000) });
    await n.forward(new LocalMessage(route("forwarding_service"), route("asker"), padded));
    await n.forward(new LocalMessage(route("forwarding_service"), route("asker"), encodeBody({ t: "ping", id: "plain", name: "bob" })));
    expect((await n.receive<{ id: string }>({ timeout: 10_000 })).body).toMatchObject({ t: "pong", id: "plain" });
  });

  // A review (session 44): with its answers dropped whenever their first hop was full, a busy
  // registrant's pong (its forwarder fills the same channel) was lost, and it reconnected,
  // cutting every relayed connection. A reply may wait for room, one per asker.
  it("keeps a registrant whose channel is busy with relayed traffic registered: its pongs wait for room, not dropped", async () => {
    const bobIdentity = await createIdentity();
    const { address } = await relayNode([bobIdentity]);
    const events: RemoteRelayEvent[] = [];
    const bob = await bobNode(bobIdentity, address, "b", { heartbeatIntervalMs: 100, replyTimeoutMs: 2_000, onEvent: (e) => events.push(e) });
    let got = 0;
    // A slow but honest consumer: 1 ms per 64 KiB message, so the channel from the relay node is at its bound.
    await bob.n.startWorker("sink", { async handleMessage() { got++; await new Promise((resolve) => setTimeout(resolve, 1)); } }, { placement: "main" });
    bob.n.flowControls.addConsumer("sink", bob.relay.flowControlId);
    const { n: alice, tcp } = await startNode();
    const connection = await tcp.connect(address, new TcpConnectionOptions());
    const chunk = encodeBody(new Uint8Array(64 * 1024));
    const until = performance.now() + 5_000;
    while (performance.now() < until && !events.some((e) => e.kind === "disconnected")) {
      await alice.forward(new LocalMessage(route(connection, "forward_to_bob", "sink"), route(), chunk), { timeout: 10_000 });
    }
    expect(events.filter((e) => e.kind === "disconnected")).toEqual([]);
    expect(got).toBeGreaterThan(100);
  }, 60_000);

  it("refuses a registration that did not come over a secure channel", async () => {
    const { n, tcp } = await startNode();
    const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
    // The service is reachable straight from TCP here, so the only check left is the channel's identity.
    await startRelayService(n, { policy: () => true, serviceConsumerOf: [listener.flowControlId] });
    const other = await startNode();
    const connection = await other.tcp.connect(listener.address.toString(), new TcpConnectionOptions());
    const reply = await other.n.sendAndReceive(route(connection, "forwarding_service"), { t: "register", id: "1", name: "bob" }, { timeout: 10_000 });
    expect(reply).toMatchObject({ t: "refused", code: "RELAY_NOT_SECURE" });
    expect(n.router.has(route("forward_to_bob").next())).toBe(false);
  });

  it("a \"*\" rule grants names without a rule of their own, never a named rule's name", async () => {
    const bob = await createIdentity();
    const mallory = await createIdentity();
    const policy = allowRegistrations({ bob: [bob.identifier], "*": [mallory.identifier] });
    expect(await policy("bob", bob.identifier)).toBe(true);
    expect(await policy("carol", mallory.identifier)).toBe(true);
    // Before, the wildcard let mallory take bob's name as well.
    expect(await policy("bob", mallory.identifier)).toBe(false);
    expect(await policy("carol", bob.identifier)).toBe(false);
  });

  it("one registrant channel holds at most maxNamesPerChannel names; it may register those again, and others once one is gone", async () => {
    const { n, tcp } = await startNode();
    const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
    const scl = await createSecureChannelListener(n, await createIdentity(), "api", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
    const service = await startRelayService(n, { policy: () => true, serviceConsumerOf: scl.flowControlId, maxNamesPerChannel: 2 });
    const registrant = await startNode();
    const connection = await registrant.tcp.connect(listener.address.toString(), new TcpConnectionOptions());
    const channel = await createSecureChannel(registrant.n, await createIdentity(), route(connection, "api"));
    const register = (name: string) => registrant.n.sendAndReceive<{ t: string; message?: string }>(route(channel, "forwarding_service"), { t: "register", id: name, name }, { timeout: 10_000 });
    expect(await register("a")).toMatchObject({ t: "registered" });
    expect(await register("b")).toMatchObject({ t: "registered" });
    expect(await register("c")).toMatchObject({ t: "refused", code: "RELAY_REGISTRATION_REFUSED", message: "A secure channel may hold at most 2 relay names at once (maxNamesPerChannel)" });
    expect(await register("a")).toMatchObject({ t: "registered" }); // again: still two names
    expect([...service.registrations.keys()].sort()).toEqual(["a", "b"]);
    // Another channel may take one of them over; this channel then has room again.
    const other = await createSecureChannel(registrant.n, await createIdentity(), route(connection, "api"));
    expect(await registrant.n.sendAndReceive(route(other, "forwarding_service"), { t: "register", id: "x", name: "b" }, { timeout: 10_000 })).toMatchObject({ t: "registered" });
    expect(await register("c")).toMatchObject({ t: "registered" });
    await expect(startRelayService(n, { policy: () => true, address: "bad", maxNamesPerChannel: 0 })).rejects.toMatchObject({ option: "maxNamesPerChannel" });
  });

  it("one identity holds at most maxNamesPerIdentity names over all its channels, and the service at most maxNames", async () => {
    const { n, tcp } = await startNode();
    const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
    const scl = await createSecureChannelListener(n, await createIdentity(), "api", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
    const service = await startRelayService(n, { policy: () => true, serviceConsumerOf: scl.flowControlId, maxNamesPerChannel: 2, maxNamesPerIdentity: 3, maxNames: 4 });
    const registrant = await startNode();
    const connection = await registrant.tcp.connect(listener.address.toString(), new TcpConnectionOptions());
    const tenant = await createIdentity();
    const register = (channel: SecureChannel, name: string) =>
      registrant.n.sendAndReceive<{ t: string; message?: string }>(route(channel, "forwarding_service"), { t: "register", id: name, name }, { timeout: 10_000 });
    // More channels do not give one identity more names (before, each channel had its own 2 here).
    const first = await createSecureChannel(registrant.n, tenant, route(connection, "api"));
    const second = await createSecureChannel(registrant.n, tenant, route(connection, "api"));
    expect(await register(first, "a")).toMatchObject({ t: "registered" });
    expect(await register(first, "b")).toMatchObject({ t: "registered" });
    expect(await register(second, "c")).toMatchObject({ t: "registered" });
    expect(await register(second, "d")).toMatchObject({ t: "refused", code: "RELAY_REGISTRATION_REFUSED", message: "An identity may hold at most 3 relay names at once (maxNamesPerIdentity)" });
    expect(await register(second, "a")).toMatchObject({ t: "registered" }); // its own name again: still three
    // Another identity may take the fourth name; then the service is full for new names, not for replacements.
    const other = await createSecureChannel(registrant.n, await createIdentity(), route(connection, "api"));
    expect(await register(other, "d")).toMatchObject({ t: "registered" });
    expect(await register(other, "e")).toMatchObject({ t: "refused", code: "RELAY_REGISTRATION_REFUSED", message: "This relay node holds 4 relay names, its most (maxNames)" });
    expect(await register(other, "b")).toMatchObject({ t: "registered" });
    expect(service.registrations.size).toBe(4);
    // The tenant lost "b" (and "a" moved to its second channel): it has room for one more, the service has none.
    expect(await register(first, "e")).toMatchObject({ t: "refused", message: "This relay node holds 4 relay names, its most (maxNames)" });
    await other.close();
    await vi.waitFor(() => expect(service.registrations.size).toBe(2), { timeout: 20_000 });
    expect(await register(first, "e")).toMatchObject({ t: "registered" });
    await expect(startRelayService(n, { policy: () => true, address: "bad", maxNamesPerIdentity: 0 })).rejects.toMatchObject({ option: "maxNamesPerIdentity" });
    await expect(startRelayService(n, { policy: () => true, address: "bad", maxNames: 1.5 })).rejects.toMatchObject({ option: "maxNames" });
  });

  it("a service address that nothing has on the relay node: RelayUnreachableError naming it and the option", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const { n, tcp } = await startNode();
    const error = await createRemoteRelay(n, {
      name: "bob",
      identity: bob,
      service: "nope",
      connect: async (signal) => {
        const c = await tcp.connect(relay.address, new TcpConnectionOptions(), { signal });
        return { route: c, closed: c.whenClosed(), close: () => c.stop() };
      },
      replyTimeoutMs: 500,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RelayUnreachableError);
    // Before: "The relay service did not answer a register within 500 ms", naming neither.
    expect((error as Error).message).toBe(
      'The relay service "nope" on the relay node did not answer a register within 500 ms (is that the relay node\'s relay service address, option "service"? The default is "forwarding_service")',
    );
  });

  it("registers again after the connection to the relay node drops, replacing the old forwarder", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const b = await bobNode(bob, relay.address, "bob");
    const first = relay.service.registrations.get("bob")!.forwarder;
    await b.connections[0]!.stop(); // the NAT drops bob's connection
    await until(() => b.relay.registrations >= 2, "re-registration");
    expect(b.events.map((e) => e.kind)).toContain("disconnected");
    expect(b.connections.length).toBeGreaterThanOrEqual(2);
    const second = relay.service.registrations.get("bob")!.forwarder;
    expect(second).not.toBe(first);
    expect(first.stopped).toBe(true);
    expect(await echoThroughRelay(relay.address, "again")).toBe("bob:again");
  });

  it("a connection that closes while a heartbeat awaits its answer is a loss at once, not after the reply timeout", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const b = await bobNode(bob, relay.address, "bob", { heartbeatIntervalMs: 50, replyTimeoutMs: 60_000 });
    // The relay node stops answering, as a hung one does: its service goes, its connections stay.
    // A ping it dropped is one bob still awaits.
    const pingDropped = new Promise<void>((resolve) => relay.n.on("dropped", (e) => e.address === "forwarding_service" && resolve()));
    await relay.n.stopWorker("forwarding_service");
    await pingDropped;
    const lost = Date.now();
    await b.connections[0]!.stop(); // then the connection goes (the relay node's process died)
    await until(() => b.events.some((e) => e.kind === "disconnected"), "disconnected");
    // Before, the loss waited for the ping's 60 s reply timeout and was reported as it.
    expect(Date.now() - lost).toBeLessThan(10_000);
    const disconnected = b.events.find((e) => e.kind === "disconnected") as Extract<RemoteRelayEvent, { kind: "disconnected" }>;
    expect(disconnected.reason.message).not.toMatch(/did not answer/);
  });

  it("a heartbeat the relay node does not answer says so, without the service-address hint of a first registration", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const b = await bobNode(bob, relay.address, "bob", { heartbeatIntervalMs: 50, replyTimeoutMs: 300 });
    await relay.n.stopWorker("forwarding_service"); // hung, as far as bob can tell: the channel stays up
    await until(() => b.events.some((e) => e.kind === "disconnected"), "disconnected");
    const disconnected = b.events.find((e) => e.kind === "disconnected") as Extract<RemoteRelayEvent, { kind: "disconnected" }>;
    // Before: '… did not answer a ping within 300 ms (is that the relay node's relay service address, option "service"? …)',
    // about an address that had answered the registration and every heartbeat until then.
    expect(disconnected.reason.message).toBe(
      'The relay node did not answer a heartbeat within 300 ms (its relay service "forwarding_service" answered before: the node is hung, overloaded or cut off)',
    );
  });

  it("a second registrant of the same name (an allowed identity) takes the name over", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const old = await bobNode(bob, relay.address, "old");
    expect(await echoThroughRelay(relay.address, "x")).toBe("old:x");
    await bobNode(bob, relay.address, "new");
    expect(relay.events.filter((e) => e.kind === "registered").map((e) => (e as { replaced: boolean }).replaced)).toEqual([false, true]);
    expect(await echoThroughRelay(relay.address, "y")).toBe("new:y");
    // The old registrant learns it at its next heartbeat and lets the name go (no flapping back).
    await until(() => old.relay.stopped, "the old registrant to stop");
    expect(old.events.at(-1)).toEqual({ kind: "replaced", name: "bob" });
    // What a supervised program awaits: why it gave up.
    expect(await old.relay.closed).toBeInstanceOf(RelayReplacedError);
    expect(relay.events.filter((e) => e.kind === "registered")).toHaveLength(2);
    expect(await echoThroughRelay(relay.address, "z")).toBe("new:z");
  });

  // It answered anyone "replaced": true for a held name, which told who asked which names are registered.
  it("tells that another holds a name only to the registrant it replaced, on its own channel", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    await bobNode(bob, relay.address, "bob");
    const ping = async (identity: Identity): Promise<unknown> => {
      const { n, tcp } = await startNode();
      const connection = await tcp.connect(relay.address, new TcpConnectionOptions());
      const channel = await createSecureChannel(n, identity, route(connection, "api"));
      return n.sendAndReceive(route(channel, "forwarding_service"), { t: "ping", id: "1", name: "bob" }, { timeout: 10_000 });
    };
    expect(await ping(await createIdentity())).toMatchObject({ t: "pong", registered: false, replaced: false });
    // Not even an identity allowed the name, on a channel that never held it (the replaced registrant's case is the takeover test's).
    expect(await ping(bob)).toMatchObject({ t: "pong", registered: false, replaced: false });
  });

  // Only the last replaced was remembered: the first, replaced twice before its heartbeat, was told nothing, registered
  // again and took the name back from the newest (a review's catch).
  it("a registrant replaced twice before its heartbeat learns it too, and the newest keeps the name", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const first = await bobNode(bob, relay.address, "first", { heartbeatIntervalMs: 1_500 });
    const second = await bobNode(bob, relay.address, "second");
    await bobNode(bob, relay.address, "third");
    await until(() => first.relay.stopped && second.relay.stopped, "the two replaced registrants to stop");
    expect(first.events.at(-1)).toEqual({ kind: "replaced", name: "bob" });
    expect(relay.events.filter((e) => e.kind === "registered")).toHaveLength(3);
    expect(await echoThroughRelay(relay.address, "z")).toBe("third:z");
  });

  it("rejects when the relay node cannot be reached at first, unless asked to retry until registered", async () => {
    const bob = await createIdentity();
    const { n, tcp } = await startNode();
    let relayAddress: string | undefined;
    const connect = async (signal: AbortSignal) => {
      if (relayAddress === undefined) throw new Error("the relay node is not up yet");
      const c = await tcp.connect(relayAddress, new TcpConnectionOptions(), { signal });
      return { route: c, closed: c.whenClosed(), close: () => c.stop() };
    };
    await expect(createRemoteRelay(n, { name: "bob", identity: bob, connect })).rejects.toThrow("the relay node is not up yet");
    const events: RemoteRelayEvent[] = [];
    const waiting = createRemoteRelay(n, {
      name: "bob",
      identity: bob,
      connect,
      retryUntilRegistered: true,
      backoff: { initialMs: 20, maxMs: 100 },
      onEvent: (e) => events.push(e),
    });
    await until(() => events.some((e) => e.kind === "retrying"), "a retry");
    const relay = await relayNode([bob]);
    relayAddress = relay.address;
    const remote = await waiting;
    expect(remote.registrations).toBe(1);
    expect(relay.service.registrations.get("bob")?.identifier).toBe(bob.identifier);
  });

  it("a relay node whose identity is not the pinned one is a final failure: no retry, even when asked to retry until registered", async () => {
    const bob = await createIdentity();
    const someoneElse = await createIdentity();
    const relay = await relayNode([bob]);
    const { n, tcp } = await startNode();
    const events: RemoteRelayEvent[] = [];
    const connect = async (signal: AbortSignal) => {
      const c = await tcp.connect(relay.address, new TcpConnectionOptions(), { signal });
      return { route: c, closed: c.whenClosed(), close: () => c.stop() };
    };
    const failure = await createRemoteRelay(n, {
      name: "bob",
      identity: bob,
      connect,
      trust: trustIdentifier(someoneElse.identifier),
      retryUntilRegistered: true,
      backoff: { initialMs: 20, maxMs: 100 },
      onEvent: (e) => events.push(e),
    }).catch((e: unknown) => e);
    expect((failure as Error).message).toMatch(new RegExp(`peer ${relay.identity.identifier} is not trusted`));
    expect((failure as Error).cause).toBeInstanceOf(UntrustedIdentityError);
    expect(events.filter((e) => e.kind === "retrying")).toEqual([]);
    expect(relay.service.registrations.has("bob")).toBe(false);
  });

  it("the forwarder goes away when the registrant stops", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const b = await bobNode(bob, relay.address, "bob");
    await b.relay.stop();
    await until(() => !relay.service.registrations.has("bob"), "forwarder removal");
    expect(relay.events.at(-1)).toMatchObject({ kind: "removed", name: "bob" });
  });

  it("a stopped RemoteRelay takes its flow with it: the consumers a program gave it keep no entry for it", async () => {
    // A node that registers and stops relays again and again (a name per session) makes its
    // workers consumers of each: every stopped RemoteRelay left its flow's set, and an entry
    // under each consumer's address, for as long as the node ran.
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const { n, tcp } = await startNode();
    await n.startWorker("echoer", { async handleMessage(ctx: Context, msg: Routed<string>) { await ctx.send(msg.returnRoute, msg.body); } }, { placement: "main" });
    const baseline = n.flowControls.flowCount;
    const stopped = [];
    for (let i = 0; i < 5; i++) {
      const remote = await createRemoteRelay(n, { name: "bob", identity: bob, connect: tcpRelayConnector(tcp, relay.address) });
      n.flowControls.addConsumer("echoer", remote.flowControlId);
      await remote.stop();
      stopped.push(remote.flowControlId);
    }
    expect(stopped.filter((id) => n.flowControls.isConsumer("echoer", id))).toEqual([]);
    expect(n.flowControls.flowCount).toBe(baseline);
  });
});

describe("stopping a RemoteRelay", () => {
  /** Bob's node and a RemoteRelay whose connection closes only after `release()`: until then its stop is in progress. */
  async function bobWithHeldClose(relayAddress: string, identity: Identity) {
    const { n, tcp } = await startNode();
    const held = deferred<void>();
    const state = { closed: false };
    const relay = await createRemoteRelay(n, {
      name: "bob",
      identity,
      connect: async (signal) => {
        const c = await tcp.connect(relayAddress, new TcpConnectionOptions(), { signal });
        const close = async () => {
          await held.promise;
          await c.stop();
          state.closed = true;
        };
        return { route: c, closed: c.whenClosed(), close };
      },
    });
    return { n, relay, state, release: () => held.resolve() };
  }

  // The second call resolved at once, its connection still open (a stop the relay began itself after a refusal, then the user's).
  it("a second stop() gets the first one's promise: it resolves once the connection is closed", async () => {
    const bob = await createIdentity();
    const b = await bobWithHeldClose((await relayNode([bob])).address, bob);
    const first = b.relay.stop();
    const second = b.relay.stop();
    expect(second).toBe(first);
    b.release();
    await second;
    expect(b.state.closed).toBe(true);
    expect(await b.relay.closed).toBeUndefined(); // stopped when asked: no reason to give
  });

  // The reconnection's connector returned its connection after stop() had begun (it had dialled
  // already): the attempt then failed on the aborted channel, and the loop returned, seeing the
  // stop, without closing what it had just been given; stop() resolved with it still open.
  it("a connection the connector hands over once the stop has begun is closed too, before stop() resolves", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const { n, tcp } = await startNode();
    const connections: TcpConnection[] = [];
    const dialled = deferred<void>();
    const handOver = deferred<void>();
    const remote = await createRemoteRelay(n, {
      name: "bob",
      identity: bob,
      backoff: { initialMs: 10, maxMs: 10 },
      connect: async () => {
        const c = await tcp.connect(relay.address, new TcpConnectionOptions());
        connections.push(c);
        if (connections.length > 1) {
          dialled.resolve();
          await handOver.promise;
        }
        return { route: c, closed: c.whenClosed(), close: () => c.stop() };
      },
    });
    await connections[0]!.stop(); // the remote relay reconnects
    await dialled.promise;
    const stopping = remote.stop();
    handOver.resolve();
    await stopping;
    expect(connections.map((c) => c.isClosed)).toEqual([true, true]);
  });

  // The node's stop closes its channels (the registration's too) before the remote relay's own
  // hook runs: the keep-alive loop saw its channel close and reported "disconnected" (the CLI's
  // outlet logged "relay bob disconnected from …: The secure channel is closed" between
  // "stopping" and "stopped"), as if the relay node had gone.
  it("node.stop() is no disconnection: no \"disconnected\" or \"retrying\" event, and closed resolves with undefined", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const b = await bobNode(bob, relay.address, "bob");
    await b.n.stop();
    // Settled once the relay has stopped: a report of the channel's close would have come before.
    expect(await b.relay.closed).toBeUndefined();
    expect(b.events.map((e) => e.kind)).toEqual(["registered"]);
  });

  // Its hook went as its stop began: node.stop() resolved with the remote relay still closing its connection.
  it("node.stop() during a stop in progress waits for it (the hook goes only once the stop is done)", async () => {
    const bob = await createIdentity();
    const b = await bobWithHeldClose((await relayNode([bob])).address, bob);
    void b.relay.stop();
    const timer = setTimeout(b.release, 500);
    await b.n.stop();
    clearTimeout(timer);
    expect(b.state.closed, "the remote relay's connection was closed when node.stop() resolved").toBe(true);
  });
});

describe("onEvent callbacks that throw", () => {
  // A throwing onEvent made the keep-alive loop's promise reject, with nothing to catch it
  // until stop(): an unhandled rejection, which ends a Node 20 process.
  const unhandled = recordProcessEvents("unhandledRejection");

  /** Bob as bobNode (tag "bob"), but with `onEvent` and a node whose logger keeps the relay's lines. */
  async function throwingBob(identity: Identity, relayAddress: string, onEvent: (e: RemoteRelayEvent) => void) {
    const lines: string[] = [];
    const logger = createLogger("hopwire", { debug: "hopwire:relay", sink: (line) => lines.push(line) });
    return { ...(await bobNode(identity, relayAddress, "bob", { onEvent, logger })), lines };
  }

  /** A relay node and throwingBob registered at it, whose onEvent records each event's kind, then runs `then` (which throws, or rejects). */
  async function bobWhoseOnEvent(then: (e: RemoteRelayEvent, kinds: string[]) => unknown) {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const kinds: string[] = [];
    const b = await throwingBob(bob, relay.address, (e) => {
      kinds.push(e.kind);
      return then(e, kinds);
    });
    return { relay, kinds, b };
  }

  it("a RemoteRelay whose onEvent throws on every event registers, and after its connection drops reports it, reconnects and registers again", async () => {
    // Before: the first "registered" threw out of the registration, and createRemoteRelay rejected with it.
    const { relay, kinds, b } = await bobWhoseOnEvent((e) => {
      throw new Error(`onEvent failed on ${e.kind}`);
    });
    expect(b.relay.registrations).toBe(1);
    expect(await echoThroughRelay(relay.address, "first")).toBe("bob:first");
    await b.connections[0]!.stop(); // the NAT drops bob's connection
    await eventually(() => kinds.includes("disconnected"), 20_000);
    await eventually(() => b.relay.registrations >= 2 || unhandled.length > 0, 20_000);
    expect(unhandled).toEqual([]);
    expect(b.relay.registrations).toBeGreaterThanOrEqual(2);
    expect(b.relay.stopped).toBe(false);
    expect(kinds.filter((k) => k === "registered").length).toBeGreaterThanOrEqual(2);
    expect(await echoThroughRelay(relay.address, "again")).toBe("bob:again");
    // Each throw is logged at warn, naming the event's kind only (not its address or identifier).
    expect(b.lines.some((l) => l.includes('hopwire:relay warn remote relay "bob": the onEvent callback threw on a "disconnected" event (ignored) Error: onEvent failed on disconnected'))).toBe(true);
    expect(b.lines.some((l) => l.includes(relay.identity.identifier) || l.includes("forward_to_bob"))).toBe(false);
  });

  it("an onEvent that throws once registered leaves the keep-alive loop running: no unhandled rejection when the connection drops", async () => {
    // Throws from the first event after the first registration: a "disconnected" in the keep-alive loop.
    const { kinds, b } = await bobWhoseOnEvent((e, seen) => {
      if (seen.length > 1) throw new Error(`onEvent failed on ${e.kind}`);
    });
    await b.connections[0]!.stop();
    await eventually(() => kinds.includes("disconnected"), 20_000);
    // Before: the loop's promise rejected unhandled here, and bob never registered again.
    await eventually(() => b.relay.registrations >= 2 || unhandled.length > 0, 20_000);
    expect(unhandled).toEqual([]);
    expect(b.relay.registrations).toBeGreaterThanOrEqual(2);
    expect(kinds.at(-1)).toBe("registered");
  });

  it("an async onEvent whose promise rejects is logged, not an unhandled rejection", async () => {
    const { kinds, b } = await bobWhoseOnEvent(async (e) => {
      throw new Error(`async onEvent failed on ${e.kind}`);
    });
    await b.connections[0]!.stop();
    await eventually(() => b.relay.registrations >= 2 || unhandled.length > 0, 20_000);
    await eventually(() => b.lines.filter((l) => l.includes("async onEvent failed on registered")).length >= 2 || unhandled.length > 0, 20_000);
    expect(unhandled).toEqual([]);
    expect(kinds).toContain("disconnected");
  });

  it("a relay service whose onEvent throws on every event still answers registrations and removes forwarders", async () => {
    const bob = await createIdentity();
    const mallory = await createIdentity();
    const { n, tcp } = await startNode();
    const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
    const scl = await createSecureChannelListener(n, await createIdentity(), "api", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
    const kinds: string[] = [];
    const service = await startRelayService(n, {
      policy: allowRegistrations({ bob: [bob.identifier] }),
      serviceConsumerOf: scl.flowControlId,
      forwarderConsumerOf: listener.flowControlId,
      onEvent: (e) => {
        kinds.push(e.kind);
        throw new Error(`service onEvent failed on ${e.kind}`);
      },
    });
    const address = listener.address.toString();
    // A refusal is still answered as one (before: the registrant waited out its reply timeout).
    await expect(bobNode(mallory, address, "mallory")).rejects.toBeInstanceOf(RelayRegistrationRefusedError);
    // Before: the throw came after the forwarder started and before the reply: bob timed out, unanswered.
    const b = await bobNode(bob, address, "bob");
    expect(service.registrations.has("bob")).toBe(true);
    expect(await echoThroughRelay(address, "through")).toBe("bob:through");
    await b.relay.stop();
    await eventually(() => !service.registrations.has("bob"), 20_000);
    expect(kinds).toEqual(["refused", "registered", "removed"]);
    expect(unhandled).toEqual([]);
  });
});

describe("relay options", () => {
  it("a misspelt key is an InvalidOptionError that points to the right name (handshakeTimeout: 1 was ignored)", async () => {
    const { n } = await startNode();
    const identity = await createIdentity();
    const connect = () => Promise.reject(new Error("never called"));
    const error = await createRemoteRelay(n, { name: "bob", identity, connect, handshakeTimeout: 1 } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({
      option: "handshakeTimeout",
      message: expect.stringMatching(/^remote relay options: unknown option "handshakeTimeout"; did you mean "handshakeTimeoutMs"\? known options: /),
    });
    await expect(createRemoteRelay(n, { name: "bob", identity, connect, backoff: { initial: 5 } } as never)).rejects.toMatchObject({
      option: "backoff.initial",
      message: expect.stringMatching(/did you mean "initialMs"\?/),
    });
    await expect(createRemoteRelay(n, { name: "bob", identity, connect, replyTimeoutMs: 2 ** 31 })).rejects.toMatchObject({ option: "replyTimeoutMs" });
    // Timers' delays, checked by the runtime's checkTimeoutOption: Infinity would fire at once, as 2^31 would.
    await expect(createRemoteRelay(n, { name: "bob", identity, connect, heartbeatIntervalMs: Infinity })).rejects.toMatchObject({
      option: "heartbeatIntervalMs",
      message: "remote relay options: heartbeatIntervalMs must be a positive number of milliseconds up to 2147483647; got Infinity",
    });
    await expect(createRemoteRelay(n, { name: "bob", identity, connect, backoff: { maxMs: Infinity } })).rejects.toMatchObject({
      option: "backoff.maxMs",
      message: "remote relay options: backoff.maxMs must be a positive number of milliseconds up to 2147483647; got Infinity",
    });
    await expect(createRemoteRelay(n, { name: "bob", identity, connect, backoff: { initialMs: "250" } } as never)).rejects.toMatchObject({
      option: "backoff.initialMs",
      message: expect.stringMatching(/; got "250"$/),
    });
    await expect(startRelayService(n, { policy: () => true, serviceConsumer: ["fc"] } as never)).rejects.toMatchObject({
      option: "serviceConsumer",
      message: expect.stringMatching(/^relay service options: unknown option "serviceConsumer"; did you mean "serviceConsumerOf"\?/),
    });
    expect(n.router.has(route("forwarding_service").next())).toBe(false);
  });

  it("options.identity must be an Identity: an exported one, a missing one or an identifier is refused at the call, before any dial", async () => {
    const { n } = await startNode();
    const identity = await createIdentity();
    let dials = 0;
    const connect = () => (dials++, Promise.reject(new Error("never called")));
    const exported = await createRemoteRelay(n, { name: "bob", identity: exportIdentity(identity) as never, connect }).catch((e: unknown) => e);
    expect(exported).toBeInstanceOf(InvalidOptionError);
    expect(exported).toMatchObject({ option: "identity", message: expect.stringMatching(/^createRemoteRelay: options\.identity is an exported identity .* pass importIdentity\(data\) instead$/) });
    await expect(createRemoteRelay(n, { name: "bob", connect } as never)).rejects.toMatchObject({
      option: "identity",
      message: "createRemoteRelay: options.identity is undefined; pass an Identity: createIdentity(), await loadIdentity(path) or importIdentity(data)",
    });
    await expect(createRemoteRelay(n, { name: "bob", identity: identity.identifier as never, connect })).rejects.toMatchObject({
      option: "identity",
      message: expect.stringMatching(/^createRemoteRelay: options\.identity is an identifier, /),
    });
    expect(dials).toBe(0);
  });

  it("a name or a rule entry that is no string is a typed error that says what it was (building the message threw a TypeError)", async () => {
    const { n } = await startNode();
    const identity = await createIdentity();
    let dials = 0;
    const connect = () => (dials++, Promise.reject(new Error("never called")));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const [bad, shown] of [[1n, "1n"], [circular, "an object"], [Object.create(null), "an object"], [Symbol("s"), "a symbol"], [() => "bob", "a function"]] as const) {
      await expect(createRemoteRelay(n, { name: bad as never, identity, connect })).rejects.toMatchObject({
        name: "RelayNameInvalidError",
        message: `Invalid relay name: got ${shown}, not a string of 1 to 64 letters, digits, '_', '-' or '.'`,
      });
      expect(() => allowRegistrations({ bob: [bad as never] })).toThrow(
        expect.objectContaining({ name: "InvalidOptionError", option: "rules.bob", message: `the rule for "bob" has an invalid identifier: ${shown}` }),
      );
    }
    await expect(createRemoteRelay(n, { name: "b o b", identity, connect })).rejects.toThrow(`Invalid relay name "b o b": 1 to 64 letters`);
    expect(() => allowRegistrations({ bob: [[Object.create(null)] as never] })).toThrow(/the rule for "bob" has an invalid identifier: an array$/);
    expect(() => allowRegistrations({ bob: "I3f" as never })).toThrow(expect.objectContaining({ option: "rules.bob", message: 'the rule for "bob" must be a list of identifiers, got "I3f"' }));
    expect(() => allowRegistrations(null as never)).toThrow(expect.objectContaining({ option: "rules", message: expect.stringMatching(/^relay registration rules must be an object .*, got null$/) }));
    expect(dials).toBe(0);
  });

  it("a trust that is no policy is refused at the call, before any dial (it failed in each attempt, retried for ever)", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const { n, tcp } = await startNode();
    let dials = 0;
    const connect = async (signal: AbortSignal) => {
      dials++;
      const c = await tcp.connect(relay.address, new TcpConnectionOptions(), { signal });
      return { route: c, closed: c.whenClosed(), close: () => c.stop() };
    };
    for (const [bad, shown] of [[5, "5"], [{}, "an object"], [relay.identity.identifier, JSON.stringify(`${relay.identity.identifier.slice(0, 60)}…`)]] as const) {
      const events: RemoteRelayEvent[] = [];
      const creating = createRemoteRelay(n, {
        name: "bob",
        identity: bob,
        connect,
        trust: bad as never,
        retryUntilRegistered: true,
        backoff: { initialMs: 20, maxMs: 100 },
        onEvent: (e) => events.push(e),
      });
      // Bounded: before the check, this promise never settled.
      const error = await waitFor<unknown>((resolve) => void creating.then(resolve, resolve), { what: "createRemoteRelay to settle", timeout: 10_000 });
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({
        option: "trust",
        message: expect.stringContaining(`remote relay options: trust must be a trust policy, a function such as trustIdentifier("I…") or trustEveryone(); got ${shown}`),
      });
      expect(events).toEqual([]);
    }
    expect(dials).toBe(0);
    expect(tcp.connections).toHaveLength(0);
    expect(relay.tcp.connections).toHaveLength(0);
    expect(relay.service.registrations.size).toBe(0);
  });

  it("an InvalidOptionError in an attempt is final, never retried (with retryUntilRegistered it was, a connection each time)", async () => {
    const bob = await createIdentity();
    const relay = await relayNode([bob]);
    const { n, tcp } = await startNode();
    let dials = 0;
    // A connector with a bad option: the transport refuses it, the same way on every attempt.
    const connect = async (signal: AbortSignal) => {
      dials++;
      const c = await tcp.connect(relay.address, { bogus: 1, signal } as never);
      return { route: c, closed: c.whenClosed(), close: () => c.stop() };
    };
    const events: RemoteRelayEvent[] = [];
    const creating = createRemoteRelay(n, { name: "bob", identity: bob, connect, retryUntilRegistered: true, backoff: { initialMs: 20, maxMs: 100 }, onEvent: (e) => events.push(e) });
    const error = await waitFor<unknown>((resolve) => void creating.then(resolve, resolve), { what: "createRemoteRelay to settle", timeout: 10_000 });
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ option: "bogus" });
    expect(events.filter((e) => e.kind === "retrying")).toEqual([]);
    expect(dials).toBe(1);
  });

  it("a connector that resolves to no RelayConnection is an InvalidOptionError naming connect, once (it was a TypeError reading 'route')", async () => {
    const bob = await createIdentity();
    const { n } = await startNode();
    for (const resolved of [undefined, null, 5, {}]) {
      let calls = 0;
      const connect = async () => (calls++, resolved as never);
      const error = await createRemoteRelay(n, { name: "bob", identity: bob, connect, retryUntilRegistered: true, backoff: { initialMs: 20, maxMs: 100 } }).catch((e: unknown) => e);
      expect(error, String(resolved)).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ option: "connect", message: expect.stringMatching(/^options\.connect resolved to .*, expected a RelayConnection such as \{ route: connection \}$/) });
      expect(calls).toBe(1);
    }
  });

  it("serviceConsumerOf takes one id (it made a consumer of each of its characters) or several", async () => {
    const { n } = await startNode();
    const service = await startRelayService(n, { policy: () => true, serviceConsumerOf: "fc_one" });
    expect(n.flowControls.isConsumer(service.address, "fc_one")).toBe(true);
    expect(n.flowControls.isConsumer(service.address, "f")).toBe(false);
    const other = await startRelayService(n, { policy: () => true, address: "other_service", serviceConsumerOf: ["fc_a", "fc_b"] });
    expect(n.flowControls.isConsumer(other.address, "fc_a") && n.flowControls.isConsumer(other.address, "fc_b")).toBe(true);
    await expect(startRelayService(n, { policy: () => true, address: "third", serviceConsumerOf: [""] })).rejects.toMatchObject({ option: "serviceConsumerOf" });
    await expect(startRelayService(n, { policy: () => true, address: "fourth", forwarderConsumerOf: 5 } as never)).rejects.toMatchObject({
      option: "forwarderConsumerOf",
      message: "relay service options: forwarderConsumerOf must be a flow control id or an array of them, got 5",
    });
  });
});
