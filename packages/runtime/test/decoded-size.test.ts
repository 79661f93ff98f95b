import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Address, DecodeError, DEFAULT_MAX_DECODED_BODY_BYTES, LocalMessage, decodeBody, encodeBody, route, type Routed } from "@hopwire/runtime";
// Internal: the estimate itself (not public API).
import { estimateDecodedBytes, MAX_DEPTH } from "../dist/codec/decoded-size.js";
import { addIndexKey, type Elements } from "../dist/codec/object-costs.js";
import { BodyReader, Prober } from "./fixtures/workers.js";
import { invalidOption, withNode } from "./helpers.js";

/** An array32 of `n` copies of the one-byte value `tag` (0x80: an empty map, the costliest byte). */
function arrayOf(n: number, tag: number): Uint8Array {
  const bytes = new Uint8Array(5 + n).fill(tag);
  bytes[0] = 0xdd;
  new DataView(bytes.buffer).setUint32(1, n);
  return bytes;
}

const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

const TOO_LARGE = /^The body would decode to more than \d+ bytes of objects .*refused, nothing decoded/;

describe("the decoded size of a body", () => {
  const cost = (value: unknown): unknown => estimateDecodedBytes(encodeBody(value), Infinity);

  it("follows the model: a slot per value, and maps, arrays, strings, bins, wide numbers and extensions on top", () => {
    expect(cost({})).toBe(8 + 56);
    expect(cost([1, 2])).toBe(8 + 48 + 8 + 8);
    expect(cost("abc")).toBe(8 + 24 + 6);
    // A named key: its object's key sequence makes a hidden class (96) and its descriptors (24 a key), once a body.
    expect(cost({ a: 1.5 })).toBe(8 + 56 + (8 + 24 + 2) + (8 + 16) + 96 + 24);
    expect(cost([{ a: 1 }, { a: 2 }])).toBe(8 + 48 + 2 * (8 + 56 + (8 + 24 + 2) + 8) + 96 + 24);
    expect(cost({ a: 1, b: 2 })).toBe(8 + 56 + 2 * (8 + 24 + 2 + 8) + 2 * 96 + 24 * (1 + 2));
    // undefined is a slot; a Date a JSDate and its number (112).
    expect(cost([undefined, new Date(0)])).toBe(8 + 48 + 8 + 8 + 112);
    expect(cost([null, true, -3, 200])).toBe(8 + 48 + 4 * 8);
    expect(cost("x".repeat(300))).toBe(8 + 24 + 600);
    // A map of more than 16 entries is a dictionary: 96 more an entry.
    const wide = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${String.fromCharCode(97 + i)}`, 0]));
    // Before it, V8 made the hidden classes of the first 16 keys: counted as for a map of 16.
    expect(cost(wide)).toBe(8 + 56 + 17 * 96 + 17 * (8 + 24 + 4) + 17 * 8 + 16 * 96 + 24 * ((16 * 17) / 2));
    // Two such maps alike in their first 16 keys make those classes once (a sixth review: maps of 17-21 keys in
    // ever new orders were counted for their dictionaries only).
    const wideToo = { ...wide, extra: 1 };
    expect((cost([wide, wideToo]) as number) - (cost(wide) as number) - (cost(wideToo) as number)).toBeLessThan(0);
    // An Address is an extension that carries its [type, value] after it: both are counted.
    expect(cost(new Address(0, "x"))).toBe(8 + 64 + 1 + (8 + 48 + 8 + (8 + 24 + 2)));
    expect(estimateDecodedBytes(arrayOf(1000, 0x80), Infinity)).toBe(8 + 48 + 1000 * 64);
  });

  it("grows an object's elements for a key that is an array index, as V8 does, and counts a dictionary past its reach", () => {
    const key = (k: string): number => 8 + 24 + 2 * k.length;
    // {"999": 0}: V8 allocates elements for 1,516 entries (1.5× the index + 16), 8 bytes each.
    expect(cost({ "999": 0 })).toBe(8 + 56 + key("999") + 16 + 8 * 1516 + 8);
    // Each key past what the elements hold grows them again (keys go in ascending order: "5" first); a key within costs nothing more.
    expect(cost({ "999": 0, "5": 0 })).toBe(8 + 56 + key("5") + 16 + 8 * 25 + 8 + key("999") + 16 + 8 * 1516 + 8);
    expect(cost({ "5": 0, "6": 0 })).toBe(8 + 56 + key("5") + 16 + 8 * 25 + 8 + key("6") + 8);
    // An integer key is the same index as its string.
    expect(estimateDecodedBytes(Uint8Array.of(0x81, 0xcd, 0x03, 0xe7, 0x00), Infinity)).toBe(8 + 56 + 8 + 16 + 8 * 1516 + 8);
    // "0999", "-1" and "1e3" are no indices: named properties.
    expect(cost({ "0999": 0 })).toBe(8 + 56 + key("0999") + 8 + 96 + 24);
    // Past V8's reach (over 5,000 entries, or a gap of 1,024 or more): a dictionary entry of 64.
    expect(cost({ "4000": 0 })).toBe(8 + 56 + key("4000") + 64 + 8);
  });

  it("counts every time V8 would turn an object's elements into a dictionary and back (a 355 KB body held a thread for 20 s)", () => {
    // Index keys 0..m-1, then pairs (A, A - 1), each A 1,025 past the last: V8 turns the elements
    // into a dictionary at A and back into an array of A + 1 at A - 1, copying them each time.
    const m = 4000;
    const keys: number[] = Array.from({ length: m }, (_, i) => i);
    for (let a = 2 * m + 2000; a < 9 * m; a += 1025) keys.push(a, a - 1);
    const body = new Uint8Array([0xdf, ...u32(keys.length), ...keys.flatMap((k) => [0xce, ...u32(k), 0x00])]);
    const flips = estimateDecodedBytes(body, Infinity) as number;
    // The same keys in ascending order: grown, never turned.
    const sorted = [...keys].sort((x, y) => x - y);
    const calm = estimateDecodedBytes(new Uint8Array([0xdf, ...u32(sorted.length), ...sorted.flatMap((k) => [0xce, ...u32(k), 0x00])]), Infinity) as number;
    expect(flips).toBeGreaterThan(3 * calm);
    // A body of such maps is refused long before it costs seconds.
    const twenty = new Uint8Array([0x94, ...body, ...body, ...body, ...body]);
    expect(() => decodeBody(twenty, { maxDecodedBytes: 4 * calm })).toThrow(TOO_LARGE);
  });

  it("counts a turn back into an array after every gap, whatever the model's own state (a third review: 49 s for 400 KB)", () => {
    // The model's counts are bounds: here it turns its elements back into an array a key or two
    // before V8 would, grows them, and would count nothing for pairs that V8 turns on every key.
    const keys: number[] = [];
    const model: Elements = { capacity: 0, count: 0, maxIndex: -1, mayBeDictionary: false };
    const add = (k: number): void => void (keys.push(k), addIndexKey(model, k));
    const dense = 43_680;
    const gap = 500_000;
    for (let i = 0; i < dense; i++) add(i);
    add(gap);
    let next = dense;
    while (model.capacity < 0) add(next++);
    add(model.capacity);
    for (let a = gap + 1026; a < model.capacity; a += 1025) add(a), add(a - 1);
    const body = new Uint8Array([0xdf, ...u32(keys.length), ...keys.flatMap((k) => [0xce, ...u32(k), 0x00])]);
    expect(body.length).toBeLessThan(300_000);
    expect(() => decodeBody(body)).toThrow(TOO_LARGE);
  });

  it("counts the hidden classes of objects whose keys come in ever new orders, not those of objects alike", () => {
    const alike = Array.from({ length: 1000 }, (_, i) => ({ a: i, b: i, c: i }));
    const orders = Array.from({ length: 1000 }, (_, i) => Object.fromEntries([`k${i % 7}`, `j${i}`, `m${i % 13}`].map((k) => [k, i])));
    const alikeCost = cost(alike) as number;
    const ordersCost = cost(orders) as number;
    expect(alikeCost).toBeLessThan(1000 * (8 + 56 + 3 * (8 + 24 + 2 + 8) + 8) + 3 * 96 + 6 * 24 + 8 + 48 + 1);
    expect(ordersCost - alikeCost).toBeGreaterThan(900 * (3 * 96 + 6 * 24));
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
    // 64 KiB of {"999": 0} (8 bytes each): ≈ 100 MiB of elements in V8.
    const item = [0x81, 0xa3, 0x39, 0x39, 0x39, 0x00];
    const n = Math.floor((64 * 1024) / item.length);
    const keys = new Uint8Array(5 + n * item.length);
    keys.set([0xdd, 0, 0, n >> 8, n & 0xff]);
    for (let i = 0; i < n; i++) keys.set(item, 5 + i * item.length);
    expect(() => decodeBody(keys)).toThrow(TOO_LARGE);
  });

  it("decodes a large body of ordinary objects under the default bound", () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ id: i, name: `row ${i}`.padEnd(60, "."), tags: ["a", "b"], score: i / 3, at: new Date(i), none: undefined }));
    expect(decodeBody(encodeBody(rows))).toEqual(rows);
    const byId = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [i, { i }]));
    expect(decodeBody(encodeBody(byId))).toEqual(byId);
    const where = { to: route("a", new Address(1, "127.0.0.1:4000")), at: new Address(0, "x") };
    expect(decodeBody(encodeBody(where))).toEqual(where);
  });

  it("takes any bound the caller gives, Infinity for none", () => {
    const body = Array.from({ length: 100 }, () => ({}));
    const payload = encodeBody(body);
    expect(() => decodeBody(payload, { maxDecodedBytes: 1000 })).toThrow(TOO_LARGE);
    expect(decodeBody(payload, { maxDecodedBytes: 100 * 64 + 56 })).toEqual(body);
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

  it("refuses every extension encodeBody does not write, whatever the body's size: msgpackr would decode them", () => {
    const refused = (hex: string, type: string): void => {
      expect(() => decodeBody(Buffer.from(hex.replace(/ /g, ""), "hex"))).toThrow(new RegExp(`^The body holds a msgpack extension of type ${type} .*encodeBody never writes`));
    };
    refused("d4 65 00 90", "0x65"); // an Error (a stack trace each: ≈ 2 s a MiB)
    refused("d4 73 00 90", "0x73"); // a Set
    refused("d4 78 00 92 a1 61 a0", "0x78"); // a RegExp
    refused("d5 74 01 00", "0x74"); // a typed array
    refused("d4 72 40 91 a1 61 01", "0x72"); // a record definition
    refused("d5 72 00 00 91 a1 61", "0x72"); // the same in a fixext2
    refused("d6 62 00 00 00 04 a0 a0", "0x62"); // bundled strings
    refused("c7 00 73 90", "0x73"); // a Set in an ext8
    refused("c7 03 48 92 00 a1 78", "0x48"); // an Address in another form than encodeBody's
    // A structured clone's references (a graph of 2^3 paths in 46 bytes; 2^24 in 320 held a thread for seconds).
    refused("d6690000000392d6690000000292d6690000000192d6690000000090d67000000000d67000000001d67000000002", "0x69");
    // Records through the Packr that writes them are refused too.
    expect(() => decodeBody(new Packr({ useRecords: true }).pack([{ a: 1 }, { a: 2 }]))).toThrow(/extension of type 0x72/);
  });

  it("refuses bytes after the value, and nesting deeper than msgpackr goes", () => {
    expect(() => decodeBody(Uint8Array.of(0x01, 0xc0))).toThrow(/^The body has bytes after its value: refused, nothing decoded$/);
    const nested = (depth: number): Uint8Array => {
      const bytes = new Uint8Array(depth + 1).fill(0x91);
      bytes[depth] = 0xc0;
      return bytes;
    };
    expect(() => decodeBody(nested(3000))).not.toThrow();
    expect(() => decodeBody(nested(MAX_DEPTH + 1))).toThrow(new RegExp(`^The body nests containers more than ${MAX_DEPTH} deep`));
  });

  it("counts undefined as a key (a Map's) in its object's key sequence", () => {
    const first = estimateDecodedBytes(Uint8Array.of(0x81, 0xd4, 0x00, 0x00, 0x01), Infinity) as number;
    expect(first).toBe(8 + 56 + 8 + 8 + 96 + 24);
    expect(decodeBody(encodeBody(new Map([[undefined, 1]])))).toEqual({ undefined: 1 });
  });

  it("refuses a map that names one property twice, however it is spelled, and a key that is not valid UTF-8 (a fourth review: 1 s a MiB)", () => {
    // {"a": 1, "a": 1.5}: encodeBody never writes it; V8 rebuilt hidden classes at each such repeat.
    expect(() => decodeBody(Uint8Array.of(0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0xca, 0x3f, 0xc0, 0x00, 0x00))).toThrow(/^The body has a map that names one property twice/);
    // The fixint -5 and the string "-5" are one property; so are nil and "null".
    expect(() => decodeBody(Uint8Array.of(0x82, 0xfb, 0x01, 0xa2, 0x2d, 0x35, 0x02))).toThrow(/names one property twice/);
    expect(() => decodeBody(Uint8Array.of(0x82, 0xc0, 0x01, 0xa4, 0x6e, 0x75, 0x6c, 0x6c, 0x02))).toThrow(/names one property twice/);
    // The same key in two maps, or nested, is no repeat; nor are distinct keys that spell numbers.
    const fine = { a: { a: 1 }, b: [{ a: 1 }, { a: 2 }], "-5": 1, "-6": 2, "1.5": 3 };
    expect(decodeBody(encodeBody(fine))).toEqual(fine);
    expect(decodeBody(encodeBody(new Map<unknown, number>([[-5, 1], [1.5, 2], [null, 3], ["x", 4]])))).toEqual({ "-5": 1, "1.5": 2, null: 3, x: 4 });
    expect(() => decodeBody(Uint8Array.of(0x81, 0xa2, 0xc0, 0x80, 0x01))).toThrow(/^The body has a map key that is not valid UTF-8/);
    // msgpackr renames "__proto__" to "__proto_": with both, one property twice (a fifth review).
    expect(() => decodeBody(encodeBody(JSON.parse('{"__proto_": 1, "__proto__": 1.5}')))).toThrow(/names one property twice/);
    expect(decodeBody(encodeBody(JSON.parse('{"__proto__": 1}')))).toEqual({ __proto_: 1 });
    expect(decodeBody(encodeBody({ "ключ": 1, "鍵": 2, "🔑": 3 }))).toEqual({ "ключ": 1, "鍵": 2, "🔑": 3 });
  });

  it("refuses 0xc1 (msgpackr decodes it to one shared, mutable object) and map keys V8 hashes by their length alone", () => {
    expect(() => decodeBody(Uint8Array.of(0x81, 0xa1, 0x78, 0xc1))).toThrow(/^The body holds the byte 0xc1, which msgpack never uses: refused, nothing decoded$/);
    const longKey = { ["k".repeat(16_384)]: 1 };
    expect(() => decodeBody(encodeBody(longKey))).toThrow(/^The body has a map key longer than 16383 bytes/);
    const longest = { ["k".repeat(16_383)]: 1 };
    expect(decodeBody(encodeBody(longest))).toEqual(longest);
    // A long string as a value is no key: taken.
    expect(decodeBody(encodeBody({ k: "v".repeat(100_000) }))).toEqual({ k: "v".repeat(100_000) });
  });

  it("takes every Date encodeBody writes, an invalid one too, and says DecodeError for an extension cut short", () => {
    for (const date of [new Date(Number.NaN), new Date(0), new Date(-1e15), new Date(8.64e15), new Date(1.5)]) {
      expect(decodeBody(encodeBody({ date })), String(date)).toEqual({ date });
    }
    for (const hex of ["d4", "c7", "c705", "91d4", "81a161d6"]) expect(() => decodeBody(Buffer.from(hex, "hex")), hex).toThrow(DecodeError);
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
