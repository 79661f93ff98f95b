// One rule for every options object of every package (docs/errors.md, "undefined is the
// default, null is an error"): an option left out or given as undefined takes its default; one
// given as null is an InvalidOptionError naming it. Before, `??` made null the default for some
// options (shutdownTimeout, a mailbox's limits, a channel's receive window, an outlet's address…)
// while the others refused it, and some low-level classes failed with a TypeError.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, encodeBody, InvalidOptionError, LocalMessage, node, route, startRelay, type Node } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions, type TcpListener, type TcpTransport } from "@hopwire/transport-tcp";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  CryptoThreads,
  DEFAULT_HANDSHAKE_LIMITS,
  InitiatorHandshake,
  InlineChannelCipher,
  loadIdentity,
  nodeCryptoProvider,
  saveIdentity,
  TransportDecryptor,
  TransportEncryptor,
  trustEveryone,
  type Identity,
  type SecureChannelListener,
} from "@hopwire/secure-channel";
import { XXHandshakeState } from "@hopwire/secure-channel/noise";
import { createInlet, createOutlet } from "@hopwire/portal";
import { allowAnyIdentity, createRemoteRelay, startRelayService, tcpRelayConnector } from "@hopwire/relay";

type Options = Record<string, unknown>;

/**
 * One options surface: `call` passes its options object on (`undefined` for none) and returns
 * what it made. Each option is a path into the options object ("mailbox.maxBytes"), with the
 * name the error gives it when that differs (`cryptoProvider` is checked as `provider`).
 */
interface Surface {
  call: (options: Options | null | undefined) => unknown;
  base?: Options;
  options: (string | { path: string; named?: string; nullOnly?: true })[];
}

/** `base` with `value` at `path` ("a.b" sets b inside a copy of base.a). */
function withPath(base: Options, path: string, value: unknown): Options {
  const [head, ...rest] = path.split(".");
  if (rest.length === 0) return { ...base, [head!]: value };
  return { ...base, [head!]: withPath((base[head!] as Options | undefined) ?? {}, rest.join("."), value) };
}

/** What a call settled with: its value, or the error it threw or rejected with. */
async function settle(run: () => unknown): Promise<{ value?: unknown; error?: unknown }> {
  try {
    return { value: await run() };
  } catch (error) {
    return { error };
  }
}

/** Stops, closes or disposes of what a call made (a listener, a channel, a node, a cipher…). */
async function release(made: unknown): Promise<void> {
  const thing = made as { stop?: () => unknown; close?: () => unknown; dispose?: () => unknown } | undefined;
  if (typeof thing?.stop === "function") await thing.stop();
  else if (typeof thing?.close === "function") await thing.close();
  else if (typeof thing?.dispose === "function") thing.dispose();
}

/**
 * Null as the options object ("options"), and at each option, is an InvalidOptionError naming it; undefined
 * there is the default. `surface` is made in the test, once the fixtures exist.
 */
function checkSurface(name: string, surface: () => Surface): void {
  it(`${name}: null is an InvalidOptionError naming the option; undefined is the default`, async () => {
    const { call, base = {}, options } = surface();
    const whole = await settle(() => call(null));
    expect(whole.error, `${name}(null)`).toBeInstanceOf(InvalidOptionError);
    expect((whole.error as InvalidOptionError).option, `${name}(null)`).toBe("options");
    for (const option of options) {
      const { path, named = path, nullOnly } = typeof option === "string" ? { path: option } : option;
      const rejected = await settle(() => call(withPath(base, path, null)));
      expect(rejected.error, `${name} { ${path}: null }`).toBeInstanceOf(InvalidOptionError);
      expect((rejected.error as InvalidOptionError).option, `${name} { ${path}: null }`).toBe(named);
      await release(rejected.value);
      if (nullOnly) continue;
      const taken = await settle(() => call(withPath(base, path, undefined)));
      expect(taken.error, `${name} { ${path}: undefined }`).toBeUndefined();
      await release(taken.value);
    }
  });
}

let n: Node;
let tcp: TcpTransport;
let target: TcpListener;
let bob: Identity;
let alice: Identity;
let api: SecureChannelListener;
let unique = 0;
const next = (prefix: string): string => `${prefix}-${unique++}`;

beforeAll(async () => {
  n = await node({ warnings: false, sendAndReceiveTimeout: 10_000 });
  tcp = await createTcpTransport(n);
  target = await tcp.listen("127.0.0.1:0");
  bob = createIdentity();
  alice = createIdentity();
  api = await createSecureChannelListener(n, bob, "api", { consumerOf: target.flowControlId });
  await n.startWorker("sink", { handleMessage: () => {} }, { placement: "main" });
  await n.startWorker("echo", { handleMessage: (ctx, m) => ctx.send(m.returnRoute, m.body) }, { placement: "main" });
});

