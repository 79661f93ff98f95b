import { describe, expect, it } from "vitest";
import { FrameReader } from "../dist/frame-reader.js";
import { FrameTooLargeError, MAX_FRAME_LENGTH, PROTOCOL_VERSION, REPEATED_HEAD_FRAME, TcpProtocolVersionError, TruncatedFrameError } from "@hopwire/transport-tcp";
import { frame } from "./support.js";

function stream(...frames: Buffer[]): Buffer {
  return Buffer.concat([Buffer.of(PROTOCOL_VERSION), ...frames]);
}

/** Frames, each marked `+` if it was a repeated-head frame. */
function collect(reader: FrameReader, chunks: Buffer[]): Buffer[] {
  const frames: Buffer[] = [];
  for (const chunk of chunks) reader.push(chunk, (b, start, end, repeatsHead) => void frames.push(Buffer.concat([Buffer.from(repeatsHead ? "+" : ""), b.subarray(start, end)])));
  return frames;
}

/** A repeated-head frame: the length word's top bit set. */
function repeated(payload: Buffer): Buffer {
  const word = Buffer.alloc(4);
  word.writeUInt32BE(REPEATED_HEAD_FRAME + payload.length);
  return Buffer.concat([word, payload]);
}

const payloads = [Buffer.from("a"), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from("hello world"), Buffer.alloc(70_000, 3)];
/** Each payload framed with a head and then as a repeated-head frame (an empty one too: not a keepalive). */
const mixed = payloads.flatMap((p) => [frame(p), repeated(p)]);
const mixedExpected = payloads.flatMap((p) => [p, Buffer.concat([Buffer.from("+"), p])]);

