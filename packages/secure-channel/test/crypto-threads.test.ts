// Imports the compiled packages (dist), like the other multi-thread tests: the crypto
// threads load dist/crypto-threads/crypto-thread-entry.js, so the test must exercise the
// same JavaScript. Build first: npx tsc -b packages/secure-channel
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, nextTurn } from "../../../test/support/eventually.js";
import { AbortError, encodeBody, FlowControls, InvalidOptionError, LocalMessage, node, route, type Address, type Context, type Node, type Routed, type Worker } from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  CryptoThreads,
  DEFAULT_CRYPTO_THREADS,
  getCryptoProvider,
  InlineChannelCipher,
  nobleCryptoProvider,
  SecureChannelListenerOptions,
  SecureChannelOptions,
  TransportDecryptor,
  type ChannelCipherSink,
  type CryptoProvider,
  type DropReason,
  type SecureChannel,
  type SecureChannelListener,
} from "@hopwire/secure-channel";
// The channel end itself is internal: reached through the compiled file, like the package does.
import { ChannelEnd } from "../dist/secure-channel/channel-end.js";

const SIZES = [64, 1024, 16 * 1024, 64 * 1024];
const NOTHING = new Uint8Array(0);

// PATTERN[k] = k & 0xff, long enough for the largest body at any offset: a body's pattern is
// copied out of it (a loop writing byte by byte cost ~0.4 s of CPU over the bodies below).
const PATTERN = Uint8Array.from({ length: Math.max(...SIZES) + 256 }, (_, k) => k & 0xff);

/** A body of `size` bytes whose first 4 bytes are `index` and the rest a pattern of it: byte j is (index + j) & 0xff. */
function body(index: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, index, true);
  const from = (index + 4) & 0xff;
  if (size > 4) bytes.set(PATTERN.subarray(from, from + size - 4), 4);
  return bytes;
}

function check(bytes: Uint8Array, size: number): number {
  expect(bytes.length).toBe(size);
  const index = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  for (let j = 4; j < size; j += 97) if (bytes[j] !== ((index + j) & 0xff)) throw new Error(`message ${index} corrupted at ${j}`);
  return index;
}

/** Echoes each body back along the return route; records the order it saw. */
class Echoer implements Worker<Uint8Array> {
  readonly seen: number[] = [];
  async handleMessage(ctx: Context, message: Routed<Uint8Array>): Promise<void> {
    this.seen.push(new DataView(message.body.buffer, message.body.byteOffset).getUint32(0, true));
    await ctx.send(message.returnRoute, message.body);
  }
}

/** A main-thread worker that sends through a channel and collects the replies. */
class Client implements Worker<Uint8Array> {
  ctx!: Context;
  readonly received: Uint8Array[] = [];
  #want = 0;
  #done: (() => void) | undefined;
  initialize(ctx: Context): void {
    this.ctx = ctx;
  }
  handleMessage(_ctx: Context, message: Routed<Uint8Array>): void {
    this.received.push(message.body);
    if (this.received.length >= this.#want) this.#done?.();
  }
  until(count: number, timeout = 60_000): Promise<void> {
    this.#want = count;
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`got ${this.received.length} of ${count} replies`)), timeout);
      this.#done = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/**
 * Sits on the path of the handshake's first message so that the responder's messages to
 * the initiator go through it: it learns the initiator end's remote address and keeps a
 * copy of every TRANSPORT message the responder sends (for replays and forgeries).
 */
class Tap implements Worker {
  initiatorRemote: Address | undefined;
  readonly transport: Uint8Array[] = [];
  async handleMessage(ctx: Context, message: Routed): Promise<void> {
    const m = message.message;
    const onward = m.onwardRoute.popFront();
    let back = m.returnRoute;
    if (onward.next().key === "bob_listener") {
      this.initiatorRemote ??= back.next();
      back = back.prepend(message.destination);
    } else if (m.payload[0] === 2) this.transport.push(m.payload.slice());
    await ctx.forward(new LocalMessage(onward, back, m.payload, m.localInfo));
  }
}

interface Setup {
  node: Node;
  listener: SecureChannelListener;
  echoer: Echoer;
  client: Client;
  tap: Tap;
}

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

