// Limits on the channels a listener holds (maxChannels, maxChannelsPerConnection): a
// handshake past one is refused at its first message with a typed reason, counted, raised as a
// "refused" node event and written as one rate-limited warning naming the setting; a channel
// that closes frees its slot. Real nodes over real TCP on 127.0.0.1.
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/eventually.js";
import { Echoer, errorFromData, errorToData, InvalidOptionError, node, route, type Node, type NodeWarning, type RefusedEvent } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions, type TcpConnection } from "@hopwire/transport-tcp";
import {
  ChannelLimitError,
  ConnectionChannelLimitError,
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  DEFAULT_HANDSHAKE_LIMITS,
  DEFAULT_MAX_CHANNELS,
  DEFAULT_MAX_CHANNELS_PER_CONNECTION,
  SECURE_CHANNEL_REFUSAL_CODES,
  SecureChannelListenerOptions,
  SecureChannelRefusedError,
  type Identity,
  type SecureChannel,
  type SecureChannelListener,
  type SecureChannelListenerOptionsInit,
} from "@hopwire/secure-channel";

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0).reverse()) await n.stop();
});

interface Setup {
  responder: Node;
  listener: SecureChannelListener;
  events: RefusedEvent[];
  lines: string[];
  warnings: NodeWarning[];
  initiator: Node;
  alice: Identity;
  /** A new TCP connection from the initiator's node to the responder's. */
  connect(): Promise<TcpConnection>;
}

/** A responder node (TCP listener, secure channel listener "api" with `options`, an echo behind it) and an initiator node. */
async function setup(options: SecureChannelListenerOptionsInit): Promise<Setup> {
  const lines: string[] = [];
  const warnings: NodeWarning[] = [];
  const events: RefusedEvent[] = [];
  const responder = await node({ name: "responder", warnings: (line, warning) => (lines.push(line), warnings.push(warning)) });
  nodes.push(responder);
  responder.on("refused", (event) => events.push(event));
  const tcpListener = await (await createTcpTransport(responder)).listen("127.0.0.1:0", new TcpListenerOptions());
  const listener = await createSecureChannelListener(responder, await createIdentity(), "api", { consumerOf: tcpListener.flowControlId, ...options });
  await responder.startWorker("echo", new Echoer(), { placement: "main" });
  responder.flowControls.addConsumer("echo", listener.flowControlId);
  const initiator = await node({ name: "initiator", warnings: false });
  nodes.push(initiator);
  const tcp = await createTcpTransport(initiator);
  const alice = await createIdentity();
  return { responder, listener, events, lines, warnings, initiator, alice, connect: () => tcp.connect(tcpListener.address, new TcpConnectionOptions()) };
}

function open(s: Setup, connection: TcpConnection, identity: Identity = s.alice): Promise<SecureChannel> {
  return createSecureChannel(s.initiator, identity, route(connection, "api"), { timeout: 20_000 });
}

/** The refusal a handshake ends in (fails the test if the channel opened). */
function refusal(promise: Promise<unknown>): Promise<SecureChannelRefusedError> {
  return promise.then(
    () => expect.fail("the channel opened"),
    (e: unknown) => {
      expect(e).toBeInstanceOf(SecureChannelRefusedError);
      return e as SecureChannelRefusedError;
    },
  );
}

async function roundTrip(s: Setup, channel: SecureChannel, body: string): Promise<void> {
  expect(await s.initiator.sendAndReceive(route(channel, "echo"), body, { timeout: 20_000 })).toBe(body);
}

