import { describe, expect, it } from "vitest";
import { FrameReader } from "../dist/frame-reader.js";
import { FrameTooLargeError, MAX_FRAME_LENGTH, TcpProtocolVersionError, TruncatedFrameError } from "@hopwire/transport-tcp";
import { frame } from "./support.js";

function stream(...frames: Buffer[]): Buffer {
  return Buffer.concat([Buffer.of(1), ...frames]);
}

function collect(reader: FrameReader, chunks: Buffer[]): Buffer[] {
  const frames: Buffer[] = [];
  for (const chunk of chunks) reader.push(chunk, (b, start, end) => void frames.push(Buffer.from(b.subarray(start, end))));
  return frames;
}

const payloads = [Buffer.from("a"), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from("hello world"), Buffer.alloc(70_000, 3)];

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

  it("reassembles frames split at every possible byte", () => {
    const bytes = stream(...payloads.slice(0, 4).map(frame));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const frames = collect(new FrameReader(), [bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(frames.map((f) => f.toString("hex"))).toEqual(payloads.slice(0, 4).map((p) => p.toString("hex")));
    }
  });

  it("reassembles a stream fed one byte at a time, and in random slices", () => {
    const bytes = stream(...payloads.map(frame));
    const oneByOne = collect(new FrameReader(), [...bytes].map((b) => Buffer.of(b)));
    expect(oneByOne.map((f) => f.length)).toEqual(payloads.map((p) => p.length));
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
      expect(frames.map((f) => f.toString("base64"))).toEqual(payloads.map((p) => p.toString("base64")));
    }
  });

  it("rejects a first byte other than protocol version 1", () => {
    for (const version of [0, 2, 0xff]) {
      const error = catchError(() => new FrameReader().push(Buffer.of(version, 0, 0, 0, 0), () => {}));
      expect(error).toBeInstanceOf(TcpProtocolVersionError);
      expect((error as TcpProtocolVersionError).code).toBe("TCP_PROTOCOL_VERSION");
    }
  });

  it("rejects a length over 16 MiB as soon as the length arrives, before any body", () => {
    const reader = new FrameReader();
    const length = Buffer.alloc(4);
    length.writeUInt32BE(MAX_FRAME_LENGTH + 1);
    reader.push(Buffer.of(1, length[0]!, length[1]!), () => {});
    const error = catchError(() => reader.push(length.subarray(2), () => {}));
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect((error as FrameTooLargeError).code).toBe("TCP_FRAME_TOO_LARGE");
    // Exactly the maximum is allowed.
    length.writeUInt32BE(MAX_FRAME_LENGTH);
    expect(() => new FrameReader().push(Buffer.concat([Buffer.of(1), length]), () => {})).not.toThrow();
  });

  it("reports a stream that ends mid-frame or mid-length, and accepts a clean end", () => {
    const inBody = new FrameReader();
    inBody.push(Buffer.of(1, 0, 0, 0, 10, 1, 2, 3), () => {});
    expect(catchError(() => inBody.end())).toBeInstanceOf(TruncatedFrameError);
    const inLength = new FrameReader();
    inLength.push(Buffer.of(1, 0, 0), () => {});
    expect((catchError(() => inLength.end()) as TruncatedFrameError).code).toBe("TCP_FRAME_TRUNCATED");
    const clean = new FrameReader();
    clean.push(stream(frame(Buffer.from("x"))), () => {});
    expect(() => clean.end()).not.toThrow();
    expect(() => new FrameReader().end()).not.toThrow();
  });

  it("stops at once when the frame handler returns false", () => {
    const seen: string[] = [];
    new FrameReader().push(stream(frame(Buffer.from("a")), frame(Buffer.from("b"))), (b, start, end) => {
      seen.push(b.toString("utf8", start, end));
      return false;
    });
    expect(seen).toEqual(["a"]);
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
