import { describe, expect, it, onTestFinished } from "vitest";
import net, { type Socket } from "node:net";
import { once } from "node:events";
import { Address, LocalMessage, MessageRun, REPEATED_HEAD_PAYLOADS, Route, decodeBody, decodeEnvelope, decodeEnvelopeHead, encodeBody } from "@hopwire/runtime";
import { FrameTooLargeError, MAX_FRAME_LENGTH, PROTOCOL_VERSION, REPEATED_HEAD_FRAME } from "@hopwire/transport-tcp";
import { COPY_THRESHOLD, FrameWriter, MAX_HOLD_MS } from "../dist/frame-writer.js";
import { FrameReader } from "../dist/frame-reader.js";
import { messagesOf } from "./support.js";

/** Just enough of a socket to watch what the writer hands it. */
function fakeSocket(acceptBytes = Infinity) {
  const writes: Uint8Array[][] = [];
  let batch: Uint8Array[] | undefined;
  let length = 0;
  const socket = {
    get writableLength() {
      return length;
    },
    cork() {
      batch = [];
    },
    uncork() {
      if (batch) writes.push(batch);
      batch = undefined;
    },
    write(chunk: Uint8Array, _callback?: () => void) {
      if (batch) batch.push(chunk);
      else writes.push([chunk]);
      length += chunk.length;
      const ok = length <= acceptBytes;
      if (ok) length = 0;
      return ok;
    },
  };
  return { socket: socket as unknown as Socket, writes };
}

const own = Address.random();
const pool = [
  [own, new Address(0, "echoer")],
  [own, new Address(0, "sink")],
  [own, new Address(0, "relay"), new Address(0, "echoer")],
  [own, new Address(1, "127.0.0.1:4000"), new Address(0, "x".repeat(300))],
].map((a) => new Route(a));
const returns = [[new Address(0, "app")], [new Address(0, "app")], [new Address(0, "other"), new Address(0, "app")], []].map((a) => new Route(a));