describe("maxChannelsPerConnection", () => {
  it("refuses a connection's channels past it with HANDSHAKE_CONNECTION_CHANNEL_LIMIT; another connection still gets channels", async () => {
    const s = await setup({ maxChannelsPerConnection: 3 });
    const a = await s.connect();
    const held = [await open(s, a), await open(s, a), await open(s, a)];
    for (let i = 0; i < 2; i++) {
      const error = await refusal(open(s, a));
      expect(error.reason).toBe("HANDSHAKE_CONNECTION_CHANNEL_LIMIT");
      expect(error.message).toBe("The responder refused the secure channel (HANDSHAKE_CONNECTION_CHANNEL_LIMIT)");
    }
    expect(s.listener.refusedChannels).toBe(2);
    expect(s.listener.channelCount).toBe(3);
    // The refused handshakes held nothing, and the held channels still work.
    expect(s.listener.pendingHandshakes).toBe(0);
    await roundTrip(s, held[2]!, "still open");

    // Another connection has an allowance of its own: five handshakes at once, three get in
    // (a started handshake holds its slot), two are refused before their DH work.
    const b = await s.connect();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => open(s, b)));
    const opened = results.filter((r): r is PromiseFulfilledResult<SecureChannel> => r.status === "fulfilled").map((r) => r.value);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as SecureChannelRefusedError);
    expect(opened).toHaveLength(3);
    expect(refused.map((e) => [e.constructor, e.reason])).toEqual([
      [SecureChannelRefusedError, "HANDSHAKE_CONNECTION_CHANNEL_LIMIT"],
      [SecureChannelRefusedError, "HANDSHAKE_CONNECTION_CHANNEL_LIMIT"],
    ]);
    await roundTrip(s, opened[0]!, "second connection");
    expect(s.listener.channelCount).toBe(6);
    expect(s.listener.refusedChannels).toBe(4);

    // The responder's side: an event per refusal, typed, and one warning line naming the setting.
    await eventually(() => s.events.length === 4, 10_000, "4 refused-handshake events");
    for (const event of s.events) {
      expect(event).toMatchObject({ listener: "api", what: "a secure channel", peer: undefined, reason: "HANDSHAKE_CONNECTION_CHANNEL_LIMIT" });
      expect(event.error).toBeInstanceOf(ConnectionChannelLimitError);
      expect((event.error as ConnectionChannelLimitError).code).toBe("HANDSHAKE_CONNECTION_CHANNEL_LIMIT");
    }
    expect(new Set(s.events.map((e) => e.via)).size).toBe(2); // one per connection
    expect(s.lines).toHaveLength(1);
    expect(s.lines[0]).toMatch(/^hopwire \[responder\] warning: "api" refused a secure channel from an unauthenticated peer \(via .+\): the listener holds its maximum of 3 channels, open or handshaking, over that connection \(maxChannelsPerConnection\)/);
    expect(s.lines[0]).toContain("Raise maxChannelsPerConnection");
    expect(s.lines[0]).toContain("(reason HANDSHAKE_CONNECTION_CHANNEL_LIMIT)");
    expect(s.warnings[0]).toMatchObject({ kind: "refused", listener: "api", reason: "HANDSHAKE_CONNECTION_CHANNEL_LIMIT" });
  });
});

describe("maxChannels", () => {
  it("refuses any connection's channels past it with HANDSHAKE_CHANNEL_LIMIT", async () => {
    const s = await setup({ maxChannels: 4 });
    const [a, b] = [await s.connect(), await s.connect()];
    const held = [await open(s, a), await open(s, a), await open(s, a), await open(s, b)];
    expect(s.listener.channelCount).toBe(4);
    expect((await refusal(open(s, b))).reason).toBe("HANDSHAKE_CHANNEL_LIMIT");
    expect((await refusal(open(s, a))).reason).toBe("HANDSHAKE_CHANNEL_LIMIT");
    const c = await s.connect();
    expect((await refusal(open(s, c))).reason).toBe("HANDSHAKE_CHANNEL_LIMIT");
    expect(s.listener.refusedChannels).toBe(3);
    expect(s.listener.channelCount).toBe(4);
    for (const channel of held) await roundTrip(s, channel, "held");

    await eventually(() => s.events.length === 3, 10_000, "3 refused-handshake events");
    for (const event of s.events) {
      expect(event).toMatchObject({ listener: "api", peer: undefined, reason: "HANDSHAKE_CHANNEL_LIMIT" });
      expect(event.error).toBeInstanceOf(ChannelLimitError);
    }
    expect(s.lines).toHaveLength(1);
    expect(s.lines[0]).toContain("the listener holds its maximum of 4 channels, open or handshaking (maxChannels)");
    expect(s.lines[0]).toContain("Raise maxChannels");
  });
});

describe("a channel that closes frees its slot", () => {
  it("closed by the initiator, by the responder, or with its connection: the next handshake succeeds", async () => {
    const s = await setup({ maxChannels: 3, maxChannelsPerConnection: 2 });
    const a = await s.connect();
    const first = await open(s, a);
    await open(s, a);
    expect((await refusal(open(s, a))).reason).toBe("HANDSHAKE_CONNECTION_CHANNEL_LIMIT");

    // Closed by the initiator: the responder's end closes on its CLOSE, and the slot is free.
    await first.close();
    await eventually(() => s.listener.channelCount === 1, 10_000, "the listener down to 1 channel");
    await roundTrip(s, await open(s, a), "after the initiator closed one");
    expect(s.listener.channelCount).toBe(2);

    // Closed by the responder: carol's channel over b, the listener's third.
    const carol = await createIdentity();
    const b = await s.connect();
    await open(s, b, carol);
    expect((await refusal(open(s, b))).reason).toBe("HANDSHAKE_CHANNEL_LIMIT");
    const carols = s.listener.channels.filter((c) => c.peerIdentifier === carol.identifier);
    expect(carols).toHaveLength(1);
    await carols[0]!.close();
    await eventually(() => s.listener.channelCount === 2, 10_000, "the listener down to 2 channels");
    await roundTrip(s, await open(s, b), "after the responder closed one");

    // With its connection: both channels that came over a go, and another connection may have them.
    expect((await refusal(open(s, b))).reason).toBe("HANDSHAKE_CHANNEL_LIMIT");
    await a.stop();
    await eventually(() => s.listener.channelCount === 1, 10_000, "the listener down to 1 channel");
    const c = await s.connect();
    await roundTrip(s, await open(s, c), "after the connection closed");
    await roundTrip(s, await open(s, c), "after the connection closed, twice");
    expect(s.listener.refusedChannels).toBe(3);
  });
});

