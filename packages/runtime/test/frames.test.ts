import { describe, expect, it, vi } from "vitest";
import { MessageChannel } from "node:worker_threads";
import { DecodeError, LocalMessage, NO_LOCAL_INFO, encodeBody, encodeEnvelope, repeatedHeadWord, route } from "@hopwire/runtime";
// Internal: the batch format of the port protocol (compiled, like everything tests load).
import { FRAME_ENVELOPE, FRAME_ENVELOPE_ACK, FRAME_ENVELOPE_SAME_HEAD, FRAME_OP, BatchWriter, FIRST_FRAME, openBatch, PortWriter, readFrames, restOfBatch, SPARE_MIN_BYTES, SPARE_MAX_BYTES, batchesGivenBack, batchAndSpares, POST_COPY_MAX } from "../dist/placement/frames.js";
import { frameSizeOf, LocalEnvelopeDecoder } from "../dist/placement/envelopes.js";
import { atTurnEnd } from "../dist/util/turn-end.js";

function frames(batch: ArrayBuffer): [number, string][] {
  const out: [number, string][] = [];
  readFrames(batch, (kind, bytes) => out.push([kind, Buffer.from(bytes).toString()]));
  return out;
}

/**
 * Reads every envelope of the batches a PortWriter posted, in order, as one thread's reader
 * does: each frame's kind, its message as [onward, return route, payload in `encoding`,
 * local info], and the credit its reader would return for it.
 */
function readPosted(posted: ArrayBuffer[], encoding: BufferEncoding) {
  const decoder = new LocalEnvelopeDecoder();
  const kinds: number[] = [];
  const read: [string, string, string, unknown][] = [];
  const frameSizes: number[] = [];
  for (const batch of posted) {
    readFrames(batch, (kind, frame) => {
      kinds.push(kind);
      const m = decoder.decodeFrame(kind, frame);
      read.push([m.onwardRoute.toString(), m.returnRoute.toString(), Buffer.from(m.payload).toString(encoding), m.localInfo]);
      frameSizes.push(frameSizeOf(m));
    });
  }
  return { kinds, read, frameSizes };
}

/** Two streams' routes (each pair the same objects for every message, as a stream's are), a local info, and a message maker. */
function twoStreams() {
  const a = [route("sink", "next"), route("0123456789abcdef0123456789abcdef", "a")] as const;
  const b = [route("other"), route("b")] as const;
  const info = Object.freeze({ tag: "x" });
  const message = (routes: typeof a | typeof b, payload: string, localInfo?: typeof info) =>
    new LocalMessage(routes[0], routes[1], Buffer.from(payload), localInfo);
  return { a, b, info, message };
}

