import { afterEach, describe, expect, it } from "vitest";
import { Echoer, TimeoutError, UnknownAddressError, node, route, startRelay, type Context, type DeniedEvent, type DroppedEvent, type Node, type NodeWarning, type Route, type Routed } from "@hopwire/runtime";
import { createServer } from "node:net";
import { once } from "node:events";
import { FrameTooLargeError, MAX_FRAME_LENGTH, createTcpTransport } from "@hopwire/transport-tcp";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  SecureChannelListenerOptions,
  SecureChannelOptions,
} from "@hopwire/secure-channel";

// The three ways a message from the network dies silently for its sender (issue 11, item 3):
// the sender sees only a timeout, so the node where it died must say why, without DEBUG.

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/** A node whose warning lines go to `lines` (none without it), and the warnings in fields to `warnings`. */
async function startNode(lines?: string[], warnings?: NodeWarning[]): Promise<Node> {
  const sink = (line: string, warning: NodeWarning): void => {
    lines!.push(line);
    warnings?.push(warning);
  };
  const n = await node({ sendAndReceiveTimeout: 30_000, warnings: lines ? sink : false });
  nodes.push(n);
  return n;
}

function next<K extends "denied" | "dropped">(n: Node, name: K): Promise<K extends "denied" ? DeniedEvent : DroppedEvent> {
  return new Promise((resolve) => n.once(name, resolve as never));
}

/** A responder (its warnings in `lines`) with a TCP listener and an echoer reachable from nothing yet, and an initiator connected to it. */
async function echoerBehindTcp(lines: string[]) {
  const responder = await startNode(lines);
  const listener = await (await createTcpTransport(responder)).listen("127.0.0.1:0");
  await responder.startWorker("echoer", Echoer);
  const initiator = await startNode();
  const connection = await (await createTcpTransport(initiator)).connect(listener.address);
  return { responder, listener, initiator, connection };
}

/** A secure channel listener `name` on `n` that takes the flow `from`. */
async function channelListener(n: Node, name: string, from: string) {
  return createSecureChannelListener(n, await createIdentity(), name, new SecureChannelListenerOptions().asConsumer(from));
}

