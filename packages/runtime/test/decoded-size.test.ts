import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Address, DecodeError, DEFAULT_MAX_DECODED_BODY_BYTES, LocalMessage, decodeBody, encodeBody, route, type Routed } from "@hopwire/runtime";
// Internal: the estimate itself (not public API).
import { COST_PER_BYTE_MAX, estimateDecodedBytes } from "../dist/codec/decoded-size.js";
import { BodyReader, Prober } from "./fixtures/workers.js";
import { invalidOption, withNode } from "./helpers.js";

/** An array32 of `n` copies of the one-byte value `tag` (0x80: an empty map, the costliest byte). */
function arrayOf(n: number, tag: number): Uint8Array {
  const bytes = new Uint8Array(5 + n).fill(tag);
  bytes[0] = 0xdd;
  new DataView(bytes.buffer).setUint32(1, n);
  return bytes;
}

const TOO_LARGE = /^The body would decode to more than \d+ bytes of objects .*refused, nothing decoded/;

describe("the decoded size of a body", () => {
  it("follows the model: a slot per value, and maps, arrays, strings, bins and wide numbers on top", () => {
    const cost = (value: unknown): unknown => estimateDecodedBytes(encodeBody(value), Infinity);
    expect(cost({})).toBe(8 + 56);
    expect(cost([1, 2])).toBe(8 + 32 + 8 + 8);
    expect(cost("abc")).toBe(8 + 16 + 6);
    expect(cost({ a: 1.5 })).toBe(8 + 56 + (8 + 16 + 2) + (8 + 16));
    expect(cost([null, true, -3, 200])).toBe(8 + 32 + 4 * 8);
    expect(cost("x".repeat(300))).toBe(8 + 16 + 600);
    // An Address is an extension that carries its [type, value] after it: both are counted.
    expect(cost(new Address(0, "x"))).toBe(8 + 64 + (8 + 32 + 8 + (8 + 16 + 2)));
    // No byte of a body costs more than COST_PER_BYTE_MAX: an empty map is the worst.
    const maps = arrayOf(1000, 0x80);
    expect((estimateDecodedBytes(maps, Infinity) as number) / maps.length).toBeLessThanOrEqual(COST_PER_BYTE_MAX);
    expect(estimateDecodedBytes(maps, Infinity)).toBe(8 + 32 + 1000 * 64);
  });

  it("stops counting once past the limit", () => {
    expect(estimateDecodedBytes(arrayOf(100_000, 0x80), 1000)).toBeLessThan(1000 + 64 + 8);
    expect(estimateDecodedBytes(arrayOf(100_000, 0x80), 1000)).toBeGreaterThan(1000);
  });

  it("refuses a body that would decode past the default bound, before decoding it", () => {
    // 2 MiB of empty maps: 128 MiB of objects, ≈ 0.3 s of decoding, were it decoded.
    const bomb = arrayOf(2 * 1024 * 1024, 0x80);
    let error: unknown;
    try {
      decodeBody(bomb);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).code).toBe("DECODE_FAILED");
    expect((error as Error).message).toMatch(TOO_LARGE);
    expect((error as Error).message).toContain(String(DEFAULT_MAX_DECODED_BODY_BYTES));
  });

  it("decodes a large body of ordinary objects under the default bound", () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ id: i, name: `row ${i}`.padEnd(60, "."), tags: ["a", "b"], score: i / 3 }));
    const payload = encodeBody(rows);
    expect(payload.length * COST_PER_BYTE_MAX).toBeGreaterThan(DEFAULT_MAX_DECODED_BODY_BYTES); // so it is estimated
    expect(decodeBody(payload)).toEqual(rows);
  });

  it("takes any bound the caller gives, Infinity for none", () => {
    const body = Array.from({ length: 100 }, () => ({}));
    const payload = encodeBody(body);
    expect(() => decodeBody(payload, { maxDecodedBytes: 1000 })).toThrow(TOO_LARGE);
    expect(decodeBody(payload, { maxDecodedBytes: 100 * 64 + 40 })).toEqual(body);
    expect(decodeBody(payload, { maxDecodedBytes: Infinity })).toEqual(body);
    // Bytes are a view of the payload: no bound applies to them.
    expect((decodeBody(encodeBody(new Uint8Array(5000).fill(7)), { maxDecodedBytes: 1 }) as Uint8Array).every((b) => b === 7)).toBe(true);
    // Nor to bytes inside a body: a view each, whatever their length.
    const file = { name: "f", data: new Uint8Array(4 * 1024 * 1024).fill(9) };
    expect((decodeBody(encodeBody(file), { maxDecodedBytes: 1000 }) as typeof file).data.length).toBe(file.data.length);
    for (const bad of [0, -1, Number.NaN, "1000", null]) {
      expect(() => decodeBody(payload, { maxDecodedBytes: bad as number })).toThrow(invalidOption("maxDecodedBytes", /^decodeBody options: maxDecodedBytes must be a positive number/) as Error);
    }
  });

  it("counts what an Address or Route extension carries", () => {
    // A route extension (fixext1, type 0x49) followed by an array of 100 empty maps.
    const payload = new Uint8Array([0xd4, 0x49, 0x00, ...arrayOf(100, 0x80)]);
    expect(() => decodeBody(payload, { maxDecodedBytes: 1000 })).toThrow(TOO_LARGE);
  });

  it("refuses msgpackr's records and bundled strings in a body it estimates, which plain msgpack has not", () => {
    const records = new Packr({ useRecords: true }).pack(Array.from({ length: 50 }, (_, i) => ({ a: i, b: i })));
    expect(() => decodeBody(records, { maxDecodedBytes: 100 })).toThrow(/records or bundled strings/);
    const bundled = new Packr({ bundleStrings: true, useRecords: false }).pack({ s: "hello world".repeat(20) });
    expect(() => decodeBody(bundled, { maxDecodedBytes: 100 })).toThrow(/records or bundled strings/);
  });

  it("leaves a malformed body to the decoder: a header that claims more than the bytes hold is not 'too large'", () => {
    expect(() => decodeBody(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff), { maxDecodedBytes: 100 })).toThrow(/^The payload is not a msgpack-encoded body$/);
  });
});

