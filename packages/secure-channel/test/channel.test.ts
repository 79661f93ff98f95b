import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  LocalMessage,
  node,
  route,
  RouteUnavailableError,
  type Context,
  type Node,
  type Routed,
  type Worker,
} from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  peerIdentifierOf,
  SecureChannelHandshakeError,
  SecureChannelListenerOptions,
  SecureChannelOptions,
  SecureChannelRefusedError,
  trustCustom,
  trustIdentifier,
  type Identity,
  type SecureChannelListener,
} from "@hopwire/secure-channel";
import { eventually } from "../../../test/support/eventually.js";

/** Replies with the body and who sent it, as the channel authenticated them. */
class WhoAmI implements Worker {
  async handleMessage(ctx: Context, msg: Routed) {
    await ctx.send(msg.returnRoute, { body: msg.body, peer: peerIdentifierOf(msg) ?? null });
  }
}

/** Records every message it receives. */
class Recorder implements Worker {
  readonly seen: Routed[] = [];
  handleMessage(_ctx: Context, msg: Routed) {
    this.seen.push(msg);
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
  await n.startWorker("whoami", new WhoAmI(), { placement: "main" });
  listener = await createSecureChannelListener(n, bob, "bob_listener");
  n.flowControls.addConsumer("whoami", listener.flowControlId);
});

afterEach(async () => {
  await n.stop();
});

describe("secure channel on one node", () => {
  it("carries a message to the worker and its reply back, authenticating the initiator", async () => {
    const channel = await createSecureChannel(n, alice, route("bob_listener"));
    expect(channel.peerIdentifier).toBe(bob.identifier);
    const reply = await n.sendAndReceive<{ body: string; peer: string }>(route(channel, "whoami"), "Hello Ockam!");
    expect(reply).toEqual({ body: "Hello Ockam!", peer: alice.identifier });
  });

  it("works in the other direction: the responder's worker reaches the initiator's side through the channel", async () => {
    // The reply route of a message that crossed the channel starts at the responder's end:
    // a worker there can use it to reach workers behind the initiator.
    const recorder = new Recorder();
    await n.startWorker("alice_inbox", recorder, { placement: "main" });
    const channel = await createSecureChannel(n, alice, route("bob_listener"));
    n.flowControls.addConsumer("alice_inbox", channel.flowControlId);
    class Caller implements Worker {
      async handleMessage(ctx: Context, msg: Routed) {
        await ctx.send(route(msg.returnRoute.addresses[0]!, "alice_inbox"), "from bob's side");
      }
    }
    await n.startWorker("caller", new Caller(), { placement: "main" });
    n.flowControls.addConsumer("caller", listener.flowControlId);
    await n.send(route(channel, "caller"), "call me back");
    await eventually(() => recorder.seen.length === 1);
    expect(recorder.seen[0]!.body).toBe("from bob's side");
    expect(peerIdentifierOf(recorder.seen[0]!)).toBe(bob.identifier);
  });

  it("keeps order for many messages of several sizes", async () => {
    const recorder = new Recorder();
    await n.startWorker("sink", recorder, { placement: "main" });
    n.flowControls.addConsumer("sink", listener.flowControlId);
    const channel = await createSecureChannel(n, alice, route("bob_listener"));
    const sizes = [0, 1, 64, 1024, 16 * 1024, 70 * 1024];
    const count = 600;
    for (let i = 0; i < count; i++) {
      const bytes = new Uint8Array(sizes[i % sizes.length]!).fill(i % 251);
      await n.send(route(channel, "sink"), { i, bytes });
    }
    await eventually(() => recorder.seen.length === count);
    recorder.seen.forEach((m, i) => {
      const body = m.body as { i: number; bytes: Uint8Array };
      expect(body.i).toBe(i);
      expect(body.bytes.length).toBe(sizes[i % sizes.length]);
      expect(body.bytes.every((b) => b === i % 251)).toBe(true);
    });
  });

  it("sends that reuse route objects, interleaved with others, each reach their own worker with their own bytes", async () => {
    // The encryptor encodes a head once per pair of route objects it sees in a row: a stale head
    // would send a message to the previous one's worker, or its reply to the previous sender.
    const a = new Recorder();
    const b = new Recorder();
    await n.startWorker("a", a, { placement: "main" });
    await n.startWorker("b", b, { placement: "main" });
    n.flowControls.addConsumer("a", listener.flowControlId);
    n.flowControls.addConsumer("b", listener.flowControlId);
    const channel = await createSecureChannel(n, alice, route("bob_listener"));
    const toA = route(channel, "a");
    const toB = route(channel, "b");
    const sizes = [5, 64, 3000, 0, 1024, 20_000];
    const pattern = [toA, toA, toB, toA, toB, toB, toB, toA];
    const expected = { a: [] as number[], b: [] as number[] };
    for (let i = 0; i < 96; i++) {
      const to = pattern[i % pattern.length]!;
      (to === toA ? expected.a : expected.b).push(i);
      void n.send(to, new Uint8Array(sizes[i % sizes.length]!).fill(i));
      if (i % 10 === 9) {
        // A round trip in between: another return route through the same channel, then the old ones again.
        expect((await n.sendAndReceive<{ body: number }>(route(channel, "whoami"), i)).body).toBe(i);
      }
    }
    await eventually(() => a.seen.length === expected.a.length && b.seen.length === expected.b.length);
    for (const [recorder, indices] of [[a, expected.a], [b, expected.b]] as const) {
      recorder.seen.forEach((m, k) => {
        const i = indices[k]!;
        const payload = m.body as Uint8Array;
        expect(payload.length).toBe(sizes[i % sizes.length]);
        expect(payload.every((x) => x === i % 256)).toBe(true);
      });
    }
  });

  it("rekeys transparently at small intervals on both sides", async () => {
    const strictListener = await createSecureChannelListener(n, bob, "rekey_listener", new SecureChannelListenerOptions().withRekeyInterval(3));
    n.flowControls.addConsumer("whoami", strictListener.flowControlId);
    const channel = await createSecureChannel(n, alice, route("rekey_listener"), new SecureChannelOptions().withRekeyInterval(3));
    for (let i = 0; i < 20; i++) {
      const reply = await n.sendAndReceive<{ body: number }>(route(channel, "whoami"), i);
      expect(reply.body).toBe(i);
    }
  });
});