afterAll(async () => {
  await n?.stop();
});

describe("runtime", () => {
  const mailbox = ["mailbox", "mailbox.maxMessages", "mailbox.maxBytes"];
  checkSurface("node", () => ({
    call: (options) => node(options as never),
    base: { warnings: false },
    options: ["name", "logger", "sendAndReceiveTimeout", "pool", "pool.minThreads", "pool.maxThreads", "shutdownTimeout", ...mailbox, "linkWindowBytes", "warnings", "busyPollMicros"],
  }));
  checkSurface("createLogger", () => ({ call: (options) => createLogger("hopwire:test", options as never), options: ["debug", "prefix", "sink"] }));
  checkSurface("startWorker", () => ({
    call: (options) => n.startWorker(next("w"), { handleMessage: () => {} }, options as never),
    base: { placement: "main" },
    // A worker instance runs on the main thread only when asked: no default placement for it.
    options: [{ path: "placement", nullOnly: true }, "args", "aliases", ...mailbox],
  }));
  checkSurface("send", () => ({ call: (options) => n.send("sink", "x", options as never), options: ["timeout", "signal", "localInfo"] }));
  checkSurface("forward", () => ({
    call: (options) => n.forward(new LocalMessage(route("sink"), route(n.address), encodeBody("x")), options as never),
    options: ["timeout", "signal", "localInfo"],
  }));
  checkSurface("sendAndReceive", () => ({ call: (options) => n.sendAndReceive("echo", "x", options as never), options: ["timeout", "signal", "localInfo"] }));
  checkSurface("receive", () => ({
    // Nothing arrives: each of the two bounds ends the wait when the other is left out.
    call: (options) => n.receive(options as never).catch((error: unknown) => (error instanceof InvalidOptionError ? Promise.reject(error) : "ended")),
    base: { timeout: 20, signal: AbortSignal.timeout(20) },
    options: ["timeout", "signal"],
  }));
  checkSurface("startRelay", () => ({ call: (options) => startRelay(n, next("relay"), route("sink"), options as never), options: ["openFlowControls", "onForward"] }));
});

describe("transport-tcp", () => {
  // keepalive is a pair: both values or neither (its own check), so no default for one of them alone.
  const liveness = [
    "firstFrameTimeout",
    "idleTimeout",
    { path: "keepalive.interval", named: "keepaliveInterval", nullOnly: true as const },
    { path: "keepalive.peerTimeout", named: "peerTimeout", nullOnly: true as const },
  ];
  checkSurface("createTcpTransport", () => ({
    // The node's transport was made with the defaults: options that ask for them get it again.
    call: (options) => createTcpTransport(n, options as never).then(() => undefined),
    options: [
      "sendHighWaterMark",
      "maxSendBufferBytes",
      "sendBufferBudget",
      "maxPendingDialMessages",
      "dialTimeout",
      "partialFrameTimeout",
      "maxPartialFrameBytes",
      "keepaliveInterval",
      "peerTimeout",
      "firstFrameTimeout",
      "idleTimeout",
      "maxConnections",
      "maxConnectionsPerHost",
      "dialAllowList",
    ],
  }));
  checkSurface("tcp.listen", () => ({
    call: (options) => tcp.listen("127.0.0.1:0", options as never),
    base: { keepalive: { interval: 1_000, peerTimeout: 5_000 } },
    options: [...liveness, "maxConnections", "maxConnectionsPerHost", "signal", "timeout"],
  }));
  checkSurface("tcp.listen's wait", () => ({ call: (wait) => tcp.listen("127.0.0.1:0", new TcpListenerOptions(), wait as never), options: ["signal", "timeout"] }));
  checkSurface("tcp.connect", () => ({
    call: (options) => tcp.connect(target.address, options as never),
    base: { keepalive: { interval: 1_000, peerTimeout: 5_000 }, reconnect: {} },
    options: [...liveness, "consumerOf", "reconnect", "reconnect.initialDelay", "reconnect.maxDelay", "reconnect.maxAttempts", "signal", "timeout"],
  }));
  checkSurface("tcp.connect's wait", () => ({ call: (wait) => tcp.connect(target.address, new TcpConnectionOptions(), wait as never), options: ["signal", "timeout"] }));
});

