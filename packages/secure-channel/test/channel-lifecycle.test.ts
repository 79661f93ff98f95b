// A channel's lifecycle on one node: the `closed` promise and its typed reasons on both ends,
// pending requests and later sends failing with SecureChannelClosedError, heartbeats that keep
// an idle channel open and that a hop on the path can neither fake nor replay, a lost CONFIRM,
// and oversized sends refused before sealing.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { once } from "node:events";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { deferred, errorFromData, LocalMessage, node, route, RouteUnavailableError, type Context, type Node, type Routed, type Worker } from "@hopwire/runtime";
import {
  ConnectionClosedError,
  createTcpTransport,
  MAX_FRAME_LENGTH,
  PROTOCOL_VERSION,
  TcpConnectionOptions,
  TcpListenerOptions,
  type TcpConnection,
  type TcpTransportOptions,
} from "@hopwire/transport-tcp";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  MAX_CHANNEL_MESSAGE_LENGTH,
  SecureChannelClosedByPeerError,
  SecureChannelClosedError,
  SecureChannelHandshakeError,
  SecureChannelListenerOptions,
  SecureChannelMessageTooLargeError,
  SecureChannelOptions,
  SecureChannelPeerGoneError,
  SecureChannelTransportError,
  type Identity,
  type SecureChannel,
  type SecureChannelListener,
} from "@hopwire/secure-channel";
import { eventually } from "../../../test/support/eventually.js";
// The liveness arithmetic is internal: reached through the compiled file, as the package does.
import { decodeHeartbeat, encodeHeartbeat, keepaliveEvery } from "../dist/secure-channel/liveness.js";

const HANDSHAKE = 1;
const TRANSPORT = 2;

class Echo implements Worker {
  async handleMessage(ctx: Context, msg: Routed) {
    await ctx.send(msg.returnRoute, msg.body);
  }
}

class Silent implements Worker {
  handleMessage() {}
}

/**
 * A hop on the path (a relay an attacker controls): it passes messages on, except those its
 * `drop` predicate picks, and records every TRANSPORT record it saw.
 */
class Tap implements Worker {
  drop: (message: LocalMessage, toInitiator: boolean) => boolean = () => false;
  readonly seen: { message: LocalMessage; toInitiator: boolean }[] = [];
  /** The initiator end's remote address (the onward route of handshake message 2). */
  initiatorRemote: string | undefined;
  #handshakes = 0;

