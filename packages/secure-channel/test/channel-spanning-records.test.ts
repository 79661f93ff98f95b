// A channel's records (~64 KiB) nearly all span two socket reads: the receiving end opens
// them from the reads' pieces, never joined, and reads the envelopes across the pieces. A
// message sealed alone (over 17 KiB) goes on in those pieces, as a payload in parts; and a
// payload given in parts (a portal's DATA) is sealed from its parts, never joined.
import { afterEach, describe, expect, it } from "vitest";
import { Address, LocalMessage, NO_LOCAL_INFO, node, route, type Context, type Node, type Route, type Routed, type Worker } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelOptions } from "@hopwire/secure-channel";
import { InlineChannelCipher } from "../dist/crypto-threads/channel-cipher.js";
import { ChannelEnd } from "../dist/secure-channel/channel-end.js";
import { eventually } from "../../../test/support/eventually.js";

class Recorder implements Worker {
  readonly seen: Uint8Array[] = [];
  handleMessage(_ctx: Context, msg: Routed): void {
    this.seen.push(msg.body as Uint8Array);
  }
}

const nodes: Node[] = [];
const openParts = InlineChannelCipher.prototype.openParts;
const opened = ChannelEnd.prototype.opened;
afterEach(async () => {
  InlineChannelCipher.prototype.openParts = openParts;
  ChannelEnd.prototype.opened = opened;
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/** Message `i`: a pseudo-random length (1 B to ~3 KiB) and bytes that depend on `i`. */
function message(i: number): Uint8Array {
  const length = 1 + ((i * 2654435761) >>> 0) % 3_000;
  const bytes = new Uint8Array(length);
  for (let j = 0; j < length; j++) bytes[j] = (i + j * 31) & 0xff;
  return bytes;
}

describe("records that span socket reads", () => {
  it("are opened in pieces, and every envelope arrives intact and in order, those that straddle two pieces too", async () => {
    let openedInParts = 0;
    InlineChannelCipher.prototype.openParts = function (this: InlineChannelCipher, parts: readonly Uint8Array[], skip: number) {
      openedInParts++;
      return openParts.call(this, parts, skip);
    };
    const bob = await node({ name: "bob" });
    const alice = await node({ name: "alice" });
    nodes.push(bob, alice);
    const tcpListener = await (await createTcpTransport(bob)).listen("127.0.0.1:0");
    const listener = await createSecureChannelListener(bob, createIdentity(), "bob_listener", { consumerOf: tcpListener.flowControlId });
    const recorder = new Recorder();
    await bob.startWorker("sink", recorder, { placement: "main" });
    bob.flowControls.addConsumer("sink", listener.flowControlId);
    const connection = await (await createTcpTransport(alice)).connect(tcpListener.address);
    const channel = await createSecureChannel(alice, createIdentity(), route(connection, "bob_listener"));

    const count = 3_000;
    // 100 sends a turn: they coalesce into records of ~64 KiB.
    for (let i = 0; i < count; i += 100) {
      let last: Promise<void> | undefined;
      for (let k = i; k < i + 100; k++) last = alice.send(route(channel, "sink"), message(k));
      await last;
    }
    const deadline = Date.now() + 30_000;
    while (recorder.seen.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));

    expect(recorder.seen.length).toBe(count);
    const wrong = recorder.seen.findIndex((bytes, i) => !Buffer.from(bytes).equals(Buffer.from(message(i))));
    expect(wrong).toBe(-1);
    expect(openedInParts).toBeGreaterThan(0);
  });
});

/** Bob with a raw mailbox "sink" (what the channel hands on, as it is) and alice with a channel to him. */
async function channelToRawSink(cryptoThreads = 0): Promise<{ alice: Node; to: Route; received: LocalMessage[] }> {
  const bob = await node({ name: "bob" });
  const alice = await node({ name: "alice" });
  nodes.push(bob, alice);
  const tcpListener = await (await createTcpTransport(bob)).listen("127.0.0.1:0");
  // A small receive window, so that credit must come back many times over (each envelope counted right).
  const listener = await createSecureChannelListener(bob, createIdentity(), "bob_listener", { consumerOf: tcpListener.flowControlId, receiveWindow: { bytes: 256 * 1024 } });
  const received: LocalMessage[] = [];
  const sink = Address.parse("sink");
  bob.router.register([sink], { address: sink, deliver: (m: LocalMessage) => void received.push(m) });
  bob.flowControls.addConsumer(sink, listener.flowControlId);
  const connection = await (await createTcpTransport(alice)).connect(tcpListener.address);
  const channel = await createSecureChannel(alice, createIdentity(), route(connection, "bob_listener"), new SecureChannelOptions().withCryptoThreads(cryptoThreads));
  return { alice, to: route(channel, sink), received };
}

/** A message given in parts that counts the reads of its payload whole (which join the parts). */
class CountedParts extends LocalMessage {
  static joins = 0;
  constructor(onward: Route, back: Route, parts: readonly Uint8Array[]) {
    super(onward, back, new Uint8Array(0), NO_LOCAL_INFO, parts);
  }
  override get payload(): Uint8Array {
    CountedParts.joins++;
    return super.payload;
  }
}

describe("a large message's payload in parts", () => {
  it("a MESSAGE record that spans socket reads goes on in its pieces, intact and in order", async () => {
    const { alice, to, received } = await channelToRawSink();
    // Each over 64 KiB, a socket read's most: every record spans two reads or more.
    const sizes = Array.from({ length: 40 }, (_, i) => 70_000 + i * 997);
    for (let i = 0; i < sizes.length; i++) await alice.send(to, message(i).subarray(0, 1)) // a small one between: heads change
      .then(() => alice.forward(new LocalMessage(to, route("alice_app"), filled(i, sizes[i]!))));
    await eventually(() => received.length >= 2 * sizes.length, 30_000);
    expect(received.length).toBe(2 * sizes.length);
    const large = received.filter((m) => m.payloadLength > 1000);
    expect(large.map((m) => m.payloadLength)).toEqual(sizes);
    expect(large.findIndex((m, i) => !Buffer.from(m.payload).equals(Buffer.from(filled(i, sizes[i]!))))).toBe(-1);
    // A record's head may fall across two reads (then it is joined): most come in parts all the same.
    const inParts = large.filter((m) => m.parts !== undefined).length;
    expect(inParts).toBeGreaterThan(sizes.length / 2);
  });

  it("a MESSAGE record cut inside its head is read joined; cut at its payload's first byte or one byte in, it goes on in parts; each intact", async () => {
    const { alice, to, received } = await channelToRawSink();
    // Over 17 KiB: each a MESSAGE record of its own; ~1 MB in all, four times the receive window.
    const sizes = Array.from({ length: 30 }, (_, i) => 30_000 + i);
    // Where the k-th record's plaintext is cut in two, given its length and its payload's: inside the
    // head (5 bytes in: kind byte and the start of the onward route), at the payload's first byte, one byte in.
    const cuts = [() => 5, (length: number, payload: number) => length - payload, (length: number, payload: number) => length - payload + 1];
    let k = 0;
    ChannelEnd.prototype.opened = function (this: ChannelEnd, plaintext: Uint8Array | readonly Uint8Array[]) {
      const whole = plaintext instanceof Uint8Array ? plaintext : Buffer.concat(plaintext);
      // 0: a MESSAGE record (InnerKind.MESSAGE); the large ones are ours, in the order sent.
      if (whole[0] !== 0 || whole.length < 20_000) return opened.call(this, plaintext);
      const at = cuts[k % cuts.length]!(whole.length, sizes[k]!);
      k++;
      return opened.call(this, [whole.subarray(0, at), whole.subarray(at)]);
    };
    for (let i = 0; i < sizes.length; i++) await alice.forward(new LocalMessage(to, route("alice_app"), filled(i, sizes[i]!)));
    await eventually(() => received.length >= sizes.length, 30_000);
    expect(received.map((m) => m.payloadLength)).toEqual(sizes);
    expect(received.findIndex((m, i) => !Buffer.from(m.payload).equals(Buffer.from(filled(i, sizes[i]!))))).toBe(-1);
    // The ones cut in the head came joined (no parts), the others in parts (reading `payload` joins, but keeps `parts`).
    expect(received.map((m) => (m.parts === undefined ? "joined" : "parts"))).toEqual(sizes.map((_, i) => (i % 3 === 0 ? "joined" : "parts")));
  });

  it.each([0, 1])("a payload given in parts is sealed from them, never read whole, and arrives as their concatenation (%i crypto threads)", async (cryptoThreads) => {
    const { alice, to, received } = await channelToRawSink(cryptoThreads);
    CountedParts.joins = 0;
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      // A small prefix (a portal's kind byte), then the bytes; and once a few small parts before them.
      const parts = i === 5 ? [Uint8Array.of(1), Uint8Array.of(2, 3), filled(i, 30_000)] : [Uint8Array.of(0xd0 + i), filled(i, 20_000 + i * 4_000)];
      sent.push(Buffer.concat(parts));
      await alice.forward(new CountedParts(to, route("alice_app"), parts));
    }
    await eventually(() => received.length >= sent.length, 30_000);
    expect(CountedParts.joins).toBe(0);
    expect(received.map((m) => Buffer.from(m.payload).toString("hex"))).toEqual(sent.map((b) => Buffer.from(b).toString("hex")));
  });
});

/** `size` bytes that depend on `i` and on their position. */
function filled(i: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let j = 0; j < size; j++) bytes[j] = (i * 7 + j * 13 + (j >> 8)) & 0xff;
  return bytes;
}