describe("a worker reading a body that would decode past the bound", () => {
  const bomb = arrayOf(2 * 1024 * 1024, 0x80);

  for (const placement of ["main", "thread"] as const) {
    it(`gets a DecodeError from msg.body, placed "${placement}", and goes on handling`, async () => {
      await withNode({}, async (n) => {
        await n.startWorker("reader", BodyReader, { placement });
        // The bomb as a raw payload, with a reply address of the node's own.
        const replies: Routed[] = [];
        const back = Address.random();
        await n.startWorker(back, { handleMessage: (_ctx: unknown, msg: Routed) => void replies.push(msg) }, { placement: "main" });
        await n.forward(new LocalMessage(route("reader"), route(back), bomb));
        await n.forward(new LocalMessage(route("reader"), route(back), encodeBody([1, 2, 3])));
        await expect.poll(() => replies.length, { timeout: 30_000 }).toBe(2);
        expect(replies[0]!.body).toEqual({ ok: false, error: expect.objectContaining({ name: "DecodeError", code: "DECODE_FAILED", message: expect.stringMatching(TOO_LARGE) }) });
        expect(replies[1]!.body).toEqual({ ok: true, length: 3 });
      });
    });
  }
});

describe("sendAndReceive's maxDecodedBytes", () => {
  const many = Array.from({ length: 100 }, () => ({}));

  it("bounds the reply's body on the main thread (DecodeError), and is checked", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("echoer", { handleMessage: (ctx, msg) => ctx.send(msg.returnRoute, msg.body) }, { placement: "main" });
      await expect(n.sendAndReceive("echoer", many, { maxDecodedBytes: 1000 })).rejects.toThrow(TOO_LARGE);
      expect(await n.sendAndReceive("echoer", many, { maxDecodedBytes: 10_000 })).toEqual(many);
      await expect(n.sendAndReceive("echoer", many, { maxDecodedBytes: -5 })).rejects.toEqual(
        invalidOption("maxDecodedBytes", /^sendAndReceive options: maxDecodedBytes must be a positive number/),
      );
    });
  });

  it("bounds the reply's body on a worker's thread", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("echoer", { handleMessage: (ctx, msg) => ctx.send(msg.returnRoute, msg.body) }, { placement: "main" });
      await n.startWorker("prober", Prober);
      const bounded = await n.sendAndReceive<{ ok: boolean; error?: { name: string; message: string } }>("prober", { op: "sendAndReceive", target: "echoer", body: many, maxDecodedBytes: 1000 });
      expect(bounded).toEqual({ ok: false, error: expect.objectContaining({ name: "DecodeError", message: expect.stringMatching(TOO_LARGE) }) });
      const roomy = await n.sendAndReceive("prober", { op: "sendAndReceive", target: "echoer", body: many, maxDecodedBytes: 10_000 });
      expect(roomy).toEqual({ ok: true, value: many });
    });
  });
});