describe("crypto providers", () => {
  it.each([
    ["noble", "noble"],
    ["node", "noble"],
    ["noble", "node"],
  ] as const)("an initiator on %s and a responder on %s open a channel and exchange messages", async (initiatorProvider, responderProvider) => {
    const l = await createSecureChannelListener(n, bob, `listener_${initiatorProvider}_${responderProvider}`, new SecureChannelListenerOptions().withCryptoProvider(responderProvider));
    n.flowControls.addConsumer("whoami", l.flowControlId);
    const channel = await createSecureChannel(n, alice, route(l.address), new SecureChannelOptions().withCryptoProvider(initiatorProvider));
    for (const body of ["a", "b".repeat(5000)]) {
      const reply = await n.sendAndReceive<{ body: string; peer: string }>(route(channel, "whoami"), body);
      expect(reply).toEqual({ body, peer: alice.identifier });
    }
  });
});

describe("closing", () => {
  it("closing one end tears down both and fails a pending request fast", async () => {
    class Silent implements Worker {
      handleMessage() {}
    }
    await n.startWorker("silent", new Silent(), { placement: "main" });
    n.flowControls.addConsumer("silent", listener.flowControlId);
    const channel = await createSecureChannel(n, alice, route("bob_listener"));
    expect(listener.channelCount).toBe(1);
    const pending = n.sendAndReceive(route(channel, "silent"), "no answer", { timeout: 20_000 }).catch((e: unknown) => e);
    await channel.close();
    expect(await pending).toBeInstanceOf(RouteUnavailableError);
    expect(channel.isClosed).toBe(true);
    await eventually(() => listener.channelCount === 0);
    await expect(n.send(route(channel, "whoami"), "after close")).rejects.toMatchObject({ code: "SECURE_CHANNEL_CLOSED" });
  });

  it("node.stop() closes every channel", async () => {
    const channel = await createSecureChannel(n, alice, route("bob_listener"));
    await n.stop();
    expect(channel.isClosed).toBe(true);
    expect(listener.channelCount).toBe(0);
  });
});

