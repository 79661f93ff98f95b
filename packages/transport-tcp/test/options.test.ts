import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError, node, type Node } from "@hopwire/runtime";
import { DEFAULT_SEND_BUFFER_BUDGET, TcpConnectionOptions, TcpListenerOptions, createTcpTransport, type TcpConnectOptions, type TcpListenOptions } from "@hopwire/transport-tcp";
import { startNode, startResponder } from "./support.js";
import { thrownOptionError } from "../../../test/support/thrown.js";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

const optionError = thrownOptionError;

describe("options", () => {
  it("TcpConnectionOptions: a fresh flow control id each, asConsumer and withTimeout validated by name", () => {
    const a = new TcpConnectionOptions();
    const b = new TcpConnectionOptions();
    expect(a.flowControlId).not.toBe(b.flowControlId);
    expect(a.asConsumer("fc1").asConsumer("fc2").withTimeout(500)).toBe(a);
    expect(a.consumerOf).toEqual(["fc1", "fc2"]);
    expect(a.timeout).toBe(500);
    expect(optionError(() => a.asConsumer("")).message).toMatch(/asConsumer/);
    expect(optionError(() => a.asConsumer(42 as unknown as string)).message).toMatch(/asConsumer/);
    expect(optionError(() => a.withTimeout(0)).message).toMatch(/withTimeout/);
    expect(optionError(() => a.withTimeout(Number.NaN)).message).toMatch(/withTimeout/);
  });

  it("TcpListenerOptions: a fresh spawner id each", () => {
    const a = new TcpListenerOptions();
    expect(a.spawnerFlowControlId).toBe(a.flowControlId);
    expect(a.spawnerFlowControlId).not.toBe(new TcpListenerOptions().spawnerFlowControlId);
  });

  it("an options object makes one connection or listener (its id identifies exactly one)", async () => {
    const responder = await startResponder();
    const initiator = await startNode("initiator");
    nodes.push(responder.node, initiator.node);
    const options = new TcpConnectionOptions();
    await initiator.tcp.connect(responder.listener.address, options);
    await expect(initiator.tcp.connect(responder.listener.address, options)).rejects.toMatchObject({ message: expect.stringMatching(/already used/), option: "options" });
    const listenerOptions = new TcpListenerOptions();
    await responder.tcp.listen("127.0.0.1:0", listenerOptions);
    const reused = await responder.tcp.listen("127.0.0.1:0", listenerOptions).catch((error: unknown) => error);
    expect(reused).toBeInstanceOf(InvalidOptionError);
    expect((reused as InvalidOptionError).option).toBe("options");
  });

  it("rejects wrong option objects and wait options, naming them", async () => {
    const { tcp, node: n } = await startNode("n");
    nodes.push(n);
    await expect(tcp.connect("127.0.0.1:1", new TcpListenerOptions() as unknown as TcpConnectionOptions)).rejects.toThrow(/TcpConnectionOptions/);
    await expect(tcp.listen("127.0.0.1:0", new TcpConnectionOptions() as never)).rejects.toThrow(/TcpListenerOptions or a plain object/);
    await expect(tcp.connect("127.0.0.1:1", undefined, { timeout: -1 })).rejects.toThrow(/timeout/);
    await expect(tcp.connect("127.0.0.1:1", undefined, { signal: {} as AbortSignal })).rejects.toThrow(/signal/);
  });

  it("transport options are validated by name", async () => {
    const n = await node();
    nodes.push(n);
    await expect(createTcpTransport(n, { sendHighWaterMark: 0 })).rejects.toThrow(/sendHighWaterMark/);
    await expect(createTcpTransport(n, { maxSendBufferBytes: 1.5 })).rejects.toThrow(/maxSendBufferBytes/);
    await expect(createTcpTransport(n, { sendHighWaterMark: 10, maxSendBufferBytes: 5 })).rejects.toThrow(/maxSendBufferBytes/);
    await expect(createTcpTransport(n, { sendBufferBudget: 0 })).rejects.toThrow(/sendBufferBudget/);
    await expect(createTcpTransport(n, { sendHighWaterMark: 16, maxSendBufferBytes: 64, sendBufferBudget: 32 })).rejects.toMatchObject({
      code: "OPTION_INVALID",
      option: "sendBufferBudget",
      message: "sendBufferBudget (32) must not be below maxSendBufferBytes (64)",
    });
    await expect(createTcpTransport(n, { dialTimeout: -5 })).rejects.toThrow(/dialTimeout/);
    await expect(createTcpTransport(n, { partialFrameTimeout: 0 })).rejects.toThrow(/partialFrameTimeout/);
    await expect(createTcpTransport(n, { partialFrameTimeout: 1.5 })).rejects.toThrow(/partialFrameTimeout/);
    await expect(createTcpTransport(n, { maxPendingDialMessages: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
    // An array or a Map was taken as no options at all.
    for (const bad of [[], new Map(), null]) await expect(createTcpTransport(n, bad as never)).rejects.toThrow(/^TCP transport options must be an object such as \{ maxConnections: 64 \}, got /);
  });

  it("sendBufferBudget defaults to 256 MiB, or to maxSendBufferBytes when that is larger (not an error about an option never given)", async () => {
    const small = await node();
    const large = await node();
    nodes.push(small, large);
    await createTcpTransport(small);
    expect(DEFAULT_SEND_BUFFER_BUDGET).toBe(256 * 1024 * 1024);
    await expect(createTcpTransport(small, { sendBufferBudget: DEFAULT_SEND_BUFFER_BUDGET })).resolves.toBeDefined();
    const maxSendBufferBytes = 2 * DEFAULT_SEND_BUFFER_BUDGET;
    await createTcpTransport(large, { maxSendBufferBytes });
    // The same settings again: the budget resolved to maxSendBufferBytes, not the default.
    await expect(createTcpTransport(large, { maxSendBufferBytes, sendBufferBudget: maxSendBufferBytes })).resolves.toBeDefined();
    await expect(createTcpTransport(large, { maxSendBufferBytes, sendBufferBudget: maxSendBufferBytes + 1 })).rejects.toThrow(/already has a TCP transport/);
  });

  it("a node has one transport: a later call checks its options, returns it for the same ones (or none), and refuses others instead of ignoring them", async () => {
    const n = await node();
    nodes.push(n);
    const tcp = await createTcpTransport(n, { maxConnections: 1, dialAllowList: ["127.0.0.1:1"] });
    expect(await createTcpTransport(n)).toBe(tcp);
    expect(await createTcpTransport(n, { maxConnections: 1, dialAllowList: ["127.0.0.1:1"] })).toBe(tcp);
    // Ignored before: a second listener connection was accepted past maxConnections 1 asked for here.
    await expect(createTcpTransport(n, { maxConnections: 2 })).rejects.toMatchObject({ code: "OPTION_INVALID", option: "options" });
    await expect(createTcpTransport(n, { maxConnections: 1 })).rejects.toThrow(/already has a TCP transport/);
    // Bad options are bad whether or not the node has a transport.
    await expect(createTcpTransport(n, { bogus: 1 } as never)).rejects.toThrow(/bogus/);
    await expect(createTcpTransport(n, { maxConnections: -5 })).rejects.toThrow(/maxConnections/);
  });
});

describe("plain-object listen and connect options", () => {
  it("take every setter of the builders, keepalive as { interval, peerTimeout } (a bare number was read as the interval alone)", async () => {
    const responder = await startNode("responder");
    const initiator = await startNode("initiator");
    nodes.push(responder.node, initiator.node);
    const listenOptions: TcpListenOptions = { maxConnections: 7, maxConnectionsPerHost: 3, idleTimeout: 60_000, firstFrameTimeout: 4_000, keepalive: { interval: 1_000, peerTimeout: 5_000 } };
    const listener = await responder.tcp.listen("127.0.0.1:0", listenOptions);
    expect(listener.liveness).toEqual({ keepaliveInterval: 1_000, peerTimeout: 5_000, firstFrameTimeout: 4_000, idleTimeout: 60_000 });
    expect([listener.maxConnections, listener.maxConnectionsPerHost]).toEqual([7, 3]);
    const connectOptions: TcpConnectOptions = { keepalive: { interval: 2_000, peerTimeout: 9_000 }, reconnect: { maxAttempts: 2 }, timeout: 10_000 };
    const connection = await initiator.tcp.connect(listener.address, connectOptions);
    expect(connection.liveness).toMatchObject({ keepaliveInterval: 2_000, peerTimeout: 9_000 });

    const bare = await initiator.tcp.connect(listener.address, { keepalive: 1_000 } as never).catch((e: unknown) => e);
    expect(bare).toBeInstanceOf(InvalidOptionError);
    expect(bare).toMatchObject({ option: "keepalive", message: "connect options: keepalive must be { interval, peerTimeout } (milliseconds each), got a number" });
    // String() of an array holding an object without a prototype threw a TypeError while the message was built.
    await expect(initiator.tcp.connect(listener.address, { keepalive: [Object.create(null)] } as never)).rejects.toMatchObject({
      option: "keepalive",
      message: "connect options: keepalive must be { interval, peerTimeout } (milliseconds each), got an array",
    });
    await expect(initiator.tcp.connect(listener.address, { keepalive: { interval: 1_000 } } as never)).rejects.toMatchObject({ option: "keepalive.peerTimeout" });
    await expect(responder.tcp.listen("127.0.0.1:0", { keepalive: { interval: 1_000, peerTimout: 5_000 } } as never)).rejects.toMatchObject({
      option: "keepalive.peerTimout",
      message: expect.stringMatching(/did you mean "peerTimeout"\?/),
    });
  });
});

describe("unknown keys and misspelt names", () => {
  it("a misspelt transport option is an InvalidOptionError that names it and suggests the right one (docs: validated)", async () => {
    const n = await node();
    nodes.push(n);
    const error = await createTcpTransport(n, { peerTimeut: 5 } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({
      option: "peerTimeut",
      message: expect.stringMatching(/^TCP transport options: unknown option "peerTimeut"; did you mean "peerTimeout"\? known options: /),
    });
    await expect(createTcpTransport(n, { idleTimeout: -1 })).rejects.toMatchObject({ option: "idleTimeout" });
    await expect(createTcpTransport(n, { dialTimeout: 2 ** 31 })).rejects.toMatchObject({ option: "dialTimeout" });
  });

  it("withReconnect rejects a misspelt key (maxAttemps: 3 reconnected for ever)", () => {
    const error = optionError(() => new TcpConnectionOptions().withReconnect({ maxAttemps: 3 } as never));
    expect(error.option).toBe("reconnect.maxAttemps");
    expect(error.message).toMatch(/did you mean "maxAttempts"\?/);
    expect(optionError(() => new TcpConnectionOptions().withIdleTimeout(-1)).option).toBe("idleTimeout");
    // Past 2^53 a count is no exact integer: 1e300 was taken, as no limit at all.
    expect(optionError(() => new TcpListenerOptions().withMaxConnections(1e300)).option).toBe("maxConnections");
    expect(optionError(() => new TcpListenerOptions().withMaxConnectionsPerHost(2 ** 53)).option).toBe("maxConnectionsPerHost");
  });

  it("the waits of connect, whenConnected and waitForDrain reject unknown keys and bad timeouts", async () => {
    const responder = await startResponder();
    const initiator = await startNode("initiator");
    nodes.push(responder.node, initiator.node);
    await expect(initiator.tcp.connect(responder.listener.address, new TcpConnectionOptions(), { timout: 5 } as never)).rejects.toMatchObject({
      option: "timout",
      message: expect.stringMatching(/did you mean "timeout"\?/),
    });
    const connection = await initiator.tcp.connect(responder.listener.address);
    await expect(connection.whenConnected({ timeot: 5 } as never)).rejects.toMatchObject({ code: "OPTION_INVALID", option: "timeot" });
    await expect(connection.waitForDrain({ timeout: 0 })).rejects.toMatchObject({ code: "OPTION_INVALID", option: "timeout" });
    await expect(connection.whenConnected({ timeout: 1_000 })).resolves.toBeUndefined();
  });
});

describe("keepaliveInterval and peerTimeout: the one not given follows the other", () => {
  async function livenessOf(options: Parameters<typeof createTcpTransport>[1]) {
    const n = await node();
    nodes.push(n);
    const tcp = await createTcpTransport(n, options);
    const listener = await tcp.listen("127.0.0.1:0");
    return { keepaliveInterval: listener.liveness.keepaliveInterval, peerTimeout: listener.liveness.peerTimeout };
  }

  it("peerTimeout alone is accepted, and the keepalive default fits twice in it (it failed about a keepaliveInterval never set)", async () => {
    expect(await livenessOf({ peerTimeout: 5_000 })).toEqual({ keepaliveInterval: 2_500, peerTimeout: 5_000 });
    expect(await livenessOf({ peerTimeout: 60_000 })).toEqual({ keepaliveInterval: 10_000, peerTimeout: 60_000 });
    expect(await livenessOf({ keepaliveInterval: 20_000 })).toEqual({ keepaliveInterval: 20_000, peerTimeout: 40_000 });
    expect(await livenessOf({ keepaliveInterval: 2_000 })).toEqual({ keepaliveInterval: 2_000, peerTimeout: 30_000 });
    expect(await livenessOf({})).toEqual({ keepaliveInterval: 10_000, peerTimeout: 30_000 });
  });

  it("a conflicting pair given explicitly is still an InvalidOptionError, as is a peerTimeout no keepalive fits in", async () => {
    const n = await node();
    nodes.push(n);
    await expect(createTcpTransport(n, { keepaliveInterval: 4_000, peerTimeout: 5_000 })).rejects.toMatchObject({
      option: "keepaliveInterval",
      message: expect.stringMatching(/keepaliveInterval \(4000 ms\) must be at most half of peerTimeout \(5000 ms\)/),
    });
    await expect(createTcpTransport(n, { peerTimeout: 1 })).rejects.toMatchObject({ option: "peerTimeout" });
    expect(optionError(() => new TcpConnectionOptions().withKeepalive(4_000, 5_000)).option).toBe("keepaliveInterval");
  });
});
