import { describe, expect, it } from "vitest";
import { LocalMessage, route, viewOf } from "@hopwire/runtime";

// A payload given in parts is one payload to everyone who reads it.

describe("LocalMessage in parts", () => {
  const onward = route("a", "b");
  const back = route("c");
  const parts = [Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3), new Uint8Array(3000).fill(4)];

  it("reports its length without joining, and reads as the parts joined in order", () => {
    const message = LocalMessage.fromParts(onward, back, parts);
    expect(message.payloadLength).toBe(3003);
    expect(message.parts).toBe(parts);
    expect(Array.from(message.payload.subarray(0, 4))).toEqual([1, 2, 3, 4]);
    expect(message.payload.length).toBe(3003);
    expect(message.payload.subarray(3).every((b) => b === 4)).toBe(true);
    expect(message.payload).toBe(message.payload); // joined once
  });

  it("keeps its parts through copies with other routes or local info, and drops them for another payload", () => {
    const message = LocalMessage.fromParts(onward, back, parts);
    const moved = message.withOnwardRoute(route("b")).withReturnRoute(route("d")).withLocalInfo({ k: 1 });
    expect(moved.parts).toBe(parts);
    expect(moved.payloadLength).toBe(3003);
    expect(moved.localInfo).toEqual({ k: 1 });
    const replaced = message.withPayload(Uint8Array.of(9));
    expect(replaced.parts).toBeUndefined();
    expect(Array.from(replaced.payload)).toEqual([9]);
    expect(replaced.payloadLength).toBe(1);
  });

  it("a message given one buffer has no parts and that buffer as its payload", () => {
    const bytes = Uint8Array.of(7, 7);
    const message = new LocalMessage(onward, back, bytes);
    expect(message.parts).toBeUndefined();
    expect(message.payload).toBe(bytes);
    expect(message.payloadLength).toBe(2);
  });
});

// A transport's receiver hands on a range of the bytes it read; nothing else sees a difference.
describe("LocalMessage from a range", () => {
  const onward = route("a");
  const back = route("c");
  const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251));

  it("reads as the range, made a view once, and copies from the range without one", () => {
    const message = LocalMessage.fromRange(onward, back, bytes, 10, 210);
    expect(message.payloadLength).toBe(200);
    const target = new Uint8Array(205);
    message.copyPayloadTo(target, 5);
    expect(Array.from(target.subarray(5))).toEqual(Array.from(bytes.subarray(10, 210)));
    expect(Array.from(message.payload)).toEqual(Array.from(bytes.subarray(10, 210)));
    expect(message.payload).toBe(message.payload);
    expect(message.payload.buffer).toBe(bytes.buffer); // a view, not a copy
  });

  it("copies a short range, a whole payload and parts alike", () => {
    const short = LocalMessage.fromRange(onward, back, bytes, 3, 7);
    const whole = new LocalMessage(onward, back, Uint8Array.of(9, 8, 7));
    const parts = LocalMessage.fromParts(onward, back, [Uint8Array.of(1), new Uint8Array(100).fill(2)]);
    for (const [m, expected] of [
      [short, [3, 4, 5, 6]],
      [whole, [9, 8, 7]],
      [parts, [1, ...new Array(100).fill(2)]],
    ] as const) {
      const target = new Uint8Array(m.payloadLength + 1).fill(0xee);
      m.copyPayloadTo(target, 1);
      expect(Array.from(target)).toEqual([0xee, ...expected]);
    }
  });

  it("keeps its range through copies with other routes, and refuses a range outside the bytes", () => {
    const moved = LocalMessage.fromRange(onward, back, bytes, 0, 4).withOnwardRoute(route("b")).withLocalInfo({ k: 1 });
    expect(moved.payloadLength).toBe(4);
    expect(Array.from(moved.payload)).toEqual([0, 1, 2, 3]);
    expect(moved.onwardRoute.toString()).toBe("0#b");
    expect(() => LocalMessage.fromRange(onward, back, bytes, 5, 301)).toThrow(RangeError);
    expect(() => LocalMessage.fromRange(onward, back, bytes, 6, 5)).toThrow(RangeError);
  });
});

// Payload views remember their source's ArrayBuffer (reading it is dear): a view must still be
// exactly the range it names, of the source it names, whatever came before it.
describe("viewOf", () => {
  /** A view into the middle of a larger buffer, so that its byteOffset is not 0. */
  const sourceOf = (length: number, seed: number): Buffer => {
    const backing = Buffer.alloc(length + 40);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 7 + seed) % 256;
    return backing.subarray(17, 17 + length);
  };

  it("is a Buffer over the range, not a copy, from sources taken in turn", () => {
    const a = sourceOf(100, 1);
    const b = sourceOf(100, 2);
    const c = new Uint8Array(new SharedArrayBuffer(64), 8, 32).fill(5);
    for (const [source, start, length] of [[a, 3, 20], [b, 3, 20], [a, 50, 50], [c, 1, 30], [b, 0, 100], [a, 99, 1], [a, 10, 0]] as const) {
      const view = viewOf(source, start, length);
      expect(Buffer.isBuffer(view)).toBe(true);
      expect(view.length).toBe(length);
      expect(Array.from(view)).toEqual(Array.from(source.subarray(start, start + length)));
      expect(view.buffer).toBe(source.buffer);
      expect(view.byteOffset).toBe(source.byteOffset + start);
    }
    const view = viewOf(b, 5, 2);
    b[5] = 0xaa;
    expect(view[0]).toBe(0xaa); // shares the bytes
  });

  it("views a source too large to remember as any other", () => {
    const big = sourceOf(5 * 1024 * 1024, 3);
    const small = sourceOf(10, 4);
    for (const [source, start] of [[big, 4_000_000], [small, 2], [big, 7], [big, 5 * 1024 * 1024 - 8]] as const) {
      expect(Array.from(viewOf(source, start, 8))).toEqual(Array.from(source.subarray(start, start + 8)));
    }
  });

  it("gives LocalMessage ranges of interleaved sources their own bytes", () => {
    const a = sourceOf(64, 5);
    const b = sourceOf(64, 6);
    const messages = [a, b, a, b].map((source, i) => [LocalMessage.fromRange(route("x"), route("y"), source, i, i + 30), source, i] as const);
    for (const [message, source, i] of messages) expect(Array.from(message.payload)).toEqual(Array.from(source.subarray(i, i + 30)));
  });
});