describe("FrameReader", () => {
  it("hands out every frame of a chunk as a range of that very chunk", () => {
    const chunk = stream(...payloads.slice(0, 4).map(frame));
    const views: Buffer[] = [];
    new FrameReader().push(chunk, (b, start, end) => {
      expect(b).toBe(chunk);
      views.push(b.subarray(start, end));
    });
    expect(views.map((v) => v.toString("hex"))).toEqual(payloads.slice(0, 4).map((p) => p.toString("hex")));
  });

  it("reassembles frames split at every possible byte, repeated-head frames flagged as such", () => {
    const bytes = stream(...mixed.slice(0, 8));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const frames = collect(new FrameReader(), [bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(frames.map((f) => f.toString("hex"))).toEqual(mixedExpected.slice(0, 8).map((p) => p.toString("hex")));
    }
  });

  it("reassembles a stream fed one byte at a time, and in random slices", () => {
    const bytes = stream(...mixed);
    const oneByOne = collect(new FrameReader(), [...bytes].map((b) => Buffer.of(b)));
    expect(oneByOne.map((f) => f.toString("base64"))).toEqual(mixedExpected.map((p) => p.toString("base64")));
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 20; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(random() * 20_000);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      const frames = collect(new FrameReader(), chunks);
      expect(frames.map((f) => f.toString("base64"))).toEqual(mixedExpected.map((p) => p.toString("base64")));
    }
  });

  it("rejects a first byte other than its protocol version (1, before repeated-head frames, too)", () => {
    expect(PROTOCOL_VERSION).toBe(2);
    for (const version of [0, 1, 3, 0xff]) {
      const error = catchError(() => new FrameReader().push(Buffer.of(version, 0, 0, 0, 0), () => {}));
      expect(error).toBeInstanceOf(TcpProtocolVersionError);
      expect((error as TcpProtocolVersionError).code).toBe("TCP_PROTOCOL_VERSION");
    }
  });

  it("rejects a length over 16 MiB as soon as the length arrives, before any body, repeated-head frames too", () => {
    for (const flag of [0, REPEATED_HEAD_FRAME]) {
      const reader = new FrameReader();
      const length = Buffer.alloc(4);
      length.writeUInt32BE(flag + MAX_FRAME_LENGTH + 1);
      reader.push(Buffer.of(PROTOCOL_VERSION, length[0]!, length[1]!), () => {});
      const error = catchError(() => reader.push(length.subarray(2), () => {}));
      expect(error).toBeInstanceOf(FrameTooLargeError);
      expect((error as FrameTooLargeError).code).toBe("TCP_FRAME_TOO_LARGE");
      // Exactly the maximum is allowed.
      length.writeUInt32BE(flag + MAX_FRAME_LENGTH);
      expect(() => new FrameReader().push(Buffer.concat([Buffer.of(PROTOCOL_VERSION), length]), () => {})).not.toThrow();
    }
  });

  it("reports a stream that ends mid-frame or mid-length, and accepts a clean end", () => {
    const inBody = new FrameReader();
    inBody.push(Buffer.of(PROTOCOL_VERSION, 0, 0, 0, 10, 1, 2, 3), () => {});
    expect(catchError(() => inBody.end())).toBeInstanceOf(TruncatedFrameError);
    const inLength = new FrameReader();
    inLength.push(Buffer.of(PROTOCOL_VERSION, 0, 0), () => {});
    expect((catchError(() => inLength.end()) as TruncatedFrameError).code).toBe("TCP_FRAME_TRUNCATED");
    const clean = new FrameReader();
    clean.push(stream(frame(Buffer.from("x"))), () => {});
    expect(() => clean.end()).not.toThrow();
    expect(() => new FrameReader().end()).not.toThrow();
  });

  it("hands a frame that spanned chunks to onPieces as views of the chunks when they hold at most 3× its bytes, else joined to onFrame", () => {
    // Chunks with memory of their own (as socket reads have: Node sizes each to the bytes read).
    const own = (b: Uint8Array): Buffer => Buffer.from(new Uint8Array(b).buffer);
    const record = Buffer.alloc(60_000);
    for (let i = 0; i < record.length; i++) record[i] = (i * 13) & 0xff;
    const bytes = stream(frame(Buffer.from("before")), frame(record), repeated(record), frame(Buffer.from("after")));
    // Three reads, cut inside each 60,000-byte frame: each spans two chunks of ~64 KiB (≤ 3×).
    const cuts = [40_000, 100_000, bytes.length];
    const chunks = cuts.map((cut, i) => own(bytes.subarray(i === 0 ? 0 : cuts[i - 1], cut)));
    const whole: string[] = [];
    const spanned: { pieces: readonly Buffer[]; length: number; repeatsHead: boolean }[] = [];
    const reader = new FrameReader();
    for (const chunk of chunks) {
      reader.push(
        chunk,
        (b, start, end) => void whole.push(b.toString("latin1", start, end)),
        (pieces, length, repeatsHead) => void spanned.push({ pieces, length, repeatsHead }),
      );
    }
    expect(whole).toEqual(["before", "after"]);
    expect(spanned.map((f) => [f.length, f.repeatsHead, f.pieces.length])).toEqual([
      [record.length, false, 2],
      [record.length, true, 2],
    ]);
    for (const [i, f] of spanned.entries()) {
      // Views of the reads, in order: the first piece ends its chunk, the second starts the next one.
      expect(f.pieces[0]!.buffer).toBe(chunks[i]!.buffer);
      expect(f.pieces[1]!.buffer).toBe(chunks[i + 1]!.buffer);
      expect(Buffer.concat(f.pieces).equals(record)).toBe(true);
    }
    // A short frame across two long reads would keep them alive: joined, to onFrame.
    const short = Buffer.alloc(5_000, 9);
    const long = stream(frame(Buffer.alloc(60_000, 1)), frame(short), frame(Buffer.alloc(60_000, 2)));
    const at = 1 + 4 + 60_000 + 4 + 2_500;
    const frames: Buffer[] = [];
    let pieceCalls = 0;
    const reader2 = new FrameReader();
    for (const chunk of [own(long.subarray(0, at)), own(long.subarray(at))]) {
      reader2.push(
        chunk,
        (b, start, end) => void frames.push(b.subarray(start, end)),
        () => void pieceCalls++,
      );
    }
    expect(pieceCalls).toBe(0);
    expect(frames.map((f) => f.length)).toEqual([60_000, 5_000, 60_000]);
    expect(frames[1]!.equals(short)).toBe(true);
  });

  it("stops at once when the frame handler returns false", () => {
    const seen: string[] = [];
    new FrameReader().push(stream(frame(Buffer.from("a")), frame(Buffer.from("b"))), (b, start, end) => {
      seen.push(b.toString("utf8", start, end));
      return false;
    });
    expect(seen).toEqual(["a"]);
  });

  it("holds a frame dribbled a byte per read in few pieces: memory follows the bytes received, not the reads", () => {
    // A piece costs ~0.1-0.2 KiB of objects: a peer sending a large frame a byte per TCP segment
    // made each held byte cost ~70 bytes of heap (found by fuzzing over loopback).
    const payload = Buffer.alloc(100_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const bytes = stream(frame(payload), frame(Buffer.from("next")));
    const reader = new FrameReader();
    const frames: Buffer[] = [];
    const onFrame = (b: Buffer, start: number, end: number) => void frames.push(Buffer.from(b.subarray(start, end)));
    reader.push(bytes.subarray(0, 10), onFrame);
    let most = 0;
    for (let at = 10; at < bytes.length; at++) {
      reader.push(bytes.subarray(at, at + 1), onFrame);
      most = Math.max(most, reader.pieceCount);
    }
    expect(most).toBeLessThan(1_000); // ~100,000 reads
    // Compared as bytes: a deep equality of large buffers runs element by element (seconds).
    expect(frames.map((f) => f.equals(payload))).toEqual([true, false]);
    expect(frames[1]!.toString()).toBe("next");
    // Reads of the usual size are kept as they are (no second copy).
    const large = Buffer.alloc(4 * 1024 * 1024, 5);
    const whole = stream(frame(large));
    const chunks: Buffer[] = [];
    for (let at = 0; at < whole.length; at += 65_536) chunks.push(whole.subarray(at, at + 65_536));
    const big = new FrameReader();
    for (const chunk of chunks.slice(0, -1)) big.push(chunk, () => {});
    expect(big.pieceCount).toBe(chunks.length - 1);
    const assembled = collect(big, chunks.slice(-1));
    expect(assembled.length).toBe(1);
    expect(assembled[0]!.equals(large)).toBe(true);
  });
});

function catchError(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