describe("trust policies", () => {
  it("the initiator refuses a responder it does not trust", async () => {
    const stranger = await createIdentity();
    const options = new SecureChannelOptions().withTrustPolicy(trustIdentifier(stranger.identifier));
    const error = await createSecureChannel(n, alice, route("bob_listener"), options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecureChannelHandshakeError);
    expect((error as Error & { cause: { code: string } }).cause.code).toBe("HANDSHAKE_UNTRUSTED_IDENTITY");
    // the responder drops its half-open end when told, instead of waiting for its timeout
    await eventually(() => listener.channelCount === 0);
  });

  it("createSecureChannel fails with a typed error when the responder refuses the initiator", async () => {
    await createSecureChannelListener(n, bob, "picky", new SecureChannelListenerOptions().withTrustPolicy(trustIdentifier(bob.identifier)));
    const error = await createSecureChannel(n, alice, route("picky")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecureChannelRefusedError);
    expect((error as SecureChannelRefusedError).code).toBe("SECURE_CHANNEL_REFUSED");
    expect((error as SecureChannelRefusedError).reason).toBe("HANDSHAKE_UNTRUSTED_IDENTITY");
  });

  it("a custom policy sees the authenticated identifier on both sides", async () => {
    const seenByResponder: string[] = [];
    const seenByInitiator: string[] = [];
    await createSecureChannelListener(
      n,
      bob,
      "custom",
      new SecureChannelListenerOptions().withTrustPolicy(trustCustom((peer) => (seenByResponder.push(peer.identifier), true))),
    );
    await createSecureChannel(n, alice, route("custom"), new SecureChannelOptions().withTrustPolicy(trustCustom((peer) => (seenByInitiator.push(peer.identifier), true))));
    expect(seenByResponder).toEqual([alice.identifier]);
    expect(seenByInitiator).toEqual([bob.identifier]);
  });

  it("a handshake to nobody times out with the handshake timeout", async () => {
    class Sink implements Worker {
      handleMessage() {}
    }
    await n.startWorker("black_hole", new Sink(), { placement: "main" });
    const started = Date.now();
    const error = await createSecureChannel(n, alice, route("black_hole"), new SecureChannelOptions().withHandshakeTimeout(200)).catch((e: unknown) => e);
    expect((error as { code: string }).code).toBe("TIMEOUT");
    expect(Date.now() - started).toBeLessThan(5_000);
    // The message says what did not answer and what should be there.
    expect((error as Error).message).toBe(
      "secure channel handshake (no answer from 0#black_hole: is a secure channel listener at the end of that route, and a consumer of the flow the handshake arrives on? Its node warns when flow controls drop a message) timed out after 200 ms",
    );
    // Through a relay's forwarder, the likeliest cause is a name nobody holds now (an operator's trial, session 55).
    await n.startWorker("forward_to_bob", new Sink(), { placement: "main" });
    const viaRelay = await createSecureChannel(n, alice, route("forward_to_bob", "bob_listener"), new SecureChannelOptions().withHandshakeTimeout(200)).catch((e: unknown) => e);
    expect((viaRelay as Error).message).toBe(
      "secure channel handshake (no answer from 0#forward_to_bob => 0#bob_listener: is a secure channel listener at the end of that route, and a consumer of the flow the handshake arrives on; through a relay, is its name registered now (its registrant may be gone, or not registered again yet)? Its node warns when flow controls drop a message) timed out after 200 ms",
    );
  });

  it("a handshake the caller aborts says so, without the timeout's guess about the route", async () => {
    class Sink implements Worker {
      handleMessage() {}
    }
    await n.startWorker("slow_hole", new Sink(), { placement: "main" });
    const abort = new AbortController();
    const pending = createSecureChannel(n, alice, route("slow_hole"), new SecureChannelOptions().withSignal(abort.signal)).catch((e: unknown) => e);
    abort.abort();
    const error = (await pending) as Error & { code: string };
    expect(error.code).toBe("ABORTED");
    expect(error.message).toBe("secure channel handshake was aborted");
  });
});