async function setup(threads: number | "auto", provider: CryptoProvider = getCryptoProvider("node")): Promise<Setup> {
  const n = await node();
  nodes.push(n);
  const echoer = new Echoer();
  const client = new Client();
  const tap = new Tap();
  await n.startWorker("echoer", echoer, { placement: "main" });
  await n.startWorker("client", client, { placement: "main" });
  await n.startWorker("tap", tap, { placement: "main" });
  const options = new SecureChannelListenerOptions().withCryptoThreads(threads).withCryptoProvider(provider);
  const listener = await createSecureChannelListener(n, createIdentity(), "bob_listener", options);
  n.flowControls.addConsumer("echoer", listener.flowControlId);
  return { node: n, listener, echoer, client, tap };
}

function connect(s: Setup, threads: number | "auto", via: "direct" | "tap" = "direct", provider?: CryptoProvider): Promise<SecureChannel> {
  const options = new SecureChannelOptions().withCryptoThreads(threads);
  if (provider) options.withCryptoProvider(provider);
  return createSecureChannel(s.node, createIdentity(), via === "tap" ? route("tap", "bob_listener") : route("bob_listener"), options);
}

async function roundTrip(s: Setup, channel: SecureChannel, count: number): Promise<void> {
  const start = s.client.received.length;
  for (let i = 0; i < count; i++) void s.client.ctx.send(route(channel, "echoer"), body(start + i, SIZES[i % SIZES.length]!));
  await s.client.until(start + count);
  s.client.received.slice(start).forEach((bytes, i) => expect(check(bytes, SIZES[i % SIZES.length]!)).toBe(start + i));
}

/**
 * An initiator on `n` asking for `threads` crypto threads, towards a route where nothing
 * answers: its handshake times out, and its threads were started before that.
 */
async function startedBy(n: Node, threads: number): Promise<void> {
  const options = new SecureChannelOptions().withCryptoThreads(threads).withHandshakeTimeout(200);
  await expect(createSecureChannel(n, createIdentity(), route("nobody_listens"), options)).rejects.toThrow();
}