/** Every byte of `bytes` is `value` (a plain loop: `some` with a callback per byte cost ~0.5 s of CPU over the 40 MB below). */
function filledWith(bytes: Uint8Array, value: number): boolean {
  for (let j = 0; j < bytes.length; j++) if (bytes[j] !== value) return false;
  return true;
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe("FrameWriter", () => {
  it("writes a lent bytes body that repeats the last head straight into the arena, as a repeated-head frame of encodeBody(bytes)", async () => {
    const { socket, writes } = fakeSocket();
    const writer = new FrameWriter(socket, () => {}, Infinity);
    const bytes = new Uint8Array(300);
    // No head written yet: the caller must make the message.
    expect(writer.enqueueBytesBody(pool[0]!, returns[0]!, bytes)).toBe(false);
    writer.enqueue(new LocalMessage(pool[0]!, returns[0]!, encodeBody(bytes.fill(1))));
    const lent: boolean[] = [];
    for (let i = 2; i < 5; i++) {
      bytes.fill(i);
      lent.push(writer.enqueueBytesBody(pool[0]!, returns[0]!, bytes));
      bytes.fill(0xee); // the caller's buffer again
    }
    // Other routes: not this way.
    expect(writer.enqueueBytesBody(pool[1]!, returns[0]!, bytes)).toBe(false);
    expect(lent).toEqual([true, true, true]);
    await turn();
    const frames: { repeatsHead: boolean; body: unknown }[] = [];
    new FrameReader().push(Buffer.concat([Buffer.of(PROTOCOL_VERSION), ...writes.flat()]), (b: Buffer, start: number, end: number, repeatsHead: boolean) => {
      const payload = repeatsHead ? b.subarray(start, end) : decodeEnvelope(b.subarray(start, end), "network").payload;
      frames.push({ repeatsHead, body: decodeBody(payload) });
    });
    expect(frames.map((f) => f.repeatsHead)).toEqual([false, true, true, true]);
    expect(frames.map((f) => Buffer.from(f.body as Uint8Array).equals(Buffer.alloc(300, frames.indexOf(f) + 1)))).toEqual([true, true, true, true]);
  });

  it("keeps the arenas of a busy spell for reuse, as many as cover its high-water mark and 4 more, until a trimSpares finds none taken since the last", async () => {
    // A socket that takes everything and calls each write's callback a turn later, as net.Socket does once the kernel has the bytes.
    const socket = {
      writableLength: 0,
      cork() {},
      uncork() {},
      write(_chunk: Uint8Array, callback?: () => void) {
        if (callback) setImmediate(callback);
        return true;
      },
    } as unknown as Socket;
    const burst = async (writer: FrameWriter, bytes: number): Promise<void> => {
      const message = new LocalMessage(pool[0]!, returns[0]!, Buffer.alloc(1024, 1));
      for (let sent = 0; sent < bytes; sent += 1024) writer.enqueue(message);
      await turn(); // the batch goes
      await turn(); // its write callback: the arenas are free
    };
    const small = new FrameWriter(socket, () => {}, Infinity, 256 * 1024);
    await burst(small, 2 * 1024 * 1024); // 32 arenas' worth
    expect(small.spareArenas).toBe(256 / 64 + 4);
    await burst(small, 2 * 1024 * 1024); // takes the spares, and keeps as many again
    small.trimSpares(); // spares were taken since the last trim (none before): kept
    expect(small.spareArenas).toBe(256 / 64 + 4);
    small.trimSpares(); // none taken since: the spell is over
    expect(small.spareArenas).toBe(0);
    const usual = new FrameWriter(socket, () => {}, Infinity); // the default mark, 1 MiB
    await burst(usual, 2 * 1024 * 1024);
    expect(usual.spareArenas).toBe(1024 / 64 + 4);
    await burst(usual, 2 * 1024 * 1024); // a second spell writes into those and keeps no more
    expect(usual.spareArenas).toBe(1024 / 64 + 4);
  });

  it("copies a long lent payload into a buffer it reuses only once the socket is done with it, keeping up to its high-water mark of them", async () => {
    // A socket that keeps every chunk it is given and calls the write callbacks only when the test says.
    const chunks: Uint8Array[] = [];
    const callbacks: (() => void)[] = [];
    const socket = {
      writableLength: 0,
      cork() {},
      uncork() {},
      write(chunk: Uint8Array, callback?: () => void) {
        chunks.push(chunk);
        if (callback) callbacks.push(callback);
        return true;
      },
    } as unknown as Socket;
    const writer = new FrameWriter(socket, () => {}, Infinity, 256 * 1024);
    const lent = (fill: number): LocalMessage => new LocalMessage(pool[0]!, returns[0]!, Buffer.alloc(64 * 1024 + 5, fill));
    const payloadOf = (fill: number): Uint8Array | undefined => chunks.find((chunk) => chunk.length === 64 * 1024 + 5 && chunk[0] === fill);
    writer.enqueue(lent(1), true);
    await turn();
    const first = payloadOf(1)!;
    expect(first.every((b) => b === 1)).toBe(true);
    writer.enqueue(lent(2), true); // the first is still the socket's: not written over
    await turn();
    expect(first.every((b) => b === 1)).toBe(true);
    expect(writer.spareLentBuffers).toBe(0);
    for (const done of callbacks.splice(0)) done();
    expect(writer.spareLentBuffers).toBe(2);
    writer.enqueue(lent(3), true); // into one of those two
    expect(writer.spareLentBuffers).toBe(1);
    expect(first[0] === 3 || payloadOf(2)![0] === 3).toBe(true);
    // A spell of many: as many kept as fit in the high-water mark (256 KiB: two of 128 KiB).
    for (let i = 0; i < 8; i++) writer.enqueue(lent(4), true);
    await turn();
    for (const done of callbacks.splice(0)) done();
    expect(writer.spareLentBuffers).toBe(2);
    writer.trimSpares(); // taken since the last trim: kept
    writer.trimSpares();
    expect(writer.spareLentBuffers).toBe(0);
  });

  it("writes the version byte, then one batch per turn that decodes to exactly what was queued", async () => {
    const { socket, writes } = fakeSocket();
    const writer = new FrameWriter(socket, () => {}, Infinity); // exact batching: no early flush (MAX_HOLD_MS), whatever the machine's load
    writer.writeVersion();
    const sent: LocalMessage[] = [];
    let seed = 11;
    const random = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 500; i++) {
      // Fresh Address objects half the time: the head cache compares by value.
      const base = pool[random(pool.length)]!;
      const onward = random(2) ? base : new Route(base.addresses.map((a, k) => (k === 0 ? a : new Address(a.type, a.value))));
      const payload = Buffer.alloc([0, 5, COPY_THRESHOLD - 1, COPY_THRESHOLD, 20_000][random(5)]!, i % 251);
      for (let k = 0; k < payload.length; k++) payload[k] = (k * 7 + i) % 256;
      // A third are given in parts (cut at random points, so short and long pieces): same bytes on the wire.
      const cuts = random(3) === 0 ? [random(payload.length + 1), random(payload.length + 1)].sort((a, b) => a - b) : undefined;
      const message = cuts
        ? LocalMessage.fromParts(onward, returns[random(returns.length)]!, [payload.subarray(0, cuts[0]), payload.subarray(cuts[0], cuts[1]), payload.subarray(cuts[1])])
        : new LocalMessage(onward, returns[random(returns.length)]!, payload);
      writer.enqueue(message);
      sent.push(message);
    }
    // The socket was idle: nothing is written until the caller's synchronous work is done, then all of it at once.
    expect(writes).toHaveLength(0);
    await Promise.resolve();
    expect(writes).toHaveLength(1);
    expect(Buffer.concat(writes[0]!)[0]).toBe(PROTOCOL_VERSION); // the version byte first
    await turn();
    expect(writes).toHaveLength(1);
    const bytes = Buffer.concat(writes.flat());
    const received: LocalMessage[] = [];
    new FrameReader().push(bytes, messagesOf((m) => void received.push(m)));
    expect(received).toHaveLength(sent.length);
    received.forEach((m, i) => {
      expect(m.onwardRoute.equals(sent[i]!.onwardRoute.popFront())).toBe(true);
      expect(m.returnRoute.equals(sent[i]!.returnRoute)).toBe(true);
      expect(Buffer.from(m.payload).equals(Buffer.from(sent[i]!.payload))).toBe(true);
    });
  });

  it("a frame for an idle socket goes out in its caller's turn with what the caller and earlier microtasks sent; later frames of the turn coalesce into one batch", async () => {
    const { socket, writes } = fakeSocket();
    const writer = new FrameWriter(socket, () => {}, Infinity); // exact batching: no early flush (MAX_HOLD_MS), whatever the machine's load
    writer.writeVersion();
    await turn();
    const before = writes.length;
    const message = (i: number) => new LocalMessage(pool[0]!, returns[0]!, Buffer.alloc(16, i));
    // As a socket read answered by several handshakes: each answer in a microtask queued before the write.
    const answers = [1, 2].map((i) => Promise.resolve().then(() => writer.enqueue(message(i))));
    writer.enqueue(message(0));
    expect(writes).toHaveLength(before); // not before the caller's synchronous work is done
    await Promise.all(answers);
    await Promise.resolve();
    expect(writes).toHaveLength(before + 1); // same turn, no waiting, the three together
    writer.enqueue(message(3));
    writer.enqueue(message(4));
    await Promise.resolve();
    expect(writes).toHaveLength(before + 1); // queued until the turn ends
    await turn();
    expect(writes).toHaveLength(before + 2);
    const frames: number[] = [];
    new FrameReader().push(Buffer.concat([Buffer.of(PROTOCOL_VERSION), ...writes.slice(before).flat()]), messagesOf((m) => void frames.push(m.payload[0]!)));
    expect(frames).toEqual([0, 1, 2, 3, 4]);
    // Idle again on the next turn: the next frame goes out in its caller's turn.
    await turn();
    writer.enqueue(message(5));
    await Promise.resolve();
    expect(writes).toHaveLength(before + 3);
  });

  it("hands a frame on before its turn ends once it has waited MAX_HOLD_MS while its sender computed the next one (a listener answering handshakes)", async () => {
    const { socket, writes } = fakeSocket();
    const writer = new FrameWriter(socket, () => {});
    writer.writeVersion();
    await turn();
    const before = writes.length;
    const message = (i: number) => new LocalMessage(pool[0]!, returns[0]!, Buffer.alloc(16, i));
    const work = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    // One turn: an answer, MAX_HOLD_MS of work, the next answer, and so on.
    for (let i = 0; i < 4; i++) {
      writer.enqueue(message(i));
      work(2 * MAX_HOLD_MS);
    }
    // Each answer after the first found the one before it held too long, and took it out with it.
    expect(writes.length - before).toBe(2);
    await turn();
    const frames: number[] = [];
    new FrameReader().push(Buffer.concat([Buffer.of(PROTOCOL_VERSION), ...writes.slice(before).flat()]), messagesOf((m) => void frames.push(m.payload[0]!)));
    expect(frames).toEqual([0, 1, 2, 3]);
  });

  it("writes a frame whose routes are the last head's as its payload alone, flagged; other routes, or a refused frame's, carry a head", async () => {
    const { socket, writes } = fakeSocket();
    const writer = new FrameWriter(socket, () => {});
    const frames: { repeatsHead: boolean; bytes: number; to?: string }[] = [];
    const record = (b: Buffer, start: number, end: number, repeatsHead: boolean) => {
      if (start === end && !repeatsHead) return;
      frames.push({ repeatsHead, bytes: end - start, to: repeatsHead ? undefined : decodeEnvelopeHead(b, "network", start, end).onwardRoute.toString() });
    };
    const payload = Buffer.alloc(64, 7);
    // The same routes by value (fresh objects), other first hops (not written: this connection), then other routes.
    const sink = () => new Route([Address.random(), new Address(0, "sink")]);
    writer.enqueue(new LocalMessage(sink(), returns[0]!, payload));
    writer.enqueue(new LocalMessage(sink(), new Route([new Address(0, "app")]), payload));
    writer.enqueue(new LocalMessage(pool[1]!, returns[0]!, Buffer.alloc(0)));
    writer.enqueue(new LocalMessage(pool[0]!, returns[0]!, payload));
    writer.enqueue(new LocalMessage(pool[0]!, returns[2]!, payload));
    // Refused (too large): the peer never sees its head, so the next frame with its routes must carry it.
    expect(() => writer.enqueue(new LocalMessage(pool[1]!, returns[1]!, Buffer.alloc(MAX_FRAME_LENGTH - 10)))).toThrow(FrameTooLargeError);
    writer.enqueue(new LocalMessage(pool[1]!, returns[1]!, payload));
    await turn();
    new FrameReader().push(Buffer.concat([Buffer.of(PROTOCOL_VERSION), ...writes.flat()]), record);
    expect(frames.map((f) => f.repeatsHead)).toEqual([false, true, true, false, false, false]);
    expect(frames.map((f) => f.to)).toEqual(["0#sink", undefined, undefined, "0#echoer", "0#echoer", "0#sink"]);
    // A repeated-head frame is the payload alone (an empty one too: not a keepalive).
    expect(frames[1]!.bytes).toBe(64);
    expect(frames[2]!.bytes).toBe(0);
    expect(frames[0]!.bytes).toBeGreaterThan(64 + 10);
    const words = Buffer.concat(writes.flat());
    expect(words.readUInt32BE(frames[0]!.bytes + 4)).toBe((REPEATED_HEAD_FRAME | 64) >>> 0);
  });

  it("passes a run of short repeated-head frames it received on unchanged in one piece: a view of the read if the run is at least half of it, else copied; in order with what is written around it", async () => {
    const { socket, writes } = fakeSocket();
    const writer = new FrameWriter(socket, () => {}, Infinity); // exact batching: no early flush (MAX_HOLD_MS), whatever the machine's load
    // What a relay's connection read (200 frames of 68 bytes, its own memory): a frame with a head, then repeated-head frames, all for the same routes.
    const payloads = Array.from({ length: 200 }, (_, i) => Buffer.alloc(64, i));
    const read = Buffer.concat(payloads.flatMap((p) => [Buffer.from([0x80, 0, 0, 64]), p]));
    expect(read.buffer.byteLength).toBe(200 * 68);
    const received = (i: number, at = i * 68 + 4) => LocalMessage.fromRange(pool[1]!, returns[0]!, read, at, at + 64);
    writer.enqueue(new LocalMessage(pool[1]!, returns[0]!, payloads[0]!)); // the head, written as usual
    // Runs are handed on when they end, in one piece: the payloads are not copied one by one.
    const copies: number[] = [];
    const set = Uint8Array.prototype.set;
    Uint8Array.prototype.set = function (this: Uint8Array, array: ArrayLike<number>, offset?: number) {
      if ((array as Uint8Array).buffer === read.buffer) copies.push(array.length);
      return set.call(this, array, offset);
    };
    onTestFinished(() => void (Uint8Array.prototype.set = set));
    for (let i = 1; i < 150; i++) writer.enqueue(received(i)); // 149 frames: most of the read
    writer.writeKeepalive(); // ends the run: queued in order
    for (let i = 150; i < 180; i++) writer.enqueue(received(i)); // 30 frames: a small share of it
    writer.enqueue(new LocalMessage(pool[1]!, returns[0]!, Buffer.alloc(64, 7))); // not from a read: written as usual
    writer.enqueue(received(180));
    writer.enqueue(received(182)); // not contiguous: a run of its own
    // A range whose word before it is not this frame's (a head's bin32 length): written as usual.
    const headed = Buffer.concat([Buffer.from([0xc6, 0, 0, 0, 64]), payloads[3]!]);
    writer.enqueue(LocalMessage.fromRange(pool[1]!, returns[0]!, headed, 5, 69));
    await turn();
    Uint8Array.prototype.set = set;
    const chunks = writes.flat();
    // The long run goes as a view of the read; the short ones are copied, so the read need not outlive them.
    const views = chunks.filter((c) => c.buffer === read.buffer);
    expect(views.map((c) => [c.byteOffset - read.byteOffset, c.length])).toEqual([[68, 149 * 68]]);
    // 30 frames of 68 bytes, then two runs of one frame (the 64-byte range after a head's length is copied as a payload).
    expect(copies).toEqual([30 * 68, 68, 68]);
    const got: Buffer[] = [];
    let keepalives = 0;
    new FrameReader().push(Buffer.concat([Buffer.of(PROTOCOL_VERSION), ...chunks]), (b, start, end, repeatsHead) => {
      if (start === end && !repeatsHead) keepalives++;
    });
    new FrameReader().push(Buffer.concat([Buffer.of(PROTOCOL_VERSION), ...chunks]), messagesOf((m) => void got.push(Buffer.from(m.payload))));
    expect(keepalives).toBe(1);
    const expected = [...payloads.slice(0, 180), Buffer.alloc(64, 7), payloads[180]!, payloads[182]!, payloads[3]!];
    expect(got.map((b) => b.toString("hex"))).toEqual(expected.map((b) => b.toString("hex")));
  });

  it("takes runs of frames another connection read, as they are: contiguous ones join, runs of several reads stay in order; other routes or formats are refused", async () => {
    const { socket, writes } = fakeSocket();
    const writer = new FrameWriter(socket, () => {}, Infinity);
    const payloads = Array.from({ length: 300 }, (_, i) => Buffer.alloc(60, i));
    const frames = (from: number, to: number) => Buffer.concat(payloads.slice(from, to).flatMap((p) => [Buffer.from([0x80, 0, 0, 60]), p]));
    const readA = frames(1, 100);
    const readB = frames(100, 300);
    const run = (source: Buffer, from: number, to: number, onward = pool[1]!, format = REPEATED_HEAD_PAYLOADS) =>
      new MessageRun(onward, returns[0]!, to - from, source, from * 64, to * 64, format);
    expect(writer.enqueueRun(run(readA, 0, 10))).toBe(false); // no head written yet: the frames would have none to repeat
    writer.enqueue(new LocalMessage(pool[1]!, returns[0]!, payloads[0]!));
    expect(writer.enqueueRun(run(readA, 0, 40))).toBe(true);
    expect(writer.enqueueRun(run(readA, 40, 99))).toBe(true); // right after it: one piece
    expect(writer.enqueueRun(run(readB, 0, 150))).toBe(true); // another read: the first run is written before it
    expect(writer.enqueueRun(run(readB, 150, 200, pool[0]!))).toBe(false); // routes this connection wrote no head for
    expect(writer.enqueueRun(run(readB, 150, 200, pool[1]!, Symbol("other")))).toBe(false);
    expect(writer.enqueueRun(run(readB, 150, 200))).toBe(true);
    expect(writer.framesOut).toBe(1 + 99 + 200);
    await turn();
    const got: Buffer[] = [];
    new FrameReader().push(Buffer.concat([Buffer.of(PROTOCOL_VERSION), ...writes.flat()]), messagesOf((m) => void got.push(Buffer.from(m.payload))));
    expect(got.map((b) => b.toString("hex"))).toEqual(payloads.map((b) => b.toString("hex")));
  });

  it("hands large payloads to the socket as they are (no copy) and copies small ones", async () => {
    const { socket, writes } = fakeSocket();
    const writer = new FrameWriter(socket, () => {});
    const large = Buffer.alloc(COPY_THRESHOLD, 1);
    const small = Buffer.alloc(10, 2);
    writer.enqueue(new LocalMessage(pool[0]!, returns[0]!, large));
    writer.enqueue(new LocalMessage(pool[0]!, returns[0]!, small));
    await turn();
    const chunks = writes.flat();
    expect(chunks.some((c) => c === large)).toBe(true);
    expect(chunks.some((c) => c === small)).toBe(false);
  });

  it("writes a payload given in parts piece by piece: long pieces as they are, short ones copied", async () => {
    const { socket, writes } = fakeSocket();
    const writer = new FrameWriter(socket, () => {});
    const prefix = Buffer.alloc(9, 3);
    const body = Buffer.alloc(4 * COPY_THRESHOLD, 4);
    const tag = Buffer.alloc(16, 5);
    writer.enqueue(LocalMessage.fromParts(pool[0]!, returns[0]!, [prefix, body, tag]));
    await turn();
    const chunks = writes.flat();
    expect(chunks.some((c) => c === body)).toBe(true);
    expect(chunks.some((c) => c === prefix || c === tag)).toBe(false);
    let payload: Uint8Array | undefined;
    new FrameReader().push(Buffer.concat([Buffer.of(PROTOCOL_VERSION), ...chunks]), messagesOf((m) => void (payload = m.payload)));
    expect(Buffer.from(payload!).equals(Buffer.concat([prefix, body, tag]))).toBe(true);
  });

  it("stops handing batches to the socket after write() returns false, until drain", async () => {
    const { socket, writes } = fakeSocket(100);
    const writer = new FrameWriter(socket, () => {});
    writer.enqueue(new LocalMessage(pool[0]!, returns[0]!, Buffer.alloc(500)));
    await turn();
    expect(writer.blocked).toBe(true);
    writer.enqueue(new LocalMessage(pool[0]!, returns[0]!, Buffer.alloc(10)));
    await turn();
    expect(writes).toHaveLength(1);
    expect(writer.bufferedBytes).toBeGreaterThan(500);
    writer.onDrain();
    expect(writes).toHaveLength(2);
  });

  it("refuses an envelope over 16 MiB and queues nothing for it", async () => {
    const { socket, writes } = fakeSocket();
    const writer = new FrameWriter(socket, () => {});
    expect(() => writer.enqueue(new LocalMessage(pool[0]!, returns[0]!, Buffer.alloc(MAX_FRAME_LENGTH - 10)))).toThrow(FrameTooLargeError);
    expect(writer.bufferedBytes).toBe(0);
    await turn();
    expect(writes).toHaveLength(0);
  });

  // The writer reuses an arena once the socket's write callback for its last bytes came.
  // Over a real socket whose reader stops for a while (so writes wait in the socket and
  // the kernel), every frame must still arrive as written: an arena reused too early would
  // overwrite bytes not yet sent, and frames would arrive with another frame's contents.
  it("reuses arenas only once the socket is done with them: 40 MB through a slow reader arrive intact", async () => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const accepted = once(server, "connection");
    const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    try {
      await once(client, "connect");
      const [peer] = (await accepted) as [Socket];
      // A broken stream ends with the reader's reset; the assertions below say what went wrong.
      client.on("error", () => {});
      peer.on("error", () => {});
      peer.pause();
      const writer = new FrameWriter(client, () => {});
      client.on("drain", () => writer.onDrain());
      const reader = new FrameReader();
      let received = 0;
      let bad = 0;
      const payloadOf = (i: number, size: number): Uint8Array => new Uint8Array(size).fill(i % 251);
      const onFrame = messagesOf((message) => {
        const i = received++;
        const expected = i % 251;
        if (message.payload.length !== 40 + (i % 600) || !filledWith(message.payload, expected)) bad++;
      });
      // A slow reader: after each read it stops for a moment, so writes keep waiting in the
      // socket while the writer keeps writing into arenas.
      peer.on("data", (chunk: Buffer) => {
        peer.pause();
        setTimeout(() => peer.resume(), 1);
        try {
          reader.push(chunk, onFrame);
        } catch {
          bad++; // a length or a head overwritten: the stream is lost
          peer.destroy();
        }
      });
      writer.writeVersion();
      const onward = new Route([own, new Address(0, "sink")]);
      const back = new Route([new Address(0, "app")]);
      const total = 120_000;
      for (let i = 0; i < total; i++) {
        writer.enqueue(new LocalMessage(onward, back, payloadOf(i, 40 + (i % 600))));
        // A turn now and then, as a sender's loop has: flushes, write callbacks, reuse.
        if (i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, i < 30_000 ? 0 : 1));
        if (i === 30_000) peer.resume();
      }
      writer.flushAll();
      const deadline = Date.now() + 30_000;
      while (received < total && bad === 0 && Date.now() < deadline) await turn();
      expect(received).toBe(total);
      expect(bad).toBe(0);
    } finally {
      client.destroy();
      server.close();
    }
  });
});