  async handleMessage(ctx: Context, msg: Routed) {
    const message = msg.message.withOnwardRoute(msg.onwardRoute.popFront()).withReturnRoute(msg.returnRoute.prepend(ctx.address));
    if (message.payload[0] === HANDSHAKE && ++this.#handshakes === 2) this.initiatorRemote = message.onwardRoute.toString();
    const toInitiator = message.onwardRoute.toString() === this.initiatorRemote;
    if (message.payload[0] === TRANSPORT) this.seen.push({ message, toInitiator });
    if (this.drop(message, toInitiator)) return;
    await ctx.forward(message);
  }
}

let n: Node;
let alice: Identity;
let bob: Identity;
let listener: SecureChannelListener;

beforeEach(async () => {
  n = await node();
  alice = await createIdentity();
  bob = await createIdentity();
  await n.startWorker("echo", new Echo(), { placement: "main" });
  await n.startWorker("silent", new Silent(), { placement: "main" });
});

afterEach(async () => {
  await n.stop();
});

async function listen(options = new SecureChannelListenerOptions()): Promise<SecureChannelListener> {
  listener = await createSecureChannelListener(n, bob, "bob_listener", options);
  n.flowControls.addConsumer("echo", listener.flowControlId);
  n.flowControls.addConsumer("silent", listener.flowControlId);
  return listener;
}

/** A channel from alice to bob's listener over a TCP connection of the node to itself, as channels run. */
async function channelOverTcp(
  transportOptions: TcpTransportOptions = {},
  listenerOptions = new SecureChannelListenerOptions(),
  channelOptions = new SecureChannelOptions(),
): Promise<{ connection: TcpConnection; channel: SecureChannel }> {
  const tcp = await createTcpTransport(n, transportOptions);
  const tcpListener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
  await listen(listenerOptions.asConsumer(tcpListener.flowControlId));
  const connection = await tcp.connect(tcpListener.address, new TcpConnectionOptions());
  return { connection, channel: await createSecureChannel(n, alice, route(connection, "bob_listener"), channelOptions) };
}

describe("the responder's side of the channels a listener accepts", () => {
  // There was no event: a program polled `channels`, whose objects were new at every read.
  it("onChannel hears of each as it opens, and `channels` gives the same object for it each time", async () => {
    await listen();
    const heard: SecureChannel[] = [];
    const stopHearing = listener.onChannel((channel) => heard.push(channel));
    listener.onChannel(() => {
      throw new Error("a listener that throws is logged, and the others still hear");
    });
    const first = await createSecureChannel(n, alice, route("bob_listener"));
    const second = await createSecureChannel(n, alice, route("bob_listener"));
    await eventually(() => heard.length === 2);
    expect(heard.map((c) => c.peerIdentifier)).toEqual([alice.identifier, alice.identifier]);
    expect(listener.channels).toEqual(heard);
    expect(listener.channels[0]).toBe(listener.channels[0]);
    expect(listener.channels[0]).toBe(heard[0]);
    stopHearing();
    const third = await createSecureChannel(n, alice, route("bob_listener"));
    await eventually(() => listener.channels.length === 3);
    expect(heard).toHaveLength(2);
    for (const channel of [first, second, third]) await channel.close();
  });
});

describe("the closed promise and SecureChannelClosedError", () => {
  it("a local close resolves both ends' `closed`, fails a pending request at once, and later sends throw the same reason", async () => {
    await listen();
    const channel = await createSecureChannel(n, alice, route("bob_listener"));
    const responderEnd = listener.channels[0]!;
    const pending = n.sendAndReceive(route(channel, "silent"), "no answer", { timeout: 60_000 }).catch((e: unknown) => e);
    await n.sendAndReceive(route(channel, "echo"), "the pending request went first");
    const started = Date.now();
    await channel.close();

    const reason = await channel.closed;
    expect(reason).toBeInstanceOf(SecureChannelClosedError);
    expect(reason.closeReason).toBe("closed-locally");
    expect(reason.code).toBe("SECURE_CHANNEL_CLOSED");
    const failed = await pending;
    expect(failed).toBe(reason); // not UnknownAddressError, not its timeout
    expect(failed).toBeInstanceOf(RouteUnavailableError); // still "the first hop went away"
    expect(Date.now() - started).toBeLessThan(30_000);

    const peerReason = await responderEnd.closed;
    expect(peerReason).toBeInstanceOf(SecureChannelClosedByPeerError);
    expect(peerReason.closeReason).toBe("closed-by-peer");
    // Made on every close, so without a stack trace (its capture was a few per cent of a handshake's CPU).
    expect(reason.stack).not.toMatch(/\n\s+at /);
    expect(peerReason.stack).not.toMatch(/\n\s+at /);
    expect(responderEnd.isClosed).toBe(true);
    expect(listener.channelCount).toBe(0);

    await expect(n.send(route(channel, "echo"), "after close")).rejects.toBe(reason);
    await expect(n.sendAndReceive(route(channel, "echo"), "after close")).rejects.toBeInstanceOf(SecureChannelClosedError);
  });

  it("an ordinary close (local, or the peer's CLOSE) makes its reason only when asked for, once: every asker gets the same object", async () => {
    // Over TCP, as channels run: the first hops are connections (on one node without them, each
    // end's first hop is the other's address, and watching it asks for the reason).
    const { channel } = await channelOverTcp();
    const responderEnd = listener.channels[0]!;
    // Close reasons are made without a stack trace (stackless sets Error.stackTraceLimit): counting
    // those sets counts the reasons made.
    const limit = Object.getOwnPropertyDescriptor(Error, "stackTraceLimit")!;
    let made = 0;
    let value = limit.value as number;
    Object.defineProperty(Error, "stackTraceLimit", {
      configurable: true,
      get: () => value,
      set: (v: number) => {
        if (v === 0) made++;
        value = v;
      },
    });
    try {
      await channel.close();
      while (!responderEnd.isClosed) await new Promise((r) => setImmediate(r));
      expect(made).toBe(0); // neither end made its reason: nobody asked
      const reason = channel.closedReason!;
      expect(made).toBe(1);
      expect(reason).toBeInstanceOf(SecureChannelClosedError);
      expect(reason.closeReason).toBe("closed-locally");
      expect(channel.closedReason).toBe(reason);
      expect(await channel.closed).toBe(reason);
      const peerReason = await responderEnd.closed;
      expect(peerReason).toBeInstanceOf(SecureChannelClosedByPeerError);
      expect(responderEnd.closedReason).toBe(peerReason);
      expect(made).toBe(2);
    } finally {
      Object.defineProperty(Error, "stackTraceLimit", limit);
    }
    await expect(n.send(route(channel, "echo"), "after close")).rejects.toBe(channel.closedReason);
  });

  it("a connection that goes away closes the channel with SecureChannelTransportError, cause ConnectionClosedError", async () => {
    const { connection, channel } = await channelOverTcp();
    const pending = n.sendAndReceive(route(channel, "silent"), "no answer", { timeout: 60_000 }).catch((e: unknown) => e);
    await n.sendAndReceive(route(channel, "echo"), "sync");
    await connection.stop();
    const reason = await channel.closed;
    expect(reason).toBeInstanceOf(SecureChannelTransportError);
    expect(reason.closeReason).toBe("transport-error");
    expect(reason.code).toBe("SECURE_CHANNEL_TRANSPORT_FAILED");
    expect(reason.message).toBe("The first hop to the peer went away");
    expect(reason.cause).toBeInstanceOf(ConnectionClosedError);
    expect(await pending).toBe(reason);
    // Made without a stack trace of its own, as every close reason: its frames were the router's
    // and the connection's close path, which the cause's stack shows; and the closed channel's
    // tombstone keeps the reason (one of 1,024 a node). The cause keeps its class, code, message
    // and stack (here: who stopped the connection).
    expect(reason.stack).not.toMatch(/\n\s+at /);
    const cause = reason.cause as ConnectionClosedError;
    expect(cause.code).toBe("TCP_CONNECTION_CLOSED");
    expect(cause.message).toMatch(/^The connection to .* was stopped$/);
    expect(cause.stack).toMatch(/\n\s+at /);
    await expect(n.send(route(channel, "echo"), "after close")).rejects.toBe(reason);
    // The responder's end loses its connection too (the accepted side closes on FIN).
    await eventually(() => listener.channelCount === 0);
  });
});

describe("a closed channel's address", () => {
  it("answers the program's sends with the close reason, and refuses the network's quietly: no 'denied' event or warning", async () => {
    // A peer that has not yet learnt of the close (an initiator's heartbeat along a route
    // through a relay whose channel to the responder closed) is no configuration to fix: the
    // relay warned "this configuration does not let it reach …" (an operator's trial, session 55).
    const { channel } = await channelOverTcp();
    await n.sendAndReceive(route(channel, "echo"), "sync");
    await channel.close();
    const reason = await channel.closed;
    await expect(n.send(route(channel, "echo"), "after close")).rejects.toBe(reason);
    const tcp = await createTcpTransport(n);
    const tcpListener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
    const connection = await tcp.connect(tcpListener.address, new TcpConnectionOptions());
    const denied: string[] = [];
    const dropped: string[] = [];
    n.on("denied", (event) => denied.push(event.address));
    n.on("dropped", (event) => dropped.push(event.address));
    await n.send(route(connection, channel.address, "echo"), "stale");
    // In order on the one connection: once this one is reported, the first was handled.
    await n.send(route(connection, "nobody"), "marker");
    await eventually(() => dropped.includes("nobody"));
    expect(denied).toEqual([]);
    expect(dropped).toEqual(["nobody"]);
  });
});

describe("a handshake whose connection goes away", () => {
  it("fails as soon as the connection closes, with its reason, not at the handshake timeout (a peer that drops it mid-handshake)", async () => {
    // A server that greets as a Hopwire node (version byte, keepalive), then closes the
    // connection once the first handshake message arrives.
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.write(Buffer.of(PROTOCOL_VERSION, 0, 0, 0, 0));
      let bytes = 0;
      // Past its own version byte and keepalive (5 bytes), the client is sending the handshake.
      socket.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > 5) socket.end();
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const tcp = await createTcpTransport(n);
      const connection = await tcp.connect(`127.0.0.1:${(server.address() as AddressInfo).port}`, new TcpConnectionOptions());
      const closed = connection.whenClosed();
      const failure = await createSecureChannel(n, alice, route(connection, "api"), { timeout: 20_000 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(SecureChannelHandshakeError);
      expect((failure as Error).message).toMatch(/went away during the handshake: The peer 127\.0\.0\.1:\d+ closed the connection/);
      const cause = (failure as Error).cause as Error;
      expect(cause).toBeInstanceOf(SecureChannelTransportError);
      expect(cause.cause).toBe(await closed);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 40_000);
});

describe("heartbeats", () => {
  it("keep an idle channel open on both ends well past the peer timeout", async () => {
    // Short, yet long enough that a loaded machine's pauses do not count as silence.
    const peerTimeout = 1_500;
    await listen(new SecureChannelListenerOptions().withPeerTimeout(peerTimeout));
    // Only the responder sets a short timeout: the initiator learns it from the responder's first HEARTBEAT.
    const channel = await createSecureChannel(n, alice, route("bob_listener"), new SecureChannelOptions().withPeerTimeout(peerTimeout));
    const responderEnd = listener.channels[0]!;
    const idleUntil = Date.now() + 3 * peerTimeout;
    await eventually(() => Date.now() >= idleUntil, 60_000, "the idle time");
    expect(channel.isClosed).toBe(false);
    expect(responderEnd.isClosed).toBe(false);
    expect(await n.sendAndReceive(route(channel, "echo"), "still here")).toBe("still here");
  });

  // A stall: the process blocked for longer than the peer timeout (a long GC or a blocking
  // call does this). Both ends' liveness timers are overdue and run in the first turn after it;
  // before, each judged its peer gone there and closed the channel. Now the silence clock stops
  // during the stall (the timer's lateness measures it), and the heartbeats sent after it
  // (through a crypto thread, over TCP) have at least two thirds of a peer timeout to arrive:
  // 1.5 s, as the other heartbeat tests, so that a loaded machine's pauses do not count.
  const peerTimeout = 1_500;
  const stall = (): void => {
    const until = Date.now() + peerTimeout + 500;
    while (Date.now() < until) {
      // busy: no turn of the event loop
    }
  };
  const afterTheVerdict = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));
  /**
   * Starts the node's crypto threads with a channel of default timeouts: a thread's start on a
   * loaded host can take longer than the short peer timeout of the channel under test allows
   * its handshake's last step (seen: 553 ms for 400 ms at load 18).
   */
  const warmCryptoThreads = async (threads: number): Promise<void> => {
    if (threads === 0) return;
    await createSecureChannelListener(n, bob, "warm_listener", new SecureChannelListenerOptions().withCryptoThreads(threads));
    const warm = await createSecureChannel(n, alice, route("warm_listener"), new SecureChannelOptions().withCryptoThreads(threads));
    await warm.close();
  };

  for (const threads of [0, 1]) {
    it(`a stall of this process past the peer timeout does not close the channel (crypto threads: ${threads})`, async () => {
      await warmCryptoThreads(threads);
      await listen(new SecureChannelListenerOptions().withPeerTimeout(peerTimeout).withCryptoThreads(threads));
      const channel = await createSecureChannel(n, alice, route("bob_listener"), new SecureChannelOptions().withPeerTimeout(peerTimeout).withCryptoThreads(threads));
      const responderEnd = listener.channels[0]!;
      stall();
      await afterTheVerdict();
      expect(channel.isClosed).toBe(false);
      expect(responderEnd.isClosed).toBe(false);
      expect(await n.sendAndReceive(route(channel, "echo"), "after the stall")).toBe("after the stall");
    });

    it(`a stall past the peer timeout does not close a channel over TCP either (crypto threads: ${threads})`, async () => {
      await warmCryptoThreads(threads);
      const { connection, channel } = await channelOverTcp(
        { keepaliveInterval: 50, peerTimeout },
        new SecureChannelListenerOptions().withPeerTimeout(peerTimeout).withCryptoThreads(threads),
        new SecureChannelOptions().withPeerTimeout(peerTimeout).withCryptoThreads(threads),
      );
      expect(await n.sendAndReceive(route(channel, "echo"), "before")).toBe("before");
      const responderEnd = listener.channels[0]!;
      stall();
      await afterTheVerdict();
      expect(channel.isClosed).toBe(false);
      expect(responderEnd.isClosed).toBe(false);
      expect(connection.state).toBe("open");
      expect(await n.sendAndReceive(route(channel, "echo"), "after the stall")).toBe("after the stall");
    });
  }

  it("a peer timeout and keepalive interval of Infinity (none) or 2^31 - 1 ms arm no timer that overflows", async () => {
    // Node runs a timer of more than 2^31 - 1 ms after 1 ms, with a TimeoutOverflowWarning:
    // unclamped, each end's liveness timer would fire and re-arm every millisecond. (Past
    // 2^31 - 1 ms, short of Infinity, the options refuse a delay, as every timeout's.)
    const overflows: Error[] = [];
    const onWarning = (warning: Error): void => void (warning.name === "TimeoutOverflowWarning" && overflows.push(warning));
    process.on("warning", onWarning);
    try {
      const longest = 2 ** 31 - 1;
      await listen(new SecureChannelListenerOptions().withPeerTimeout(Infinity).withKeepaliveInterval(Infinity));
      const channel = await createSecureChannel(n, alice, route("bob_listener"), new SecureChannelOptions().withPeerTimeout(longest).withKeepaliveInterval(longest));
      expect(await n.sendAndReceive(route(channel, "echo"), "long")).toBe("long");
      // Warnings are emitted on the next tick: give them one before looking.
      await new Promise((resolve) => setImmediate(resolve));
      expect(overflows).toEqual([]);
      expect(channel.isClosed).toBe(false);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("a keepalive interval of Infinity sends no heartbeat of its own, yet follows the peer's timeout", async () => {
    // Infinity was refused (and 1e300 taken): as every timeout, Infinity is "none".
    expect(keepaliveEvery(Infinity, undefined)).toBe(Infinity);
    expect(keepaliveEvery(Infinity, 1_500)).toBe(500);
    // A peer timeout of Infinity announces the longest the record holds: the peer's own keepalive applies.
    expect(decodeHeartbeat(encodeHeartbeat(Infinity))).toBe(0xffff_ffff);
    expect(keepaliveEvery(10_000, decodeHeartbeat(encodeHeartbeat(Infinity)))).toBe(10_000);
    await listen(new SecureChannelListenerOptions().withPeerTimeout(1_500));
    const channel = await createSecureChannel(n, alice, route("bob_listener"), { keepaliveInterval: Infinity, peerTimeout: Infinity });
    const responderEnd = listener.channels[0]!;
    const idleUntil = Date.now() + 4_500;
    await eventually(() => Date.now() >= idleUntil, 60_000, "the idle time");
    expect(responderEnd.isClosed).toBe(false);
    expect(channel.isClosed).toBe(false);
    expect(await n.sendAndReceive(route(channel, "echo"), "still here")).toBe("still here");
  });

  it("one end with a short timeout needs no setting on the other: heartbeats follow the announced timeout", async () => {
    await listen(new SecureChannelListenerOptions().withPeerTimeout(1_500));
    const channel = await createSecureChannel(n, alice, route("bob_listener")); // defaults: 10 s keepalive
    const responderEnd = listener.channels[0]!;
    const idleUntil = Date.now() + 4_500;
    await eventually(() => Date.now() >= idleUntil, 60_000, "the idle time");
    expect(responderEnd.isClosed).toBe(false);
    expect(channel.isClosed).toBe(false);
  });

  it("a hop that stops passing records gets the channel closed as peer-gone within the bound; replayed heartbeats do not keep it alive", async () => {
    const tap = new Tap();
    await n.startWorker("tap", tap, { placement: "main" });
    await listen();
    const peerTimeout = 1_500;
    const channel = await createSecureChannel(n, alice, route("tap", "bob_listener"), new SecureChannelOptions().withPeerTimeout(peerTimeout));
    const pending = n.sendAndReceive(route(channel, "silent"), "no answer", { timeout: 60_000 }).catch((e: unknown) => e);
    await n.sendAndReceive(route(channel, "echo"), "warm-up");
    // The responder's side goes dark; the tap replays the records it saw from it (heartbeats among them).
    const recorded = tap.seen.filter((s) => s.toInitiator).map((s) => s.message);
    expect(recorded.length).toBeGreaterThan(0);
    tap.drop = (_message, toInitiator) => toInitiator;
    const darkAt = Date.now();
    const replayer = setInterval(() => {
      for (const m of recorded) void n.forward(new LocalMessage(m.onwardRoute, route("tap"), m.payload)).catch(() => {});
    }, 50);
    try {
      const reason = await channel.closed;
      const detected = Date.now() - darkAt;
      expect(reason).toBeInstanceOf(SecureChannelPeerGoneError);
      expect(reason.code).toBe("SECURE_CHANNEL_PEER_GONE");
      expect(reason.closeReason).toBe("peer-gone");
      // Registered: it crosses threads as itself, reason and all.
      const rebuilt = errorFromData(reason.toData());
      expect(rebuilt).toBeInstanceOf(SecureChannelPeerGoneError);
      expect((rebuilt as SecureChannelPeerGoneError).closeReason).toBe("peer-gone");
      // Not before the bound less the last heartbeat's age, and not long after it (generous: the machine is loaded).
      expect(detected).toBeGreaterThanOrEqual(peerTimeout - peerTimeout / 3 - 50);
      expect(detected).toBeLessThan(peerTimeout + 5_000);
      expect(await pending).toBe(reason);
    } finally {
      clearInterval(replayer);
    }
  });
});

describe("a lost CONFIRM", () => {
  it("the initiator's REFUSED, sent as its handshake times out, drops the responder's half-open end at once", async () => {
    const tap = new Tap();
    await n.startWorker("tap", tap, { placement: "main" });
    // Long timeouts on the responder: only the REFUSED can free the end in time.
    await listen(new SecureChannelListenerOptions().withHandshakeTimeout(60_000).withPeerTimeout(60_000));
    let droppedConfirm = false;
    tap.drop = (message, toInitiator) => {
      if (droppedConfirm || !toInitiator || message.payload[0] !== TRANSPORT) return false;
      return (droppedConfirm = true); // the first record to the initiator is CONFIRM
    };
    const error = await createSecureChannel(n, alice, route("tap", "bob_listener"), new SecureChannelOptions().withHandshakeTimeout(2_000)).catch(
      (e: unknown) => e,
    );
    expect((error as { code?: string }).code).toBe("TIMEOUT");
    expect(droppedConfirm).toBe(true);
    await eventually(() => listener.channelCount === 0, 10_000);
  });

  it("with the REFUSED lost as well, the responder drops its unconfirmed end after its handshake timeout", async () => {
    const tap = new Tap();
    await n.startWorker("tap", tap, { placement: "main" });
    const handshakeTimeout = 1_500;
    await listen(new SecureChannelListenerOptions().withHandshakeTimeout(handshakeTimeout).withPeerTimeout(60_000));
    let confirmSeen = false;
    tap.drop = (message, toInitiator) => {
      if (toInitiator && message.payload[0] === TRANSPORT) confirmSeen = true;
      return confirmSeen; // CONFIRM, and everything after it either way
    };
    let responderClosed: Promise<SecureChannelClosedError> | undefined;
    const attempt = createSecureChannel(n, alice, route("tap", "bob_listener"), new SecureChannelOptions().withHandshakeTimeout(30_000)).catch(
      (e: unknown) => e,
    );
    await eventually(() => listener.channels.length === 1);
    const openedAt = Date.now();
    responderClosed = listener.channels[0]!.closed;
    const reason = await responderClosed;
    expect(reason).toBeInstanceOf(SecureChannelPeerGoneError);
    expect(Date.now() - openedAt).toBeLessThan(handshakeTimeout + 5_000);
    expect(listener.channelCount).toBe(0);
    await n.stop(); // ends the initiator's wait
    await attempt;
  });
});

/**
 * A long-lived worker that sends through channels: sent `{ through }` (a channel's address), it
 * sends "ping" to the echo behind it from its own address, so it becomes a consumer of that
 * channel's flow (the router lets replies back to whoever sent into a producer), and counts the replies.
 */
class Client implements Worker {
  replies = 0;
  async handleMessage(ctx: Context, msg: Routed) {
    const body = msg.body as { through: string } | string;
    if (typeof body === "string") this.replies++;
    else await ctx.send(route(body.through, "echo"), "ping");
  }
}

describe("what a closed channel frees", () => {
  it("closed channels, initiator and responder ends, take their flows with them: the workers that used them are no consumers of any", async () => {
    // Every worker that sends into a channel becomes a consumer of its flow. A long-lived one
    // (the echo behind a listener, a client on the initiator's node) kept an entry for every
    // channel it ever used, and each flow kept its set: a peer that opened and closed channels
    // in a loop grew the responder's memory (≈ 0.35 KiB per channel), unlike a TcpConnection's flow.
    const client = new Client();
    await n.startWorker("client", client, { placement: "main" });
    const tcp = await createTcpTransport(n);
    const tcpListener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
    await listen(new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId));
    const connection = await tcp.connect(tcpListener.address, new TcpConnectionOptions());
    const roundTrip = async (): Promise<{ initiator: string; responder: string }> => {
      const channel = await createSecureChannel(n, alice, route(connection, "bob_listener"));
      const before = client.replies;
      await n.send("client", { through: channel.address.toString() });
      await eventually(() => client.replies === before + 1);
      expect(await n.sendAndReceive(route(channel, "echo"), "hello")).toBe("hello");
      const responder = listener.channels.find((c) => n.flowControls.isConsumer("echo", c.flowControlId))!;
      expect(n.flowControls.isConsumer("client", channel.flowControlId)).toBe(true); // what the fix must undo
      const flows = { initiator: channel.flowControlId, responder: responder.flowControlId };
      await channel.close();
      await eventually(() => listener.channelCount === 0);
      return flows;
    };
    await roundTrip(); // the connection's own flow gains its consumers once, with the first channel
    const baseline = n.flowControls.flowCount;
    const flows = [];
    for (let i = 0; i < 50; i++) flows.push(await roundTrip());
    expect(flows.filter((f) => n.flowControls.isConsumer("client", f.initiator))).toEqual([]);
    expect(flows.filter((f) => n.flowControls.isConsumer("echo", f.responder))).toEqual([]);
    // Nor is an emptied set left per flow (a request's reply address made one, and let go of it).
    expect(n.flowControls.flowCount).toBe(baseline);
    // The listener's own flow, which its channels' ids are spawned from, stays: a new channel still reaches echo.
    const channel = await createSecureChannel(n, alice, route(connection, "bob_listener"));
    expect(await n.sendAndReceive(route(channel, "echo"), "still reachable")).toBe("still reachable");
  });

  it("a stopped listener takes its own flow with it: the workers a program made its consumers keep no entry for it", async () => {
    // A program that starts and stops listeners (one per tenant, per session) makes its
    // workers consumers of each: every stopped listener left its flow's set, and an entry
    // under each such worker's address (≈ 0.3 KiB per listener), for as long as the node ran.
    const baseline = n.flowControls.flowCount;
    const stopped = [];
    for (let i = 0; i < 20; i++) {
      const l = await listen();
      expect(n.flowControls.isConsumer("echo", l.flowControlId)).toBe(true);
      await l.stop();
      stopped.push(l.flowControlId);
    }
    expect(stopped.filter((id) => n.flowControls.isConsumer("echo", id) || n.flowControls.isConsumer("silent", id))).toEqual([]);
    expect(n.flowControls.flowCount).toBe(baseline);
  });

  it("a listener stopped while a handshake awaits its trust policy leaves no channel behind", async () => {
    // The stop closed the handshaking end; the handshake then completed and the end was
    // established and opened anyway: an encryptor registered on the router and a producer
    // under the listener's removed flow, for as long as the node ran (a second close() was a
    // no-op, the end being marked as closing), and its transport keys held in its cipher.
    const held = deferred<void>();
    const asked = deferred<void>();
    await listen(
      new SecureChannelListenerOptions().withTrustPolicy(async () => {
        asked.resolve();
        await held.promise;
        return true;
      }),
    );
    const before = n.router.addresses().sort();
    const creating = createSecureChannel(n, alice, route("bob_listener")).catch((e: unknown) => e);
    await asked.promise;
    await listener.stop();
    held.resolve();
    expect(await creating).toBeInstanceOf(Error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const left = n.router.addresses().filter((a) => !before.includes(a));
    expect(left.map((a) => `${a} ${n.router.localMailbox(a)?.constructor.name}`)).toEqual([]);
    expect(left.filter((a) => n.flowControls.findFlowControlWithProducerAddress(a) !== undefined)).toEqual([]);
  });
});

describe("oversized messages", () => {
  it("a message that fits a TCP frame but not a channel record is refused by send, typed, and the channel stays usable on both ends", async () => {
    const { channel } = await channelOverTcp();
    const responderEnd = listener.channels[0]!;

    expect(MAX_CHANNEL_MESSAGE_LENGTH).toBeLessThan(MAX_FRAME_LENGTH);
    const tooLarge = new Uint8Array(MAX_FRAME_LENGTH - 1024); // would fit one TCP frame on its own
    const error = await n.send(route(channel, "echo"), tooLarge).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecureChannelMessageTooLargeError);
    expect((error as SecureChannelMessageTooLargeError).code).toBe("SECURE_CHANNEL_MESSAGE_TOO_LARGE");
    expect((error as Error).message).toContain("send it in smaller messages, or as a byte stream through a portal");
    expect(channel.isClosed).toBe(false);
    expect(responderEnd.isClosed).toBe(false);
    expect(await n.sendAndReceive(route(channel, "echo"), "still open")).toBe("still open");

    // The largest message that fits crosses the TCP hop inside the channel, both ways.
    const largest = new Uint8Array(MAX_CHANNEL_MESSAGE_LENGTH - 1024).fill(7);
    const echoed = await n.sendAndReceive<Uint8Array>(route(channel, "echo"), largest, { timeout: 60_000 });
    expect(echoed.length).toBe(largest.length);
    expect(channel.isClosed).toBe(false);
    expect(responderEnd.isClosed).toBe(false);
  });
});