describe("secure-channel", () => {
  const channel = [
    "trustPolicy",
    { path: "cryptoProvider", named: "provider" },
    "rekeyInterval",
    "handshakeTimeout",
    "cryptoThreads",
    "receiveWindow",
    "receiveWindow.messages",
    "receiveWindow.bytes",
    "sendQueueLimits",
    "sendQueueLimits.maxMessages",
    "sendQueueLimits.maxBytes",
    "peerTimeout",
    "keepaliveInterval",
  ];
  checkSurface("createSecureChannelListener", () => ({
    call: (options) => createSecureChannelListener(n, bob, next("listener"), options as never),
    options: [
      ...channel,
      "consumerOf",
      "handshakeLimits",
      ...Object.keys(DEFAULT_HANDSHAKE_LIMITS).map((key) => `handshakeLimits.${key}`),
      "maxChannels",
      "maxChannelsPerConnection",
    ],
  }));
  checkSurface("createSecureChannel", () => ({
    call: (options) => createSecureChannel(n, alice, route("api"), options as never),
    options: [...channel, "signal", { path: "timeout", named: "handshakeTimeout" }],
  }));
  checkSurface("channel.close", () => ({ call: async (options) => (await createSecureChannel(n, alice, route("api"))).close(options as never), options: ["timeoutMs"] }));

  describe("identity files", () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "hopwire-null-options-"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    checkSurface("saveIdentity", () => ({ call: (options) => saveIdentity(alice, join(dir, "alice.json"), options as never), options: ["signal"] }));
    checkSurface("loadIdentity", () => ({
      call: async (options) => {
        await saveIdentity(alice, join(dir, "loaded.json"));
        return loadIdentity(join(dir, "loaded.json"), undefined, options as never);
      },
      options: ["signal"],
    }));
  });

  describe("the codec, the handshakes and the crypto threads (options with no checks of their own)", () => {
    const key = new Uint8Array(32).fill(7);
    const cipher = ["provider", "rekeyInterval", "cipher"];
    checkSurface("TransportEncryptor", () => ({ call: (options) => new TransportEncryptor(key, options as never), options: cipher }));
    checkSurface("TransportDecryptor", () => ({ call: (options) => new TransportDecryptor(key, options as never), options: [...cipher, "windowSize", "maxEpochSkip"] }));
    checkSurface("InitiatorHandshake", () => ({
      call: (options) => new InitiatorHandshake(options as never),
      base: { identity: alice, trustPolicy: trustEveryone() },
      options: ["provider", "noiseStaticKeyPair", "noiseEphemeralKeyPair"],
    }));
    checkSurface("XXHandshakeState", () => ({
      call: (options) => new XXHandshakeState(options as never),
      base: { protocolName: "Noise_XX_25519_AESGCM_SHA256", initiator: true, s: nodeCryptoProvider.x25519.generateKeyPair() },
      options: ["prologue", "e", "provider"],
    }));
    checkSurface("InlineChannelCipher", () => ({
      call: (options) => new InlineChannelCipher({ sendKey: key, receiveKey: key }, options as never, { sealed: () => {}, opened: () => {}, dropped: () => {} }),
      base: { provider: nodeCryptoProvider, rekeyInterval: 1_000 },
      options: ["cipher"],
    }));
    checkSurface("CryptoThreads", () => ({ call: (options) => new CryptoThreads(1, options as never), options: ["log", "maxBatchBytes"] }));
  });
});

describe("portal", () => {
  const streams = ["windowBytes", "maxWindowBytes", "maxStreams"];
  checkSurface("createOutlet", () => ({
    // The one outlet at the default address is stopped before the next is made.
    call: (options) => createOutlet(n, options === null ? null : ({ to: "127.0.0.1:9", address: next("outlet"), ...options } as never)),
    options: ["address", "allow", "asConsumer", "connectTimeoutMs", ...streams, "maxStreamsPerChannel"],
  }));
  checkSurface("createInlet", () => ({
    call: (options) => createInlet(n, options === null ? null : ({ listen: "127.0.0.1:0", route: "outlet", ...options } as never)),
    options: ["target", "openTimeoutMs", "earlyData", ...streams],
  }));
});

describe("relay", () => {
  const policy = allowAnyIdentity();
  checkSurface("startRelayService", () => ({
    call: async (options) => {
      const service = await startRelayService(n, options === null ? null : ({ policy, address: next("service"), ...options } as never));
      // A worker: stopped as one (the one at the default address must go before the next is made).
      return { stop: () => n.stopWorker(service.address) };
    },
    options: ["address", "serviceConsumerOf", "forwarderConsumerOf", "onEvent", "maxNamesPerChannel", "maxNamesPerIdentity", "maxNames"],
  }));

  describe("a remote relay registering with this node's own service", () => {
    beforeAll(async () => {
      await startRelayService(n, { policy, serviceConsumerOf: api.flowControlId });
    });
    checkSurface("createRemoteRelay", () => ({
      call: (options) =>
        createRemoteRelay(n, options === null ? null : ({ name: next("relay-name"), identity: alice, connect: tcpRelayConnector(tcp, target.address), ...options } as never)),
      options: [
        "listener",
        "service",
        "trust",
        "heartbeatIntervalMs",
        "replyTimeoutMs",
        "handshakeTimeoutMs",
        "backoff",
        "backoff.initialMs",
        "backoff.maxMs",
        "retryUntilRegistered",
        "onEvent",
      ],
    }));
  });
});