describe("flow controls through a channel", () => {
  it("a worker that is not a consumer of the listener's flow is unreachable through the channel", async () => {
    const recorder = new Recorder();
    await n.startWorker("private", recorder, { placement: "main" });
    const channel = await createSecureChannel(n, alice, route("bob_listener"));
    await n.send(route(channel, "private"), "should not arrive");
    await n.sendAndReceive(route(channel, "whoami"), "flush"); // ordered behind the first message
    expect(recorder.seen).toHaveLength(0);
    n.flowControls.addConsumer("private", listener.flowControlId);
    await n.send(route(channel, "private"), "now it may");
    await eventually(() => recorder.seen.length === 1);
    expect(recorder.seen[0]!.body).toBe("now it may");
  });

  it("a consumer removed in the middle of a stream gets nothing from the next message on", async () => {
    // The channel keeps where its last delivery went (RouteMemo): a change of flow controls must undo that at once.
    const recorder = new Recorder();
    await n.startWorker("stream-sink", recorder, { placement: "main" });
    n.flowControls.addConsumer("stream-sink", listener.flowControlId);
    const channel = await createSecureChannel(n, alice, route("bob_listener"));
    for (let i = 0; i < 20; i++) void n.send(route(channel, "stream-sink"), i);
    await eventually(() => recorder.seen.length === 20); // nothing else in between: the last delivery went to stream-sink
    n.flowControls.removeConsumer("stream-sink", listener.flowControlId);
    for (let i = 20; i < 40; i++) void n.send(route(channel, "stream-sink"), i);
    await n.sendAndReceive(route(channel, "whoami"), "flush"); // ordered behind the stream
    expect(recorder.seen).toHaveLength(20);
  });
});