describe("a secure channel on crypto threads", () => {
  for (const threads of [1, 2]) {
    // 400 messages: 100 of each size, 8 MiB each way (was 1000, 20 MiB: the same checks at 2.5x
    // the CPU). All are sent in one turn, so every size crosses the thread in many batches of
    // many ops each, in both directions: enough for the order and the batch counts below.
    it(`round-trips 400 messages of 64 B - 64 KiB both ways in order (${threads} thread${threads > 1 ? "s" : ""})`, async () => {
      const s = await setup(threads);
      const channel = await connect(s, threads);
      const pool = CryptoThreads.of(s.node)!;
      expect(pool).toBeDefined();
      // Two ends on this node: both on the one thread, or one on each.
      expect(pool.channelsPerThread()).toEqual(threads === 1 ? [2] : [1, 1]);
      await roundTrip(s, channel, 400);
      expect(s.echoer.seen).toEqual(Array.from({ length: 400 }, (_, i) => i));
      expect(channel.droppedMessages).toBe(0);
      // Batches, not a message per op: far fewer posts than seals and opens. (Small messages
      // of one turn share a seal, so there are at most 1600 + 2 of those: + the CONFIRM.)
      const stats = pool.stats;
      expect(stats.results).toBeGreaterThan(0);
      expect(stats.results).toBeLessThanOrEqual(1_600 + 2);
      expect(stats.batches).toBeLessThan(stats.ops / 4);
    });
  }

  for (const setting of [0, "auto"] as const) {
    // 200 messages (50 of each size): there are no batches to count inline, and the inline
    // codec carries far more in channel-flow.test.ts.
    it(`still round-trips inline (${setting}) and starts no thread`, async () => {
      const s = await setup(setting);
      const channel = await connect(s, setting);
      await roundTrip(s, channel, 200);
      expect(CryptoThreads.of(s.node)).toBeUndefined();
    });
  }

  for (const threads of [0, 1, 2]) {
    it(`CONFIRM opens the initiator before the message right behind it is handled (${threads} threads)`, async () => {
      const n = await node();
      nodes.push(n);
      const client = new Client();
      await n.startWorker("client", client, { placement: "main" });
      const initiator = new ChannelEnd(n, "initiator", new SecureChannelOptions().withCryptoThreads(threads), FlowControls.generateId(), route("nowhere"));
      const responder = new ChannelEnd(
        n,
        "responder",
        new SecureChannelListenerOptions().withCryptoThreads(threads),
        FlowControls.generateId(),
        route(initiator.remoteAddress),
      );
      initiator.remoteRoute = route(responder.remoteAddress);
      n.flowControls.addConsumer("client", initiator.flowControlId);
      const [k1, k2] = [new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(32))];
      const result = (sendKey: Uint8Array, receiveKey: Uint8Array) => ({ peerIdentifier: "I00", sendKey, receiveKey }) as never;
      initiator.establish(result(k1.slice(), k2.slice()));
      responder.establish(result(k2.slice(), k1.slice()));
      const confirmed = initiator.waitForConfirm();
      // In one turn: the responder opens (sealing CONFIRM) and at once sends a message, so
      // threaded, both are opened on the initiator side in one batch, CONFIRM first.
      responder.open();
      n.router.route(new LocalMessage(route(responder.encryptorAddress, "client"), route("app"), encodeBody(body(42, 64))), "app");
      expect(initiator.state).toBe(threads === 0 ? "open" : "handshaking");
      await expect(confirmed).resolves.toBe("confirmed");
      await client.until(1, 5_000);
      expect(check(client.received[0]!, 64)).toBe(42);
      if (threads > 0) expect(CryptoThreads.of(n)!.stats.results).toBe(6); // 3 seals, 3 opens: each end's opening CONTROLS record (the responder's with CONFIRM), the message
      initiator.close();
      responder.close();
    });
  }

  it("works with the noble provider on a thread, and with an inline initiator facing a threaded responder", async () => {
    const s = await setup(1, nobleCryptoProvider);
    // 40 round trips each (10 of each size): noble's AEAD is pure JavaScript, and what is
    // checked here (it runs on a thread, the two ends interoperate) needs no volume.
    const threaded = await connect(s, 1, "direct", nobleCryptoProvider);
    await roundTrip(s, threaded, 40);
    const inline = await connect(s, 0, "direct", nobleCryptoProvider);
    await roundTrip(s, inline, 40);
    expect(CryptoThreads.of(s.node)!.channelsPerThread()).toEqual([3]);
  });

  it("runs a custom provider object inline even when threads are asked for", async () => {
    const custom: CryptoProvider = { ...getCryptoProvider("node") };
    const s = await setup(1, custom);
    const channel = await connect(s, 1, "direct", custom);
    await roundTrip(s, channel, 100);
    expect(CryptoThreads.of(s.node)).toBeUndefined();
  });

  it("wipes the transport keys it hands an inline cipher once the cipher holds them", async () => {
    // A provider that remembers the key array of every AEAD it makes, and which of them
    // sealed or opened anything once the channel was open: those are the transport keys.
    const node20 = getCryptoProvider("node");
    const made: { key: Uint8Array; usedAfterOpen: boolean }[] = [];
    let open = false;
    const custom: CryptoProvider = {
      ...node20,
      createAead: (cipher, key) => {
        const aead = node20.createAead(cipher, key);
        const entry = { key, usedAfterOpen: false };
        made.push(entry);
        const mark = (): void => void (entry.usedAfterOpen ||= open);
        return new Proxy(aead, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver) as unknown;
            if (typeof value !== "function") return value;
            return (...args: unknown[]) => {
              mark();
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        });
      },
    };
    const s = await setup(0, custom);
    const channel = await connect(s, 0, "direct", custom);
    open = true;
    await roundTrip(s, channel, 20);
    const transport = made.filter((m) => m.usedAfterOpen);
    // Both ends are on this node: each seals with one key and opens with another.
    expect(transport.length).toBeGreaterThanOrEqual(4);
    for (const { key } of transport) expect(key.every((b) => b === 0)).toBe(true);
  });

  for (const threads of [0, 1, 2]) {
    it(`drops and counts replayed, tampered and forged ciphertext and keeps working (${threads} threads)`, async () => {
      const s = await setup(threads);
      const channel = await connect(s, threads, "tap");
      await roundTrip(s, channel, 20);
      const remote = s.tap.initiatorRemote!;
      expect(remote).toBeDefined();
      // The responder's CONFIRM and the 20 echo replies (small replies of one turn share a
      // record) went through the tap.
      const records = s.tap.transport;
      expect(records.length).toBeGreaterThanOrEqual(3);
      expect(records.length).toBeLessThanOrEqual(21);
      const inject = (payload: Uint8Array): void => s.node.router.route(new LocalMessage(route(remote), route("app"), payload), undefined);
      const replayed = records[1]!;
      const tampered = records[2]!.slice();
      tampered[tampered.length - 3] ^= 0x40;
      const fresh = records[records.length - 1]!.slice();
      fresh[8] ^= 1; // a nonce never seen, so only the tag can refuse it
      inject(replayed);
      inject(tampered);
      inject(fresh);
      inject(Uint8Array.of(2, 0, 0, 0)); // too short
      inject(Uint8Array.of(2, ...randomBytes(64))); // forged (nonce far away or tag wrong)
      // The channel keeps working, and its order: the drops were handled before these replies.
      await roundTrip(s, channel, 50);
      expect(channel.droppedMessages).toBe(5);
      // A replay of a message that was delivered is not delivered twice.
      expect(s.client.received.length).toBe(70);
      expect(channel.isClosed).toBe(false);
    });
  }

  it("keeps each channel's order with many channels spread across two threads", async () => {
    const s = await setup(2);
    const channels = await Promise.all(Array.from({ length: 6 }, () => connect(s, 2)));
    const pool = CryptoThreads.of(s.node)!;
    expect(pool.channelsPerThread()).toEqual([6, 6]);
    // One client per channel so that each one's replies can be checked on their own.
    const clients = await Promise.all(
      channels.map(async (_, k) => {
        const client = new Client();
        await s.node.startWorker(`client-${k}`, client, { placement: "main" });
        return client;
      }),
    );
    // All sends of all channels in one turn, so both threads' batches interleave channels.
    const perChannel = 200;
    for (let i = 0; i < perChannel; i++) {
      channels.forEach((channel, k) => void clients[k]!.ctx.send(route(channel, "echoer"), body(i, SIZES[(i + k) % SIZES.length]!)));
    }
    await Promise.all(clients.map((c) => c.until(perChannel)));
    clients.forEach((client, k) => client.received.forEach((bytes, i) => expect(check(bytes, SIZES[(i + k) % SIZES.length]!)).toBe(i)));
  });

  it("closes the peer end through the thread and drops the keys there", async () => {
    const s = await setup(2);
    const channel = await connect(s, 2);
    await roundTrip(s, channel, 10);
    expect(s.listener.channelCount).toBe(1);
    await channel.close();
    expect(channel.isClosed).toBe(true);
    await eventually(() => s.listener.channelCount === 0); // the CLOSE was sealed, sent and opened
    await eventually(() => CryptoThreads.of(s.node)!.channelsPerThread().every((c) => c === 0));
    await expect(s.client.ctx.send(route(channel, "echoer"), body(0, 64))).rejects.toThrow();
  });

  it("starts the threads a listener or an initiator asks for before any handshake, so no handshake window pays their start", async () => {
    // A thread's start costs ~0.15 s of CPU: started by the first channel end, on a starved
    // machine it made a responder's CONFIRM miss the handshake window.
    const s = await setup(2);
    const pool = CryptoThreads.of(s.node)!;
    expect([pool.threadCount, pool.readyThreadCount, s.listener.channelCount]).toEqual([2, 2, 0]);
    const other = await node();
    nodes.push(other);
    await startedBy(other, 1);
    expect(CryptoThreads.of(other)!.readyThreadCount).toBe(1);
    // Asked for inline: no pool at all.
    const inline = await node();
    nodes.push(inline);
    await createSecureChannelListener(inline, createIdentity(), "inline_listener", new SecureChannelListenerOptions().withCryptoThreads(0));
    expect(CryptoThreads.of(inline)).toBeUndefined();
  });

  it("node.stop() closes the channels and terminates the crypto threads", async () => {
    const s = await setup(2);
    const channel = await connect(s, 2);
    await roundTrip(s, channel, 10);
    const pool = CryptoThreads.of(s.node)!;
    expect(pool.threadCount).toBe(2);
    nodes.splice(nodes.indexOf(s.node), 1);
    await s.node.stop();
    expect(pool.closed).toBe(true);
    expect(pool.threadCount).toBe(0);
    expect(channel.isClosed).toBe(true);
    expect(s.listener.channelCount).toBe(0);
  });

  it("an initiator aborted before its thread started leaves nothing unhandled when the node stops", async () => {
    // The wait for the thread rejected at once on the aborted signal and nothing handled the
    // thread's start, which node.stop() then failed: an unhandled rejection ended the process.
    const unhandled: unknown[] = [];
    const record = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", record);
    try {
      const n = await node();
      nodes.push(n);
      const options = { cryptoThreads: 1, signal: AbortSignal.abort() };
      await expect(createSecureChannel(n, createIdentity(), route("nobody_listens"), options)).rejects.toThrow(AbortError);
      nodes.splice(nodes.indexOf(n), 1);
      await n.stop();
      // An unhandled rejection is reported after the microtasks of the turn it happened in.
      for (let i = 0; i < 5; i++) await nextTurn();
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", record);
    }
  });

  it("validates withCryptoThreads and defaults to the measured setting", () => {
    for (const Options of [SecureChannelOptions, SecureChannelListenerOptions]) {
      const options = new Options();
      expect(options.cryptoThreads).toBe(DEFAULT_CRYPTO_THREADS);
      for (const bad of [-1, 1.5, 65, Number.NaN, "two", null]) {
        expect(() => options.withCryptoThreads(bad as never)).toThrow(InvalidOptionError);
        expect(() => options.withCryptoThreads(bad as never)).toThrow(/cryptoThreads/);
      }
      // Their message was built with JSON.stringify: a TypeError for these, "got undefined" for a Symbol.
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      for (const [bad, shown] of [[1n, "1n"], [circular, "an object"], [Object.create(null), "an object"], [Symbol("s"), "a symbol"]] as const) {
        expect(() => options.withCryptoThreads(bad as never)).toThrow(expect.objectContaining({ name: "InvalidOptionError", option: "cryptoThreads" }));
        expect(() => options.withCryptoThreads(bad as never)).toThrow(new RegExp(`; got ${shown}$`));
      }
      expect(options.withCryptoThreads(0).cryptoThreads).toBe(0);
      expect(options.withCryptoThreads(4).cryptoThreads).toBe(4);
      expect(options.withCryptoThreads("auto").cryptoThreads).toBe("auto");
    }
  });
});

