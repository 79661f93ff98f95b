// The listener's queue of first handshake messages is bounded per connection in bytes as well
// as in messages: a waiting first message keeps only its payload and its return route, and is
// charged for them, so return routes a peer made long fill that connection's allowance, not the
// node's memory. Real nodes over real TCP on 127.0.0.1, real crypto.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { LocalMessage, node, route, type Node, type Route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannelListener, DEFAULT_HANDSHAKE_LIMITS } from "@hopwire/secure-channel";
import { eventually } from "../../../test/support/eventually.js";

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0).reverse()) await n.stop();
});

describe("the listener's queue of first messages", () => {
  it("is bounded in bytes per connection: first messages with long return routes are dropped and counted past it, short ones still queue", async () => {
    const responder = await node({ name: "responder", warnings: false });
    nodes.push(responder);
    const tcpListener = await (await createTcpTransport(responder)).listen("127.0.0.1:0", new TcpListenerOptions());
    // Four slots and a long handshake timeout: once four handshakes started (and never finish),
    // whatever else the connection sends waits in its queue.
    const listener = await createSecureChannelListener(responder, await createIdentity(), "bob_listener", {
      consumerOf: tcpListener.flowControlId,
      handshakeTimeout: 60_000,
      handshakeLimits: { maxPending: 4, maxPendingPerConnection: 4 },
    });
    const initiator = await node({ name: "initiator", warnings: false });
    nodes.push(initiator);
    await initiator.startWorker("quiet", { handleMessage() {} }, { placement: "main" }); // takes message 2s and refusals
    const connection = await (await createTcpTransport(initiator)).connect(tcpListener.address, new TcpConnectionOptions());
    /** A first handshake message (kind 1, a random ephemeral key) over the connection, replies along `returnRoute`. */
    const sendFirst = (returnRoute: Route): void => {
      initiator.router.route(new LocalMessage(route(connection, "bob_listener"), returnRoute, Uint8Array.of(1, ...randomBytes(32))), "quiet");
    };

    for (let i = 0; i < 4; i++) sendFirst(route("quiet"));
    await eventually(() => listener.pendingHandshakes === 4, 20_000);
    expect([listener.queuedHandshakes, listener.droppedHandshakes]).toEqual([0, 0]);

    // Return routes a peer made long: 60 hops of 1 000 characters (within the codec's caps: 255
    // addresses, 1 KiB each, 64 KiB of routes), ≈ 0.12 MB charged each. Counted only, ten of them
    // queued 1.2 MB of routes (and before the caps, 1 024 of routes as long as a frame allows
    // queued gigabytes).
    const longRoute = route("quiet", ...Array.from({ length: 59 }, (_, i) => `hop${i}`.padEnd(1_000, "x")));
    for (let i = 0; i < 10; i++) sendFirst(longRoute);
    await eventually(() => listener.queuedHandshakes + listener.droppedHandshakes === 10, 20_000);
    const queued = listener.queuedHandshakes;
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThan(10);
    expect(listener.droppedHandshakes).toBe(10 - queued);
    expect(listener.queuedHandshakeBytes).toBeGreaterThan(queued * 59 * 2_000); // charged at least their routes' characters
    expect(listener.queuedHandshakeBytes).toBeLessThanOrEqual(DEFAULT_HANDSHAKE_LIMITS.maxQueuedBytesPerConnection);
    expect(listener.pendingHandshakes).toBe(4);

    // An ordinary first message from the same connection still fits in what is left (after the
    // connection's short read pause that the drops caused).
    sendFirst(route("quiet"));
    await eventually(() => listener.queuedHandshakes === queued + 1, 20_000);
    expect(listener.droppedHandshakes).toBe(10 - queued);
    expect(listener.queuedHandshakeBytes).toBeLessThanOrEqual(DEFAULT_HANDSHAKE_LIMITS.maxQueuedBytesPerConnection);
  });
});
