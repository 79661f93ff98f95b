import { describe, expect, it } from "vitest";
import { MessageChannel } from "node:worker_threads";
import { DecodeError, LocalMessage, encodeEnvelope, route } from "@hopwire/runtime";
// Internal: the batch format of the port protocol (compiled, like everything tests load).
import { FRAME_ENVELOPE, FRAME_OP, BatchWriter, PortWriter, readFrames } from "../dist/placement/frames.js";
import { LocalEnvelopeDecoder } from "../dist/placement/envelopes.js";

function frames(batch: ArrayBuffer): [number, string][] {
  const out: [number, string][] = [];
  readFrames(batch, (kind, bytes) => out.push([kind, Buffer.from(bytes).toString()]));
  return out;
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
    readFrames(w.take()!, (_kind, frame) => read.push(Buffer.from(decoder.decode(frame).payload).toString()));
    expect(read).toEqual(["abcdefghij", "abcdefghij"]);
  });

  it("writes a repeated head by copying it, byte for byte what encoding writes, across batches, growth and route changes", () => {
    const a = [route("sink", "next"), route("0123456789abcdef0123456789abcdef", "a")] as const;
    const b = [route("other"), route("b")] as const;
    const info = Object.freeze({ tag: "x" });
    const message = (routes: typeof a | typeof b, payload: string, localInfo?: typeof info) =>
      new LocalMessage(routes[0], routes[1], Buffer.from(payload), localInfo);
    const w = new BatchWriter(64);
    const sent: LocalMessage[] = [];
    const push = (m: LocalMessage): void => void (sent.push(m), w.pushEnvelope(FRAME_ENVELOPE, m));
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