describe("forged, tampered and replayed messages", () => {
  /** A hop that records what passes through it, in both directions. */
  class Tap implements Worker {
    readonly seen: LocalMessage[] = [];
    async handleMessage(ctx: Context, msg: Routed) {
      const message = msg.message.withOnwardRoute(msg.onwardRoute.popFront()).withReturnRoute(msg.returnRoute.prepend(ctx.address));
      this.seen.push(message);
      await ctx.forward(message);
    }
  }

  /** A channel whose records pass a tap, to a recording sink; warmed up by a round trip, so that both ends' first CREDIT records have passed the tap. */
  async function tappedChannel() {
    const tap = new Tap();
    await n.startWorker("tap", tap, { placement: "main" });
    const recorder = new Recorder();
    await n.startWorker("sink", recorder, { placement: "main" });
    n.flowControls.addConsumer("sink", listener.flowControlId);
    const channel = await createSecureChannel(n, alice, route("tap", "bob_listener"));
    await n.sendAndReceive(route(channel, "whoami"), "warm-up");
    return { tap, recorder, channel };
  }

  it("small messages sent in one turn share one sealed record, and arrive in order", async () => {
    const { tap, recorder, channel } = await tappedChannel();
    const before = tap.seen.filter((m) => m.payload[0] === 2).length;
    for (let i = 0; i < 50; i++) void n.send(route(channel, "sink"), i); // one turn
    await eventually(() => recorder.seen.length === 50);
    expect(recorder.seen.map((m) => m.body)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const records = tap.seen.filter((m) => m.payload[0] === 2).length - before;
    expect(records).toBe(1);
  });

  it("16 KiB messages sent in one turn share records of at most 128 KiB, 1 KiB ones records of 64-80 KiB; larger ones are sealed alone", async () => {
    const { tap, recorder, channel } = await tappedChannel();
    const transportSince = (from: number): LocalMessage[] => tap.seen.slice(from).filter((m) => m.payload[0] === 2);

    let from = tap.seen.length;
    for (let k = 0; k < 14; k++) void n.send(route(channel, "sink"), new Uint8Array(16 * 1024).fill(k)); // one turn
    await eventually(() => recorder.seen.length === 14);
    expect(recorder.seen.map((m) => (m.body as Uint8Array)[0])).toEqual(Array.from({ length: 14 }, (_, k) => k));
    const coalesced = transportSince(from);
    // 14 × ≈ 16.5 KiB: at least two records (one holds at most 128 KiB), and far fewer than 14.
    expect(coalesced.length).toBeGreaterThanOrEqual(2);
    expect(coalesced.length).toBeLessThanOrEqual(3);
    expect(Math.max(...coalesced.map((m) => m.payload.length))).toBeLessThanOrEqual(128 * 1024 + 64);

    from = tap.seen.length;
    for (let k = 0; k < 3; k++) void n.send(route(channel, "sink"), new Uint8Array(20 * 1024).fill(k)); // one turn
    await eventually(() => recorder.seen.length === 17);
    expect(transportSince(from).length).toBe(3);

    // 200 × ≈ 1 KiB: records of 64 KiB (they are far more than 8 to a record) while more is queued, and what is
    // left at the turn's end (up to 80 KiB) in one: 3 or 4 records, not 2.
    from = tap.seen.length;
    for (let k = 0; k < 200; k++) void n.send(route(channel, "sink"), new Uint8Array(1024).fill(k)); // one turn
    await eventually(() => recorder.seen.length === 217);
    expect(recorder.seen.slice(17).map((m) => (m.body as Uint8Array)[0])).toEqual(Array.from({ length: 200 }, (_, k) => k & 0xff));
    const small = transportSince(from);
    expect(small.length).toBeGreaterThanOrEqual(3);
    expect(small.length).toBeLessThanOrEqual(4);
    expect(Math.max(...small.map((m) => m.payload.length))).toBeLessThan(80 * 1024 + 2048);

    // 70 × ≈ 1 KiB, a little over 64 KiB: one record at the turn's end, not a full one and a record of the few left.
    from = tap.seen.length;
    for (let k = 0; k < 70; k++) void n.send(route(channel, "sink"), new Uint8Array(1024).fill(k)); // one turn
    await eventually(() => recorder.seen.length === 287);
    expect(recorder.seen.slice(217).map((m) => (m.body as Uint8Array)[0])).toEqual(Array.from({ length: 70 }, (_, k) => k));
    expect(transportSince(from).length).toBe(1);
  });

  it("channels that coalesce records in the same turn each deliver their own bytes (they share the join buffer)", async () => {
    const recorders = [new Recorder(), new Recorder()];
    const channels = [];
    for (const [i, recorder] of recorders.entries()) {
      await n.startWorker(`sink-${i}`, recorder, { placement: "main" });
      n.flowControls.addConsumer(`sink-${i}`, listener.flowControlId);
      channels.push(await createSecureChannel(n, alice, route("bob_listener")));
    }
    const payload = (channel: number, k: number): Uint8Array => new Uint8Array(100 + ((k * 37) % 900)).fill(channel * 100 + (k % 100));
    for (let round = 0; round < 3; round++) {
      // One turn: both channels queue MESSAGES records, sealed one after the other.
      for (let k = 0; k < 40; k++) {
        for (let c = 0; c < 2; c++) void n.send(route(channels[c]!, `sink-${c}`), payload(c, round * 40 + k));
      }
      await eventually(() => recorders.every((r) => r.seen.length === (round + 1) * 40));
    }
    for (const [c, recorder] of recorders.entries()) {
      expect(recorder.seen.map((m) => Buffer.from(m.body as Uint8Array).toString("hex"))).toEqual(
        Array.from({ length: 120 }, (_, k) => Buffer.from(payload(c, k)).toString("hex")),
      );
    }
  });

  it("drops and counts them, and the channel carries on", async () => {
    const tap = new Tap();
    await n.startWorker("tap", tap, { placement: "main" });
    const channel = await createSecureChannel(n, alice, route("tap", "bob_listener"));
    const responderEnd = listener.channels[0]!;
    await n.sendAndReceive(route(channel, "whoami"), "one");
    // Handshake messages 1 and 2 went to the listener and to the initiator's end; so the
    // last transport message not bound for the initiator is the ciphertext of "one".
    const handshakes = tap.seen.filter((m) => m.payload[0] === 1);
    const initiatorEnd = handshakes[1]!.onwardRoute;
    const toResponder = tap.seen.filter((m) => m.payload[0] === 2 && !m.onwardRoute.equals(initiatorEnd));
    const real = toResponder[toResponder.length - 1]!;
    const inject = (payload: Uint8Array) => n.forward(new LocalMessage(real.onwardRoute, route("tap"), payload));

    await inject(real.payload); // replay
    const flipped = real.payload.slice();
    flipped[flipped.length - 1]! ^= 1; // tampered tag
    await inject(flipped);
    const forged = real.payload.slice();
    forged.fill(7, 9); // same nonce, forged ciphertext
    await inject(forged);
    const farFuture = real.payload.slice();
    farFuture.set([0, 0, 0, 0, 0, 9, 0, 0], 1); // forged nonce far ahead: must not move the window
    await inject(farFuture);
    await inject(Uint8Array.of(2, 1, 2, 3)); // too short

    await eventually(() => responderEnd.droppedMessages === 5);
    const reply = await n.sendAndReceive<{ body: string }>(route(channel, "whoami"), "still works");
    expect(reply.body).toBe("still works");
    expect(responderEnd.droppedMessages).toBe(5);
  });
});