describe("CryptoThreads on its own", () => {
  const keys = () => ({ a: new Uint8Array(randomBytes(32)), b: new Uint8Array(randomBytes(32)) });

  class Sink implements ChannelCipherSink {
    readonly sealedMessages: Uint8Array[] = [];
    /** How many pieces each sealed payload came in (1: one buffer). */
    readonly sealedPieces: number[] = [];
    readonly openedMessages: Uint8Array[] = [];
    readonly drops: DropReason[] = [];
    readonly failures: Error[] = [];
    readonly order: string[] = [];
    sealed(payload: Uint8Array | readonly Uint8Array[]): void {
      this.sealedMessages.push(payload instanceof Uint8Array ? payload.slice() : Buffer.concat(payload));
      this.sealedPieces.push(payload instanceof Uint8Array ? 1 : payload.length);
      this.order.push("sealed");
    }
    opened(plaintext: Uint8Array): void {
      this.openedMessages.push(plaintext.slice());
      this.order.push("opened");
    }
    dropped(reason: DropReason): void {
      this.drops.push(reason);
      this.order.push("dropped");
    }
    failed(error: Error): void {
      this.failures.push(error);
    }
  }

  it("seals a large record inline into pieces (the cipher's own buffers, uncopied) that open as one record", () => {
    const { a, b } = keys();
    const options = { provider: getCryptoProvider("node"), rekeyInterval: 1000 };
    const sink = new Sink();
    const cipher = new InlineChannelCipher({ sendKey: a, receiveKey: b }, options, sink);
    const head = body(1, 40);
    cipher.seal(0, head, body(2, 16 * 1024)); // above the 2 KiB from which records go in parts
    cipher.seal(0, NOTHING, body(3, 100)); // a small one: one buffer
    expect(sink.sealedPieces[0]).toBeGreaterThan(1);
    expect(sink.sealedPieces[1]).toBe(1);
    const decryptor = new TransportDecryptor(a, options);
    const opened = sink.sealedMessages.map((payload) => {
      expect(payload[0]).toBe(2); // TRANSPORT
      const result = decryptor.decrypt(payload.subarray(1));
      if (!result.ok) throw new Error(result.reason);
      return result.plaintext;
    });
    expect(opened[0]![0]).toBe(0);
    expect(check(opened[0]!.subarray(1, 41), 40)).toBe(1);
    expect(check(opened[0]!.subarray(41), 16 * 1024)).toBe(2);
    expect(check(opened[1]!.subarray(1), 100)).toBe(3);
  });

  it("sends one turn's ops to a thread in one batch, rekeys there, and interoperates with the inline codec", async () => {
    const pool = new CryptoThreads(1);
    try {
      const { a, b } = keys();
      const options = { provider: getCryptoProvider("node"), rekeyInterval: 3 };
      const sink = new Sink();
      const cipher = pool.createCipher({ sendKey: a, receiveKey: b }, options, sink);
      for (let i = 0; i < 100; i++) cipher.seal(0, NOTHING, body(i, 100));
      expect(pool.stats.batches).toBe(0); // nothing posted before the turn ends
      await eventually(() => sink.sealedMessages.length === 100);
      expect(pool.stats).toEqual({ batches: 1, ops: 101, results: 100 });
      // Sealed on the thread, opened inline with the same key: 33 rekeys on the way.
      const inline = new TransportDecryptor(a, options);
      sink.sealedMessages.forEach((payload, i) => {
        expect(payload[0]).toBe(2);
        const result = inline.decrypt(payload.subarray(1));
        expect(result.ok).toBe(true);
        if (result.ok) expect(check(result.plaintext.subarray(1), 100)).toBe(i);
      });
      // Sealed inline, opened on the thread; seal and open results keep their interleaving.
      const peer = new Sink();
      const inlinePeer = new InlineChannelCipher({ sendKey: b, receiveKey: a }, options, peer);
      for (let i = 0; i < 10; i++) inlinePeer.seal(7, body(i, 64), NOTHING);
      sink.order.length = 0;
      cipher.open(peer.sealedMessages[0]!.subarray(1));
      cipher.seal(0, NOTHING, body(0, 10));
      cipher.open(peer.sealedMessages[0]!.subarray(1)); // replay
      for (let i = 1; i < 10; i++) cipher.open(peer.sealedMessages[i]!.subarray(1));
      await eventually(() => sink.openedMessages.length === 10);
      expect(sink.order.slice(0, 3)).toEqual(["opened", "sealed", "dropped"]);
      expect(sink.drops).toEqual(["REPLAY"]);
      expect(cipher.dropped).toBe(1);
      sink.openedMessages.forEach((p, i) => {
        expect(p[0]).toBe(7);
        expect(check(p.subarray(1), 64)).toBe(i);
      });
      // After dispose, nothing more is done for this channel.
      cipher.dispose();
      cipher.seal(0, NOTHING, body(0, 10));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(sink.sealedMessages.length).toBe(101);
      expect(sink.failures).toEqual([]);
      expect(pool.channelsPerThread()).toEqual([0]);
    } finally {
      await pool.close();
    }
    expect(pool.threadCount).toBe(0);
  });

  it("reports keys a thread refuses as a failure of that channel only", async () => {
    const pool = new CryptoThreads(1);
    try {
      const options = { provider: getCryptoProvider("node"), rekeyInterval: 0 }; // refused in the thread
      const bad = new Sink();
      const badCipher = pool.createCipher({ sendKey: new Uint8Array(32), receiveKey: new Uint8Array(32) }, options, bad);
      const good = new Sink();
      const { a, b } = keys();
      const goodCipher = pool.createCipher({ sendKey: a, receiveKey: b }, { ...options, rekeyInterval: 10 }, good);
      badCipher.seal(0, NOTHING, body(0, 64));
      goodCipher.seal(0, NOTHING, body(0, 64));
      await eventually(() => good.sealedMessages.length === 1 && bad.failures.length === 1);
      // Rebuilt from the crypto thread as the runtime's one InvalidOptionError, naming its option.
      expect(bad.failures[0]).toBeInstanceOf(InvalidOptionError);
      expect(bad.failures[0]).toMatchObject({ code: "OPTION_INVALID", option: "rekeyInterval" });
    } finally {
      await pool.close();
    }
  });
});