describe("frames", () => {
  it("writes length-prefixed frames into one buffer and reads them back in order", () => {
    const w = new BatchWriter(64);
    w.push(FRAME_ENVELOPE, Buffer.from("head"), Buffer.from("+payload"));
    w.push(FRAME_OP, Buffer.from("op"));
    for (let i = 0; i < 1000; i++) w.push(FRAME_ENVELOPE, Buffer.from(`m${i}`));
    expect(w.count).toBe(1002);
    const batch = w.take()!;
    const read = frames(batch);
    expect(read.slice(0, 2)).toEqual([
      [FRAME_ENVELOPE, "head+payload"],
      [FRAME_OP, "op"],
    ]);
    expect(read.slice(2).map(([, s]) => s)).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
    expect(w.take()).toBeUndefined();
  });

  it("starts a batch with room for the recent ones: a stream of like batches is not regrown (nor copied) each time", () => {
    // A turn of a sender: many messages that repeat one head, then one that does not (its
    // head is given room for the largest it could be, not its size). Sized exactly as the
    // last batch, every batch grew at that last message into room for a whole 1 MiB batch.
    const w = new BatchWriter();
    const data = new LocalMessage(route("sink"), route("a"), new Uint8Array(64));
    const tick = new LocalMessage(route("sink"), route("b"), new Uint8Array(1));
    const sizes: number[] = [];
    for (let i = 0; i < 20; i++) {
      for (let k = 0; k < 1000; k++) w.pushEnvelope(FRAME_ENVELOPE, data);
      w.pushEnvelope(FRAME_ENVELOPE, tick);
      sizes.push(w.take()!.byteLength);
    }
    expect(sizes.slice(1).every((n) => n < 256 * 1024)).toBe(true);
  });

  it("writes an envelope's payload from its parts or its range, without joining them or making a view", () => {
    const bytes = Buffer.from("..abcdefghij..");
    const messages = [
      LocalMessage.fromParts(route("sink"), route("a"), [Buffer.from("abc"), Buffer.alloc(0), Buffer.from("defghij")]),
      LocalMessage.fromRange(route("sink"), route("a"), bytes, 2, 12),
    ];
    const w = new BatchWriter(64);
    for (const message of messages) {
      // Joining parts or making a range's view is what `payload` does: the writer must copy from where the bytes are.
      Object.defineProperty(message, "payload", { get: () => expect.unreachable("the payload was joined or viewed") });
      w.pushEnvelope(FRAME_ENVELOPE, message);
    }
    const decoder = new LocalEnvelopeDecoder();
    const read: string[] = [];
    // The second repeats the first one's head (the same routes): its frame is its payload alone.
    readFrames(w.take()!, (kind, frame) => read.push(Buffer.from(decoder.decodeFrame(kind, frame).payload).toString()));
    expect(read).toEqual(["abcdefghij", "abcdefghij"]);
  });

  it("writes a repeated head by copying it, byte for byte what encoding writes, across batches, growth and route changes", () => {
    const { a, b, info, message } = twoStreams();
    const w = new BatchWriter(64);
    const sent: LocalMessage[] = [];
    // ENVELOPE_ACK frames always carry their head (a FRAME_ENVELOPE may repeat the previous one's: see below).
    const push = (m: LocalMessage): void => void (sent.push(m), w.pushEnvelope(FRAME_ENVELOPE_ACK, m));
    const written: Uint8Array[] = [];
    const take = (): void => void readFrames(w.take()!, (_kind, frame) => written.push(Uint8Array.from(frame)));
    push(message(a, "1"));
    push(message(a, "2"));
    push(message(a, "3"));
    push(message(b, "4"));
    push(message(a, "5"));
    push(message(a, "6", info));
    push(message(a, "7", info));
    take(); // the head just written now lies in a posted batch
    push(message(a, "8", info));
    push(message(a, "9".repeat(200_000), info)); // the buffer grows past a large batch
    push(message(a, "10", info));
    take();
    push(message(a, "11"));
    take();
    push(message(b, "12".repeat(3000))); // a head written once, in a batch that leaves whole (the writer's buffer goes with it)
    take();
    push(message(b, "13")); // repeats it: encoded again, not read from where it was
    take();
    expect(written.map((frame) => Buffer.from(frame).toString("hex"))).toEqual(sent.map((m) => Buffer.from(encodeEnvelope(m, "local")).toString("hex")));
  });

  it("writes an envelope that repeats the previous one's routes and local info in its batch as its payload alone, and reads it back", () => {
    const { a, b, info, message } = twoStreams();
    const w = new BatchWriter(64);
    const sent: LocalMessage[] = [];
    const kinds: number[] = [];
    const sizes: number[] = [];
    const push = (m: LocalMessage, kind = FRAME_ENVELOPE): void => void (sent.push(m), sizes.push(w.pushEnvelope(kind, m)));
    const decoder = new LocalEnvelopeDecoder();
    const read: LocalMessage[] = [];
    const take = (): void =>
      void readFrames(w.take()!, (kind, frame) => {
        kinds.push(kind);
        if (kind !== FRAME_OP) read.push(decoder.decodeFrame(kind, frame));
      });
    push(message(a, "1"));
    push(message(a, "2"));
    push(message(a, "3", info)); // other local info
    push(message(a, "4", info));
    push(message(a, "5", info), FRAME_ENVELOPE_ACK); // a sender that waits: always whole
    push(message(a, "6", info));
    w.push(FRAME_OP, Buffer.from("op")); // an operation in between changes nothing
    push(message(a, "7", info));
    sent.push(message(b, "8")); // a frame pushed whole (a message's received bytes): the next one carries its head
    w.push(FRAME_ENVELOPE, encodeEnvelope(sent.at(-1)!, "local"));
    push(message(a, "9", info));
    take();
    push(message(a, "10", info)); // the first of a batch carries its head
    push(message(a, "11", info));
    take();
    const E = FRAME_ENVELOPE;
    const S = FRAME_ENVELOPE_SAME_HEAD;
    expect(kinds).toEqual([E, S, E, S, FRAME_ENVELOPE_ACK, S, FRAME_OP, S, E, E, E, S]);
    expect(read.map((m) => [m.onwardRoute.toString(), m.returnRoute.toString(), Buffer.from(m.payload).toString(), m.localInfo])).toEqual(
      sent.map((m) => [m.onwardRoute.toString(), m.returnRoute.toString(), Buffer.from(m.payload).toString(), m.localInfo]),
    );
    // A repeated head is one object for all its messages; credit counts each frame as written.
    const envelopes = read;
    expect(envelopes[1]!.onwardRoute).toBe(envelopes[0]!.onwardRoute);
    const pushed = envelopes.filter((_m, i) => i !== 7); // the one pushed whole has no size from pushEnvelope
    expect(pushed.map((m) => frameSizeOf(m))).toEqual(sizes);
  });

  it("repeats a head for equal routes in new objects (a route built per send), not for routes a hop apart", () => {
    const w = new BatchWriter(64);
    const fresh = (onward: string[], back: string[], payload: string) => new LocalMessage(route(...onward), route(...back), Buffer.from(payload));
    const sent = [
      fresh(["sink", "next"], ["me", "a"], "1"),
      fresh(["sink", "next"], ["me", "a"], "2"), // equal routes, other objects
      fresh(["sink", "other"], ["me", "a"], "3"), // the onward route's last hop differs
      fresh(["sink", "other"], ["me", "b"], "4"), // the return route's
      fresh(["sink", "other"], ["me", "b"], "5"),
    ];
    for (const m of sent) w.pushEnvelope(FRAME_ENVELOPE, m);
    // The writer's question for a payload written with no message made (a run, a bytes body) agrees.
    expect(w.takesSameHead(route("sink", "other"), route("me", "b"), NO_LOCAL_INFO, 1)).toBe(true);
    expect(w.takesSameHead(route("sink", "other"), route("me", "a"), NO_LOCAL_INFO, 1)).toBe(false);
    const { kinds, read } = readPosted([w.take()!], "utf8");
    const E = FRAME_ENVELOPE;
    const S = FRAME_ENVELOPE_SAME_HEAD;
    expect(kinds).toEqual([E, S, E, E, S]);
    expect(read).toEqual(sent.map((m) => [m.onwardRoute.toString(), m.returnRoute.toString(), Buffer.from(m.payload).toString(), NO_LOCAL_INFO]));
  });

  it("refuses an envelope that repeats a head when no envelope came before it", () => {
    expect(() => new LocalEnvelopeDecoder().decodeFrame(FRAME_ENVELOPE_SAME_HEAD, Buffer.from("x"))).toThrow(DecodeError);
    const decoder = new LocalEnvelopeDecoder();
    expect(() => decoder.decodeFrame(FRAME_ENVELOPE, Buffer.from("not an envelope"))).toThrow(DecodeError);
    expect(() => decoder.decodeFrame(FRAME_ENVELOPE_SAME_HEAD, Buffer.from("x"))).toThrow(DecodeError);
  });

  it("rejects a batch whose lengths do not add up", () => {
    const w = new BatchWriter();
    w.push(FRAME_OP, Buffer.from("abcdef"));
    const batch = w.take()!;
    const view = new DataView(batch);
    view.setUint32(16 + 1, 1_000);
    expect(() => readFrames(batch, () => {})).toThrow(DecodeError);
    view.setUint32(0, batch.byteLength + 1);
    expect(() => readFrames(batch, () => {})).toThrow(DecodeError);
    expect(() => readFrames(new ArrayBuffer(2), () => {})).toThrow(DecodeError);
  });

  it("posts everything pushed in one turn as ONE transferred buffer", async () => {
    const { port1, port2 } = new MessageChannel();
    const batches: ArrayBuffer[] = [];
    const received = new Promise<void>((resolve) => {
      port2.on("message", (b: ArrayBuffer) => {
        batches.push(b);
        resolve();
      });
    });
    const writer = new PortWriter(port1);
    // Several I/O-like callbacks in the same turn share the batch.
    for (let i = 0; i < 500; i++) writer.push(FRAME_ENVELOPE, Buffer.from(`x${i}`));
    await Promise.resolve();
    writer.push(FRAME_OP, Buffer.from("after a microtask"));
    await received;
    port1.close();
    expect(batches).toHaveLength(1);
    const read = frames(batches[0]!);
    expect(read).toHaveLength(501);
    expect(read[500]).toEqual([FRAME_OP, "after a microtask"]);
  });

  it("posts what is pushed during the end-of-turn pass in that pass, not a turn later (util/turn-end.ts)", async () => {
    const posted: ArrayBuffer[] = [];
    const writer = new PortWriter({ postMessage: (batch: unknown) => void posted.push(batch as ArrayBuffer) });
    let postedBeforeTick: number | undefined;
    // As a secure channel that opens a record in the pass and hands its message to a thread-placed worker.
    atTurnEnd(() => {
      writer.push(FRAME_ENVELOPE, Buffer.from("from the pass"));
      process.nextTick(() => (postedBeforeTick = posted.length));
    });
    await new Promise((resolve) => setImmediate(resolve));
    writer.close();
    // With an immediate of its own, queued while immediates ran, the post came a turn later, after the tick.
    expect(postedBeforeTick).toBe(1);
    expect(frames(posted[0]!)).toEqual([[FRAME_ENVELOPE, "from the pass"]]);
  });

  it("posts a batch whose buffer is full rather than growing it past 64 KiB (a copy of all of it), in order", () => {
    const posted: ArrayBuffer[] = [];
    const writer = new PortWriter({ postMessage: (batch: unknown) => void posted.push(batch as ArrayBuffer) });
    for (let i = 0; i < 300; i++) writer.push(FRAME_ENVELOPE, Buffer.alloc(1000, i));
    writer.flush();
    writer.close();
    // Grown past 64 KiB, a batch's buffer would have room for a 1 MiB batch (1.1 MiB).
    expect(posted.every((batch) => batch.byteLength < 1024 * 1024)).toBe(true);
    expect(posted.length).toBeGreaterThan(1);
    const bodies = posted.flatMap((batch) => {
      const out: number[] = [];
      readFrames(batch, (_kind, bytes) => void out.push(bytes.length === 1000 && bytes.every((b) => b === bytes[0]) ? bytes[0]! : -1));
      return out;
    });
    expect(bodies).toEqual(Array.from({ length: 300 }, (_, i) => i & 0xff));
  });

  // A thread streaming one 64 KiB message a turn into a connection posted each in a 1.1 MiB buffer, which both
  // threads' collectors counted, and ran at a third of the speed of 65,000-byte messages.
  it("gives a frame past 64 KiB that comes alone a buffer of its own size, not a large batch's room; a turn of them shares one after the first", () => {
    const w = new BatchWriter();
    for (let i = 0; i < 10; i++) {
      w.push(FRAME_ENVELOPE, Buffer.alloc(64 * 1024, i));
      const lone = w.take()!;
      expect(lone.byteLength).toBeGreaterThan(64 * 1024);
      expect(lone.byteLength).toBeLessThan(2 * 64 * 1024);
      expect(frames(lone).map(([kind, text]) => [kind, text.length])).toEqual([[FRAME_ENVELOPE, 64 * 1024]]);
    }
    const posted: ArrayBuffer[] = [];
    const writer = new PortWriter({ postMessage: (batch: unknown) => void posted.push(batch as ArrayBuffer) });
    for (let i = 0; i < 10; i++) writer.push(FRAME_ENVELOPE, Buffer.alloc(64 * 1024, i));
    writer.flush();
    writer.close();
    const firstBytes = posted.map((batch) => {
      const out: number[] = [];
      readFrames(batch, (_kind, bytes) => void out.push(bytes.length === 64 * 1024 ? bytes[0]! : -1));
      return out;
    });
    expect(firstBytes).toEqual([[0], [1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  });

  it("writes a transport's run of repeated-head payloads as the envelopes deliver would: a head where the batch's last one differs, then payloads alone", () => {
    const { a, b, info, message } = twoStreams();
    const posted: ArrayBuffer[] = [];
    const writer = new PortWriter({ postMessage: (batch: unknown) => void posted.push(batch as ArrayBuffer) });
    /** REPEATED_HEAD_PAYLOADS bytes for `payloads` (length words with the repeated-head bit), behind 3 bytes of something else. */
    const run = (payloads: string[]): Buffer =>
      Buffer.concat([Buffer.from("xyz"), ...payloads.flatMap((p) => [Buffer.from(repeatedHeadWord(p.length).toString(16).padStart(8, "0"), "hex"), Buffer.from(p)])]);
    const sent: [string, string, string, unknown][] = [];
    const note = (routes: typeof a | typeof b, payloads: string[], localInfo: unknown = {}): void =>
      void payloads.forEach((p) => sent.push([routes[0].toString(), routes[1].toString(), p, localInfo]));
    const pushRun = (routes: typeof a | typeof b, payloads: string[]): number => {
      const bytes = run(payloads);
      note(routes, payloads);
      return writer.pushRepeatedPayloads(routes[0], routes[1], bytes, 3, bytes.length);
    };
    const sizes: number[] = [];
    writer.pushEnvelope(FRAME_ENVELOPE, message(b, "b0")); // another stream's message before the run
    note(b, ["b0"]);
    sizes.push(pushRun(a, ["a1", "a2", "a3"])); // its first payload needs a's head
    writer.pushEnvelope(FRAME_ENVELOPE, message(a, "a4", info)); // the same routes, other local info
    note(a, ["a4"], info);
    sizes.push(pushRun(a, ["a5", "a6"])); // a head again (no local info)
    sizes.push(pushRun(a, ["a7"])); // follows its own stream: payload alone
    writer.flush();
    sizes.push(pushRun(a, ["a8", "a9"])); // a new batch starts with its head
    writer.flush();
    writer.close();
    const { kinds, read, frameSizes } = readPosted(posted, "utf8");
    const E = FRAME_ENVELOPE;
    const S = FRAME_ENVELOPE_SAME_HEAD;
    expect(kinds).toEqual([E, E, S, S, E, E, S, S, E, S]);
    expect(read).toEqual(sent);
    // What the mailbox bound counts for a run is what the thread returns as credit for its frames.
    const runFrames = [[1, 2, 3], [5, 6], [7], [8, 9]];
    expect(sizes).toEqual(runFrames.map((frames) => frames.reduce((sum, i) => sum + frameSizes[i]!, 0)));
  });

  it("writes a bytes body sent with no message made as deliver would write its message: a head where the last one differs, the body encoded as encodeBody does", () => {
    const { a, b, info, message } = twoStreams();
    const posted: ArrayBuffer[] = [];
    const writer = new PortWriter({ postMessage: (batch: unknown) => void posted.push(batch as ArrayBuffer) });
    // bin32, bin16 and bin8 bodies (headers of 5, 3 and 2 bytes), and an empty one.
    const bodies = [70_000, 65_536, 65_535, 256, 255, 0].map((n, i) => Buffer.alloc(n, i + 1));
    const sent: [string, string, string, unknown][] = [];
    const sizes: number[] = [];
    const send = (routes: typeof a | typeof b, body: Uint8Array, localInfo = NO_LOCAL_INFO): void => {
      sent.push([routes[0].toString(), routes[1].toString(), Buffer.from(encodeBody(body)).toString("hex"), localInfo]);
      sizes.push(writer.pushBytesBody(routes[0], routes[1], localInfo, body));
    };
    writer.pushEnvelope(FRAME_ENVELOPE, message(b, "b0"));
    sent.push([b[0].toString(), b[1].toString(), Buffer.from("b0").toString("hex"), NO_LOCAL_INFO]);
    // The first would take the batch past 64 KiB: posted, a new one (with room for 1 MiB) starts with its head.
    for (const body of bodies) send(a, body); // then bodies alone
    send(a, Buffer.from("x"), info); // other local info: a head again
    writer.flush();
    send(a, Buffer.from("y"), info); // a new batch starts with its head
    writer.flush();
    writer.close();
    const { kinds, read, frameSizes } = readPosted(posted, "hex");
    const E = FRAME_ENVELOPE;
    const S = FRAME_ENVELOPE_SAME_HEAD;
    expect(kinds).toEqual([E, E, S, S, S, S, S, E, E]);
    expect(posted).toHaveLength(3);
    expect(read).toEqual(sent);
    expect(sizes).toEqual(frameSizes.slice(1)); // what the bound counts is what the thread returns as credit
  });

  it("passes on another stream's frames as they are: after what is pending, numbered next, with the credit due, transferred", () => {
    const posted: ArrayBuffer[] = [];
    const transferred: boolean[] = [];
    const writer = new PortWriter({
      postMessage: (batch: unknown, transfer?: readonly ArrayBuffer[]) => {
        posted.push(batch as ArrayBuffer);
        transferred.push(transfer?.includes(batch as ArrayBuffer) === true);
      },
    });
    writer.push(FRAME_OP, Buffer.from("before"));
    writer.addCredit(0, 123, "with-next");
    // A batch as another thread wrote it (its own seqs and credit), the last frame not passed on.
    const other = new BatchWriter();
    for (let i = 0; i < 3; i++) other.push(FRAME_ENVELOPE, Buffer.from(`run${i}`));
    other.push(FRAME_OP, Buffer.from("rest"));
    const batch = openBatch(other.take({ messages: 7, bytes: 999 }));
    let runEnd = FIRST_FRAME;
    readFrames(batch.buffer.slice(0), (kind, bytes) => void (kind === FRAME_ENVELOPE && (runEnd += 5 + bytes.length)));
    const rest = restOfBatch(batch, runEnd, batch.firstSeq + 3);
    writer.passOn(batch.buffer, runEnd, 3);
    writer.push(FRAME_OP, Buffer.from("after"));
    writer.flush();
    // The pending frame went first (its own batch, with the credit), then the run (the other thread's buffer), then the next batch:
    // small batches, posted as copies (POST_COPY_MAX; a large one is transferred, next test).
    expect(posted).toHaveLength(3);
    expect(posted[1]).toBe(batch.buffer);
    expect(transferred).toEqual([false, false, false]);
    const [first, run, next] = posted.map((b) => openBatch(b));
    expect([first!.firstSeq, run!.firstSeq, next!.firstSeq]).toEqual([0, 1, 4]);
    expect([first!.credit.bytes, run!.credit.bytes, next!.credit.bytes]).toEqual([123, 0, 0]);
    expect(run!.used).toBe(runEnd);
    expect(frames(posted[1]!)).toEqual([0, 1, 2].map((i) => [FRAME_ENVELOPE, `run${i}`]));
    // The rest is a batch of its own, its frame numbered where the run left off.
    const restFrames: [number, string, number][] = [];
    readFrames(rest.buffer, (kind, bytes, seq) => void restFrames.push([kind, Buffer.from(bytes).toString(), seq]));
    expect(rest.firstSeq).toBe(3);
    expect(restFrames.map(([kind, text]) => [kind, text])).toEqual([[FRAME_OP, "rest"]]);
  });

  it("transfers a batch above POST_COPY_MAX and posts a smaller one as a copy, the same frames either way", async () => {
    const { port1, port2 } = new MessageChannel();
    try {
      const posted: { buffer: ArrayBuffer; transferred: boolean }[] = [];
      const writer = new PortWriter({
        postMessage: (batch: unknown, transfer?: readonly ArrayBuffer[]) => {
          posted.push({ buffer: batch as ArrayBuffer, transferred: transfer !== undefined });
          port1.postMessage(batch, transfer as ArrayBuffer[]);
        },
      });
      const received: ArrayBuffer[] = [];
      port2.on("message", (batch: ArrayBuffer) => received.push(batch));
      writer.push(FRAME_OP, Buffer.alloc(100, 1));
      writer.flush();
      writer.push(FRAME_OP, Buffer.alloc(POST_COPY_MAX, 2));
      writer.flush();
      await vi.waitFor(() => expect(received).toHaveLength(2));
      expect(posted.map((p) => p.transferred)).toEqual([false, true]);
      // A copy leaves the writer's buffer whole; a transfer detaches it.
      expect(posted[0]!.buffer.byteLength).toBeGreaterThan(0);
      expect(posted[1]!.buffer.byteLength).toBe(0);
      expect(received.map((b) => frames(b).map(([kind, text]) => [kind, text.length]))).toEqual([[[FRAME_OP, 100]], [[FRAME_OP, POST_COPY_MAX]]]);
    } finally {
      port1.close();
    }
  });

  it("posts a turn's batch early every 1024 frames, so that the other thread starts on them (in order, each frame once)", async () => {
    const { port1, port2 } = new MessageChannel();
    const batches: ArrayBuffer[] = [];
    const received = new Promise<void>((resolve) => {
      port2.on("message", (b: ArrayBuffer) => {
        batches.push(b);
        if (batches.length === 3) resolve();
      });
    });
    const writer = new PortWriter(port1);
    // One turn of small frames, as a socket read of 64-byte messages hands the main thread.
    for (let i = 0; i < 2500; i++) writer.push(FRAME_ENVELOPE, Buffer.from(`m${i}`));
    await received;
    port1.close();
    expect(batches.map((b) => frames(b).length)).toEqual([1024, 1024, 452]);
    expect(batches.flatMap((b) => frames(b).map(([, text]) => text))).toEqual(Array.from({ length: 2500 }, (_, i) => `m${i}`));
  });
});

describe("batches given back (BatchWriter.addSpare, PortWriter.giveBack)", () => {
  /** A batch given a large batch's room (a frame past 64 KiB), with `text` in its last frame. */
  const bigBatch = (w: { push: BatchWriter["push"] }, text = "big"): void => {
    w.push(FRAME_ENVELOPE, Buffer.alloc(SPARE_MIN_BYTES, 7));
    w.push(FRAME_ENVELOPE, Buffer.from(text));
  };
  /** The room a large batch is given (BatchWriter's LARGE_BATCH_CAPACITY): half the largest spare kept. */
  const LARGE = SPARE_MAX_BYTES / 2;

  it("writes its next large batch into a buffer given back, and reads it back intact", () => {
    const w = new BatchWriter();
    bigBatch(w);
    const first = w.take()!;
    expect(first.byteLength).toBe(LARGE);
    w.addSpare(first);
    expect(w.spares).toBe(1);
    bigBatch(w, "again");
    const second = w.take()!;
    expect(second).toBe(first);
    expect(w.spares).toBe(0);
    expect(frames(second).map(([, text]) => text).at(-1)).toBe("again");
  });

  it("writes a lone large frame's batch, given room below a large batch's, into a spare when one fits", () => {
    const w = new BatchWriter();
    w.push(FRAME_ENVELOPE, Buffer.alloc(200 * 1024, 1)); // its own room; the next batch gets half as much again (300 KiB)
    expect(w.take()!.byteLength).toBeLessThan(SPARE_MIN_BYTES);
    const spare = new ArrayBuffer(2 * SPARE_MIN_BYTES);
    w.addSpare(spare);
    w.push(FRAME_ENVELOPE, Buffer.alloc(200 * 1024, 2));
    const second = w.take()!;
    expect(second === spare).toBe(true); // (not toBe: a failure would print both buffers, byte by byte)
    expect(frames(second).map(([, text]) => text.length)).toEqual([200 * 1024]);
  });

  it("never writes a small batch into a spare (a reply would pin a large buffer)", () => {
    const w = new BatchWriter();
    const spare = new ArrayBuffer(LARGE);
    w.addSpare(spare);
    w.push(FRAME_OP, Buffer.alloc(5000));
    expect(w.take()).not.toBe(spare);
    expect(w.spares).toBe(1);
  });

  it("keeps buffers between its bounds, at most four, a larger one replacing the smallest, and takes the smallest that fits", () => {
    const w = new BatchWriter();
    w.addSpare(new ArrayBuffer(SPARE_MIN_BYTES - 1));
    w.addSpare(new ArrayBuffer(SPARE_MAX_BYTES + 1));
    expect(w.spares).toBe(0);
    const fits = new ArrayBuffer(LARGE);
    w.addSpare(new ArrayBuffer(SPARE_MIN_BYTES));
    w.addSpare(new ArrayBuffer(SPARE_MIN_BYTES * 2));
    w.addSpare(new ArrayBuffer(SPARE_MAX_BYTES));
    w.addSpare(new ArrayBuffer(SPARE_MIN_BYTES * 3));
    w.addSpare(fits); // replaces the smallest
    w.addSpare(new ArrayBuffer(SPARE_MIN_BYTES)); // smaller than all it holds: dropped
    expect(w.spares).toBe(4);
    bigBatch(w);
    expect(w.take()).toBe(fits);
  });

  it("drops its spares once a trim finds none taken since the last", () => {
    const w = new BatchWriter();
    w.addSpare(new ArrayBuffer(LARGE));
    w.addSpare(new ArrayBuffer(LARGE));
    bigBatch(w); // written into one of them
    expect(w.trimSpares()).toBe(1);
    expect(w.trimSpares()).toBe(0);
  });

  it("gives buffers back at the end of the turn, on the batch it posts then (a batch of no frame if need be), which the other side tells apart", async () => {
    const posted: { value: unknown; transfer: readonly ArrayBuffer[] }[] = [];
    const writer = new PortWriter({ postMessage: (value, transfer = []) => posted.push({ value, transfer }) });
    const back = new ArrayBuffer(SPARE_MIN_BYTES);
    const before = batchesGivenBack.batches;
    writer.giveBack(back);
    writer.giveBack(new ArrayBuffer(1024)); // small: not worth giving back
    expect(batchesGivenBack.batches - before).toBe(1);
    expect(posted).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(posted).toHaveLength(1);
    const { batch, spares } = batchAndSpares(posted[0]!.value);
    expect(spares).toEqual([back]);
    expect(posted[0]!.transfer).toEqual([batch, back]);
    expect(frames(batch as ArrayBuffer)).toEqual([]);
    // With frames pending, it rides on their batch; with nothing more to give back, a batch goes alone, as it always did.
    const again = new ArrayBuffer(SPARE_MIN_BYTES);
    writer.giveBack(again);
    writer.push(FRAME_OP, Buffer.from("op"));
    writer.flush();
    expect(batchAndSpares(posted[1]!.value).spares).toEqual([again]);
    expect(frames(batchAndSpares(posted[1]!.value).batch as ArrayBuffer)).toEqual([[FRAME_OP, "op"]]);
    writer.push(FRAME_OP, Buffer.from("op2"));
    writer.flush();
    expect(posted[2]!.value).toBeInstanceOf(ArrayBuffer);
    writer.close();
  });

  it("drops the spares it was given once they go unused for its idle time, and keeps no timer once closed", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const posted: ArrayBuffer[] = [];
      const writer = new PortWriter({ postMessage: (value) => posted.push(value as ArrayBuffer) });
      const used = new ArrayBuffer(LARGE);
      writer.addSpare(used);
      bigBatch(writer);
      writer.flush();
      expect(posted.at(-1)).toBe(used);
      const unused = new ArrayBuffer(LARGE);
      writer.addSpare(unused);
      vi.advanceTimersByTime(5_000); // a spare was taken since the timer was armed: kept
      vi.advanceTimersByTime(5_000); // none since: dropped
      bigBatch(writer);
      writer.flush();
      expect(posted.at(-1)).not.toBe(unused);
      writer.addSpare(new ArrayBuffer(LARGE));
      expect(vi.getTimerCount()).toBe(1);
      writer.close();
      expect(vi.getTimerCount()).toBe(0);
      writer.addSpare(new ArrayBuffer(LARGE));
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