describe("a message the network cannot deliver is reported where it died", () => {
  it('forgetting addConsumer: "denied" names the worker and the listener\'s flow control id, and warns with the fix', async () => {
    const lines: string[] = [];
    const warnings: NodeWarning[] = [];
    const responder = await startNode(lines, warnings);
    const tcp = await createTcpTransport(responder);
    await responder.startWorker("echoer", Echoer); // in a thread; never made a consumer
    const listener = await tcp.listen("127.0.0.1:0");
    const initiator = await startNode();
    const connection = await (await createTcpTransport(initiator)).connect(listener.address);

    const denied = next(responder, "denied");
    const request = initiator.sendAndReceive(route(connection, "echoer"), "hello", { timeout: 500 });
    await expect(request).rejects.toBeInstanceOf(TimeoutError);
    const event = await denied;
    expect(event.address).toBe("echoer");
    expect(event.flowControlId).toBe(listener.flowControlId);
    expect(event.producerFlowControlId).not.toBe(listener.flowControlId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`flowControls.addConsumer("echoer", ${listener.flowControlId})`);
    expect(lines[0]).not.toContain("hello"); // never a payload
    // In fields: the event's, and the line's parts.
    const { parts, ...fields } = warnings[0]!;
    expect(fields).toEqual({ kind: "denied", ...event, suppressed: 0, sharedLimit: false });
    expect(`${parts.prefix} ${parts.body}${parts.suffix}`).toBe(lines[0]);
    expect(JSON.stringify(warnings[0])).not.toContain("hello");

    // The fix the warning names works.
    responder.flowControls.addConsumer("echoer", listener.flowControlId);
    expect(await initiator.sendAndReceive(route(connection, "echoer"), "hello", { timeout: 20_000 })).toBe("hello");
  });

  it('a consumer whose worker was never started: "dropped" with reason unknown-address', async () => {
    const lines: string[] = [];
    const responder = await startNode(lines);
    const listener = await (await createTcpTransport(responder)).listen("127.0.0.1:0");
    responder.flowControls.addConsumer("echoer", listener.flowControlId); // but no worker "echoer"
    const initiator = await startNode();
    const connection = await (await createTcpTransport(initiator)).connect(listener.address);

    const dropped = next(responder, "dropped");
    await expect(initiator.sendAndReceive(route(connection, "echoer"), "hello", { timeout: 500 })).rejects.toBeInstanceOf(TimeoutError);
    const event = await dropped;
    expect(event).toMatchObject({ address: "echoer", reason: "unknown-address" });
    // The error's code agrees with the reason (it was the flow-control denial's, FLOW_CONTROL_DENIED).
    expect(event.error).toBeInstanceOf(UnknownAddressError);
    expect((event.error as UnknownAddressError).code).toBe("ADDRESS_UNKNOWN");
    expect(lines.join("\n")).toContain('no worker has the address "echoer" on this node');
  });

  it("through a secure channel: the timeout says so, and the responder's warning names the channel listener's flow control id", async () => {
    const lines: string[] = [];
    const responder = await startNode(lines);
    const listener = await (await createTcpTransport(responder)).listen("127.0.0.1:0");
    const scl = await createSecureChannelListener(
      responder,
      await createIdentity(),
      "listener",
      new SecureChannelListenerOptions().asConsumer(listener.flowControlId),
    );
    await responder.startWorker("echoer", Echoer); // not a consumer of scl.flowControlId
    const initiator = await startNode();
    const connection = await (await createTcpTransport(initiator)).connect(listener.address);
    const channel = await createSecureChannel(initiator, await createIdentity(), route(connection, "listener"), new SecureChannelOptions());

    const denied = next(responder, "denied");
    const error = await initiator.sendAndReceive(route(channel, "echoer"), "hello", { timeout: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain("through the secure channel");
    expect((await denied).flowControlId).toBe(scl.flowControlId);
    expect(lines[0]).toContain(`flowControls.addConsumer("echoer", ${scl.flowControlId}) — the flowControlId of the listener "listener" that accepted it.`);
  });

  // Its advice was addConsumer(echoer, the TCP listener's flow): following it opened echoer to plaintext TCP, around the channel.
  it("straight over TCP to a worker only a secure channel listener reaches: the warning says it went around the listener, not how to let it in", async () => {
    const lines: string[] = [];
    const { responder, listener, initiator, connection } = await echoerBehindTcp(lines);
    const scl = await channelListener(responder, "listener", listener.flowControlId);
    responder.flowControls.addConsumer("echoer", scl.flowControlId);

    const denied = next(responder, "denied");
    await expect(initiator.sendAndReceive(route(connection, "echoer"), "hello", { timeout: 500 })).rejects.toBeInstanceOf(TimeoutError);
    expect((await denied).flowControlId).toBe(listener.flowControlId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`"echoer" is reachable only through "listener": the sender went around it (e.g. straight over TCP, without the secure channel).`);
    expect(lines[0]).toContain(`Adding a consumer for flow ${listener.flowControlId} would let such senders in; do it only if "echoer" should take messages that way.`);
    expect(lines[0]).not.toContain("call flowControls.addConsumer");
  });

  // Only one level was followed: behind a listener nested in another, the TCP sender got the advice to open the worker to TCP.
  it("straight over TCP to a worker behind nested secure channel listeners: it went around the inner one", async () => {
    const lines: string[] = [];
    const { responder, listener, initiator, connection } = await echoerBehindTcp(lines);
    const outer = await channelListener(responder, "outer", listener.flowControlId);
    const inner = await channelListener(responder, "inner", outer.flowControlId);
    responder.flowControls.addConsumer("echoer", inner.flowControlId);
    const denied = next(responder, "denied");
    await expect(initiator.sendAndReceive(route(connection, "echoer"), "hello", { timeout: 500 })).rejects.toBeInstanceOf(TimeoutError);
    await denied;
    expect(lines[0]).toContain(`"echoer" is reachable only through "inner": the sender went around it`);
  });

  // The "went around" words fired for any listener that led to the worker (a review's catch).
  it("through another secure channel listener than the one that leads to the worker: the plain advice, naming the listener that accepted it", async () => {
    const lines: string[] = [];
    const { responder, listener, initiator, connection } = await echoerBehindTcp(lines);
    const api = await channelListener(responder, "api", listener.flowControlId);
    const admin = await channelListener(responder, "admin", listener.flowControlId);
    responder.flowControls.addConsumer("echoer", api.flowControlId);
    const channel = await createSecureChannel(initiator, await createIdentity(), route(connection, "admin"), new SecureChannelOptions());

    const denied = next(responder, "denied");
    await expect(initiator.sendAndReceive(route(channel, "echoer"), "hello", { timeout: 500 })).rejects.toBeInstanceOf(TimeoutError);
    expect((await denied).flowControlId).toBe(admin.flowControlId);
    expect(lines[0]).toContain(`flowControls.addConsumer("echoer", ${admin.flowControlId}) — the flowControlId of the listener "admin" that accepted it.`);
    expect(lines[0]).not.toContain("went around");
  });

  it("a message for an address nobody has is reported as dropped, not as a missing addConsumer", async () => {
    const lines: string[] = [];
    const warnings: NodeWarning[] = [];
    const responder = await startNode(lines, warnings);
    const listener = await (await createTcpTransport(responder)).listen("127.0.0.1:0");
    const initiator = await startNode();
    const connection = await (await createTcpTransport(initiator)).connect(listener.address);

    const dropped = next(responder, "dropped");
    let denied = 0;
    responder.on("denied", () => denied++);
    await initiator.send(route(connection, "0123456789abcdef0123456789abcdef"), "late");
    const event = await dropped;
    expect(event).toMatchObject({ address: "0123456789abcdef0123456789abcdef", reason: "unknown-address" });
    expect((event.error as UnknownAddressError).code).toBe("ADDRESS_UNKNOWN");
    expect(denied).toBe(0);
    expect(lines[0]).toContain("likely a reply that came after its request timed out");
    expect(warnings[0]).toMatchObject({ kind: "dropped", address: "0123456789abcdef0123456789abcdef", generated: true });
  });

  it('a relay whose next hop refuses the message for another reason: "dropped" with reason undeliverable and the error', async () => {
    const lines: string[] = [];
    const warnings: NodeWarning[] = [];
    const n = await startNode(lines, warnings);
    const tcp = await createTcpTransport(n);
    const listener = await tcp.listen("127.0.0.1:0");
    const connection = await tcp.connect(listener.address);
    await startRelay(n, "forward", route(connection, "sink"));

    const dropped = next(n, "dropped");
    // Too large for a TCP frame: the connection refuses it (the local sender is told too).
    await expect(n.send("forward", new Uint8Array(MAX_FRAME_LENGTH + 1))).rejects.toBeInstanceOf(FrameTooLargeError);
    const event = await dropped;
    expect(event).toMatchObject({ address: connection.address.key, from: "forward", reason: "undeliverable" });
    expect(event.error).toBeInstanceOf(FrameTooLargeError);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`dropped a message from forward for "${connection.address.key}": FrameTooLargeError: `);
    expect(warnings[0]).toMatchObject({ kind: "dropped", reason: "undeliverable", address: connection.address.key });
  });

  it('messages queued for a TCP dial that fails: "dropped" with reason undeliverable for each, after their sends resolved', async () => {
    // A port that was just free: the dial is refused.
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));

    const lines: string[] = [];
    const n = await startNode(lines);
    await createTcpTransport(n);
    await startRelay(n, "forward", route(`1#127.0.0.1:${port}`, "sink"));
    const drops: DroppedEvent[] = [];
    n.on("dropped", (event) => drops.push(event));
    const bothDropped = new Promise<void>((resolve) => n.on("dropped", () => drops.length === 2 && resolve()));
    await n.send("forward", "queued for the dial"); // resolves: the message waits for the connection
    await n.send("forward", "queued too");
    await bothDropped;
    const event = drops[0]!;
    expect(event).toMatchObject({ address: `1#127.0.0.1:${port}`, from: "forward", reason: "undeliverable" });
    expect(event.error.message).toMatch(/ECONNREFUSED|refused/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`dropped a message from forward for "1#127.0.0.1:${port}"`);
    expect(lines[0]).not.toContain("queued for the dial"); // never a payload
    // Not "it sees a timeout": these sends had resolved, and a request through the dial fails at once.
    expect(lines[0]).toContain("A send that had resolved is not told of it; a request (sendAndReceive) fails at its timeout, or at once if its own first hop went away");
    expect(drops).toHaveLength(2); // each message it had queued, though one error stands for both (one warning per cause)
  });

  it("a record that crossed a secure channel's CLOSE on the wire is refused quietly: no \"dropped\", no warning", async () => {
    const responder = await startNode();
    const listener = await (await createTcpTransport(responder)).listen("127.0.0.1:0");
    const scl = await createSecureChannelListener(responder, await createIdentity(), "listener", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
    // Return routes, as the responder's workers saw them: through the channel, and over the bare connection.
    const seen: { channel?: Route; connection?: Route } = {};
    const keeper = (key: "channel" | "connection") => ({
      handleMessage: (ctx: Context, msg: Routed) => {
        seen[key] = msg.returnRoute;
        return ctx.send(msg.returnRoute, "ok");
      },
    });
    await responder.startWorker("keeper", keeper("channel"), { placement: "main" });
    await responder.startWorker("tcp_keeper", keeper("connection"), { placement: "main" });
    responder.flowControls.addConsumer("keeper", scl.flowControlId);
    responder.flowControls.addConsumer("tcp_keeper", listener.flowControlId);

    const lines: string[] = [];
    const initiator = await startNode(lines);
    const connection = await (await createTcpTransport(initiator)).connect(listener.address);
    const channel = await createSecureChannel(initiator, await createIdentity(), route(connection, "listener"), new SecureChannelOptions());
    expect(await initiator.sendAndReceive(route(channel, "keeper"), "hi")).toBe("ok");
    expect(await initiator.sendAndReceive(route(connection, "tcp_keeper"), "hi")).toBe("ok");
    let marked!: () => void;
    const marker = new Promise<void>((resolve) => (marked = resolve));
    await initiator.startWorker("marker", { handleMessage: () => marked() }, { placement: "main" });
    initiator.flowControls.addConsumer("marker", connection.flowControlId);
    const drops: DroppedEvent[] = [];
    initiator.on("dropped", (event) => drops.push(event));

    // No I/O between these: the initiator's CLOSE and the responder's record cross on the wire.
    await channel.close();
    await responder.send(seen.channel!, new Uint8Array(8 * 1024)); // large: sealed and written at once
    // Behind it on the same connection: when this arrives, the record has been handled.
    await responder.send(route(seen.connection!.addresses[0]!, "marker"), "after");
    await marker;
    expect(drops).toEqual([]);
    expect(lines.filter((line) => line.includes("dropped"))).toEqual([]);
  });
});