describe("channel limit options", () => {
  it("default to 16 384 and 1 024, as the builder and as a plain object, and are validated naming the option", async () => {
    expect(DEFAULT_MAX_CHANNELS).toBe(16_384);
    expect(DEFAULT_MAX_CHANNELS_PER_CONNECTION).toBe(1_024);
    // A connection may hold as many channels as it may have handshakes in flight.
    expect(DEFAULT_MAX_CHANNELS_PER_CONNECTION).toBe(DEFAULT_HANDSHAKE_LIMITS.maxPendingPerConnection);
    const defaults = new SecureChannelListenerOptions();
    expect([defaults.maxChannels, defaults.maxChannelsPerConnection]).toEqual([16_384, 1_024]);
    const built = new SecureChannelListenerOptions().withMaxChannels(5).withMaxChannelsPerConnection(2);
    expect([built.maxChannels, built.maxChannelsPerConnection]).toEqual([5, 2]);

    // String() of an object without a prototype threw a TypeError while the message was built.
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "3", null, 3n, Object.create(null), [Object.create(null)], Symbol("s")]) {
      expect(() => new SecureChannelListenerOptions().withMaxChannels(bad as number)).toThrow(InvalidOptionError);
      expect(() => new SecureChannelListenerOptions().withMaxChannels(bad as number)).toThrow(expect.objectContaining({ option: "maxChannels" }));
      expect(() => new SecureChannelListenerOptions().withMaxChannelsPerConnection(bad as number)).toThrow(expect.objectContaining({ option: "maxChannelsPerConnection" }));
    }

    const n = await node({ warnings: false });
    nodes.push(n);
    const id = await createIdentity();
    const listener = await createSecureChannelListener(n, id, "plain", { maxChannels: 7, maxChannelsPerConnection: 3 });
    expect([listener.maxChannels, listener.maxChannelsPerConnection]).toEqual([7, 3]);
    const byDefault = await createSecureChannelListener(n, id, "default");
    expect([byDefault.maxChannels, byDefault.maxChannelsPerConnection]).toEqual([16_384, 1_024]);
    await expect(createSecureChannelListener(n, id, "a", { maxChannels: 0 })).rejects.toMatchObject({
      name: "InvalidOptionError",
      option: "maxChannels",
      message: "maxChannels must be an integer of at least 1; got 0",
    });
    await expect(createSecureChannelListener(n, id, "b", { maxChannelsPerConnection: 2.5 })).rejects.toMatchObject({ option: "maxChannelsPerConnection" });
    await expect(createSecureChannelListener(n, id, "c", { maxChanels: 3 } as never)).rejects.toMatchObject({
      option: "maxChanels",
      message: expect.stringMatching(/unknown option "maxChanels"; did you mean "maxChannels"\?/),
    });
    expect(n.router.has(route("a").next()) || n.router.has(route("b").next()) || n.router.has(route("c").next())).toBe(false);
  });

  it("the refusal codes and error classes are typed, listed and cross threads as themselves", () => {
    expect(SECURE_CHANNEL_REFUSAL_CODES).toContain("HANDSHAKE_CHANNEL_LIMIT");
    expect(SECURE_CHANNEL_REFUSAL_CODES).toContain("HANDSHAKE_CONNECTION_CHANNEL_LIMIT");
    for (const [Class, code] of [
      [ChannelLimitError, "HANDSHAKE_CHANNEL_LIMIT"],
      [ConnectionChannelLimitError, "HANDSHAKE_CONNECTION_CHANNEL_LIMIT"],
    ] as const) {
      const rebuilt = errorFromData(errorToData(new Class()));
      expect(rebuilt).toBeInstanceOf(Class);
      expect((rebuilt as InstanceType<typeof Class>).code).toBe(code);
    }
  });
});
