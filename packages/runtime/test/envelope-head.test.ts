import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Packr } from "msgpackr";
import { describe, expect, it, vi } from "vitest";
import {
  Address,
  DecodeError,
  EnvelopeHeadDecoder,
  InvalidRouteError,
  InvalidAddressError,
  LocalMessage,
  MAX_ADDRESS_VALUE_BYTES,
  MAX_NETWORK_HEAD_BYTES,
  MAX_ROUTE_LENGTH,
  Route,
  decodeEnvelope,
  decodeEnvelopeHead,
  encodeBody,
  encodeEnvelope,
  encodeEnvelopeHead,
  envelopeHeadBound,
  keptHeadCost,
  writeEnvelopeHead,
} from "@hopwire/runtime";

// The head codec as a transport uses it: written with its own hop skipped, read head only.
// (These tests came from @hopwire/transport-tcp, whose copy of the codec this one replaced.)

const values = [
  "a",
  "echoer",
  "0123456789abcdef0123456789abcdef",
  "127.0.0.1:4000",
  "x".repeat(31),
  "y".repeat(32),
  "z".repeat(255),
  "w".repeat(256),
  "v".repeat(1024), // MAX_ADDRESS_VALUE_BYTES
  "héllo",
  "雪".repeat(40),
  "🦀 relay",
];

function randomRoute(seed: number, length: number): Route {
  const addresses: Address[] = [];
  for (let i = 0; i < length; i++) {
    const type = [0, 1, 5, 127, 128, 200, 255][(seed + i) % 7]!;
    addresses.push(new Address(type, values[(seed * 3 + i) % values.length]!));
  }
  return new Route(addresses);
}

function writeWithOwnHop(message: LocalMessage): Buffer {
  // A transport's sender writes the onward route without its own (first) hop.
  const own = message.withOnwardRoute(message.onwardRoute.prepend(Address.random()));
  const out = Buffer.alloc(envelopeHeadBound(own, "network", 1));
  const end = writeEnvelopeHead(out, 0, own, "network", 1);
  return out.subarray(0, end);
}

/** The payload of a decoded head, as a view of the envelope's bytes. */
const payloadOf = (bytes: Buffer, head: { payloadOffset: number; payloadLength: number }) =>
  bytes.subarray(head.payloadOffset, head.payloadOffset + head.payloadLength);

describe("envelope head", () => {
  it("writes exactly the bytes of encodeEnvelopeHead when it skips the sender's own hop", () => {
    for (let seed = 0; seed < 60; seed++) {
      const lengths = [0, 1, 2, 15, 16, 17][seed % 6]!;
      const message = new LocalMessage(randomRoute(seed, lengths), randomRoute(seed + 1, (seed * 7) % 5), encodeBody(`payload ${seed}`));
      expect(writeWithOwnHop(message).toString("hex")).toBe(Buffer.from(encodeEnvelopeHead(message, "network")).toString("hex"));
    }
  });

  it("skips any number of leading hops, within the bound, and refuses to skip more than there are", () => {
    const message = new LocalMessage(randomRoute(3, 5), randomRoute(4, 2), encodeBody("x"));
    for (let skip = 0; skip <= 5; skip++) {
      const out = Buffer.alloc(envelopeHeadBound(message, "network", skip));
      const end = writeEnvelopeHead(out, 0, message, "network", skip);
      const shorter = new LocalMessage(new Route(message.onwardRoute.addresses.slice(skip)), message.returnRoute, message.payload);
      expect(out.subarray(0, end).equals(Buffer.from(encodeEnvelopeHead(shorter, "network")))).toBe(true);
    }
    const out = Buffer.alloc(4096);
    for (const skip of [6, -1, 1.5, Number.NaN]) expect(() => writeEnvelopeHead(out, 0, message, "network", skip), String(skip)).toThrow(InvalidRouteError);
  });

  it("reads what the runtime encodes, with the payload where it lies in the frame", () => {
    for (let seed = 0; seed < 60; seed++) {
      const payload = Buffer.alloc(seed * 97, seed);
      const message = new LocalMessage(randomRoute(seed, seed % 18), randomRoute(seed + 2, seed % 4), payload);
      const frame = Buffer.from(encodeEnvelope(message, "network"));
      const decoded = decodeEnvelopeHead(frame, "network");
      expect(decoded.onwardRoute.equals(message.onwardRoute)).toBe(true);
      expect(decoded.returnRoute.equals(message.returnRoute)).toBe(true);
      expect(decoded.payloadLength).toBe(payload.length);
      expect(decoded.payloadOffset + decoded.payloadLength).toBe(frame.length);
      expect(payloadOf(frame, decoded).equals(payload)).toBe(true);
      expect(payloadOf(frame, decoded).buffer).toBe(frame.buffer);
      // And decodeEnvelope reads what a transport's sender writes.
      const ours = Buffer.concat([writeWithOwnHop(message), payload]);
      const back = decodeEnvelope(ours, "network");
      expect(back.onwardRoute.equals(message.onwardRoute) && back.returnRoute.equals(message.returnRoute)).toBe(true);
    }
  });

  it("decodes an envelope inside a larger buffer, and plain Uint8Arrays as well as Buffers", () => {
    const message = new LocalMessage(randomRoute(1, 3), randomRoute(2, 2), encodeBody("inside"));
    const envelope = encodeEnvelope(message, "network");
    const chunk = new Uint8Array(envelope.length + 10);
    chunk.set(envelope, 4);
    const head = decodeEnvelopeHead(chunk, "network", 4, 4 + envelope.length);
    expect(head.onwardRoute.equals(message.onwardRoute)).toBe(true);
    expect(head.payloadOffset).toBe(4 + envelope.length - message.payload.length);
    expect(() => decodeEnvelopeHead(chunk, "network", 4, chunk.length)).toThrow(DecodeError);
    expect(() => decodeEnvelopeHead(chunk, "network", 4, chunk.length + 1)).toThrow(RangeError);
  });

  it("decodes routes of any length one after another, each whole (with a return prefix too)", () => {
    const prefix = new Address(0, "conn-sender");
    const decoder = new EnvelopeHeadDecoder({ returnPrefix: prefix });
    // Lengths around the 16 addresses that are collected in a scratch array, and far past them.
    for (const n of [1, 2, 15, 16, 17, 40, 3, 200, 1]) {
      const onward = new Route(Array.from({ length: n }, (_, i) => new Address(i % 3, `hop-${n}-${i}`)));
      const back = new Route(Array.from({ length: Math.max(1, n - 1) }, (_, i) => new Address(0, `back-${n}-${i}`)));
      const frame = Buffer.from(encodeEnvelope(new LocalMessage(onward, back, Buffer.from("x")), "network"));
      decoder.decode(frame, 0, frame.length);
      expect(decoder.onwardRoute.equals(onward)).toBe(true);
      expect(decoder.returnRoute.equals(new Route([prefix, ...back.addresses]))).toBe(true);
      const head = decodeEnvelopeHead(frame, "network");
      expect(head.onwardRoute.equals(onward)).toBe(true);
    }
  });

  it("refuses a route of more than MAX_ROUTE_LENGTH addresses or an address value past MAX_ADDRESS_VALUE_BYTES, read or written", () => {
    const hops = (n: number) => new Route(Array.from({ length: n }, (_, i) => new Address(0, `h${i}`)));
    const envelopeOf = (onward: Route, back: Route) => Buffer.from(encodeEnvelope(new LocalMessage(onward, back, Buffer.from("x")), "network"));
    // At the limit, both routes read back, also by a reader that prefixes the return route: what a
    // writer writes a reader takes (a relay's next hop closed its connection over one address more).
    const atLimit = envelopeOf(hops(MAX_ROUTE_LENGTH), hops(MAX_ROUTE_LENGTH));
    expect(decodeEnvelopeHead(atLimit, "network").onwardRoute.length).toBe(MAX_ROUTE_LENGTH);
    const decoder = new EnvelopeHeadDecoder({ returnPrefix: new Address(0, "conn") });
    decoder.decode(atLimit, 0, atLimit.length);
    expect(decoder.returnRoute.length).toBe(MAX_ROUTE_LENGTH + 1);
    // Prefixed past the limit, it is refused where it would be written on (a local drop, not a malformed frame).
    expect(() => envelopeHeadBound(new LocalMessage(hops(1), decoder.returnRoute, Buffer.from("x")), "network")).toThrow(InvalidRouteError);
    // A route one past the limit, spelt by hand (the writer refuses to write it): array16 of [0, "a"] pairs.
    const pairs = Array.from({ length: MAX_ROUTE_LENGTH + 1 }, () => [0x92, 0x00, 0xa1, 0x61]).flat();
    const tooLong = Buffer.from([0x93, 0xdc, (MAX_ROUTE_LENGTH + 1) >> 8, (MAX_ROUTE_LENGTH + 1) & 0xff, ...pairs, 0x90, 0xc4, 0x00]);
    expect(() => decodeEnvelopeHead(tooLong, "network")).toThrow(/more than 255 addresses/);
    // An address value one byte past the limit (str16), spelt by hand, is refused before it is read.
    const value = Buffer.alloc(MAX_ADDRESS_VALUE_BYTES + 1, 0x61);
    const longValue = Buffer.from([0x93, 0x91, 0x92, 0x00, 0xda, value.length >> 8, value.length & 0xff, ...value, 0x90, 0xc4, 0x00]);
    expect(() => decodeEnvelopeHead(longValue, "network")).toThrow(/longer than 1024 bytes/);
    // The writers refuse such routes with InvalidRouteError (the sender learns it, not the peer).
    const long = new LocalMessage(hops(MAX_ROUTE_LENGTH + 1), hops(1), Buffer.from("x"));
    expect(() => envelopeHeadBound(long, "network")).toThrow(InvalidRouteError);
    expect(() => encodeEnvelopeHead(long, "local")).toThrow(InvalidRouteError);
    expect(() => envelopeHeadBound(new LocalMessage(hops(2), hops(MAX_ROUTE_LENGTH + 1), Buffer.from("x")), "network")).toThrow(InvalidRouteError);
    // A transport's sender skips its own hop: MAX_ROUTE_LENGTH + 1 with one skipped is written.
    expect(envelopeHeadBound(long, "network", 1)).toBeGreaterThan(0);
    // A network envelope's routes take at most MAX_NETWORK_HEAD_BYTES: 70 addresses of 1,000 bytes are refused, read
    // or written (a connection keeps its last decoded head: 255 such addresses each way held ≈ 0.6 MB per connection).
    const wide = new Route(Array.from({ length: 70 }, (_, i) => new Address(0, `${i}`.padEnd(1000, "w"))));
    const wideMessage = new LocalMessage(hops(1), wide, Buffer.from("x"));
    expect(() => encodeEnvelopeHead(wideMessage, "network")).toThrow(InvalidRouteError);
    const wideLocal = Buffer.from(encodeEnvelope(wideMessage, "local")); // between threads of one node: no such bound
    expect(decodeEnvelopeHead(wideLocal, "local").returnRoute.length).toBe(70);
    const widePairs = wide.addresses.flatMap((a) => [0x92, 0x00, 0xda, 0x03, 0xe8, ...Buffer.from(a.value)]);
    const wideNetwork = Buffer.from([0x93, 0x91, 0x92, 0x00, 0xa1, 0x61, 0xdc, 0x00, 70, ...widePairs, 0xc4, 0x00]);
    expect(() => decodeEnvelopeHead(wideNetwork, "network")).toThrow(new RegExp(`take more than ${MAX_NETWORK_HEAD_BYTES} bytes`));
    // Address values are counted in UTF-8 bytes.
    expect(new Address(0, "a".repeat(MAX_ADDRESS_VALUE_BYTES)).value.length).toBe(MAX_ADDRESS_VALUE_BYTES);
    expect(() => new Address(0, "a".repeat(MAX_ADDRESS_VALUE_BYTES + 1))).toThrow(InvalidAddressError);
    expect(new Address(0, "é".repeat(MAX_ADDRESS_VALUE_BYTES / 2)).value.length).toBe(MAX_ADDRESS_VALUE_BYTES / 2);
    expect(() => new Address(0, "é".repeat(MAX_ADDRESS_VALUE_BYTES / 2 + 1))).toThrow(InvalidAddressError);
  });

  it("accepts the other valid msgpack spellings (array16, uint8 type, str8, bin8)", () => {
    const frame = Buffer.from([
      0xdc, 0x00, 0x03, // envelope as array16
      0x91, 0x92, 0xcc, 0x00, 0xd9, 0x01, 0x61, // onward: [[0 as uint8, "a" as str8]]
      0x90, // return: []
      0xc4, 0x02, 0xaa, 0xbb, // payload as bin8
    ]);
    const decoded = decodeEnvelopeHead(frame, "network");
    expect(decoded.onwardRoute.next().key).toBe("a");
    expect(payloadOf(frame, decoded).toString("hex")).toBe("aabb");
  });

  it("accepts every msgpack integer spelling of an address type, and array32 / str16 / str32 / bin16", () => {
    const types: [string, number[]][] = [
      ["uint16", [0xcd, 0x00, 0x07]],
      ["uint32", [0xce, 0x00, 0x00, 0x00, 0x07]],
      ["uint64", [0xcf, 0, 0, 0, 0, 0, 0, 0, 0x07]],
      ["int8", [0xd0, 0x07]],
      ["int16", [0xd1, 0x00, 0x07]],
      ["int32", [0xd2, 0x00, 0x00, 0x00, 0x07]],
      ["int64", [0xd3, 0, 0, 0, 0, 0, 0, 0, 0x07]],
    ];
    for (const [name, type] of types) {
      const frame = Buffer.from([
        0x93,
        ...[0xdd, 0, 0, 0, 1], // onward as array32
        ...[0xdc, 0, 2], // the address as array16
        ...type,
        ...[0xda, 0, 1, 0x62], // "b" as str16
        ...[0x91, 0x92, 0x01, 0xdb, 0, 0, 0, 1, 0x63], // return: [[1, "c" as str32]]
        ...[0xc5, 0, 1, 0xff], // payload as bin16
      ]);
      const decoded = decodeEnvelopeHead(frame, "network");
      expect(decoded.onwardRoute.toString(), name).toBe("7#b");
      expect(decoded.returnRoute.toString(), name).toBe("1#c");
      expect(decoded.payloadLength, name).toBe(1);
    }
  });

  it("rejects malformed envelopes with a DecodeError that never quotes the bytes", () => {
    const good = Buffer.from(encodeEnvelope(new LocalMessage(new Route([new Address(0, "a")]), Route.EMPTY, Buffer.from("SECRET")), "network"));
    const local = Buffer.from(encodeEnvelope(new LocalMessage(new Route([new Address(0, "a")]), Route.EMPTY, Buffer.from("SECRET")), "local"));
    const cases: [string, Buffer][] = [
      ["empty", Buffer.alloc(0)],
      ["local (4-element) envelope", local],
      ["trailing bytes", Buffer.concat([good, Buffer.from("SECRET")])],
      ["truncated", good.subarray(0, good.length - 1)],
      ["head cut short", good.subarray(0, 3)],
      ["not an array", Buffer.from([0xa3, 0x61, 0x62, 0x63])],
      ["payload as a string", Buffer.from([0x93, 0x90, 0x90, 0xa6, ...Buffer.from("SECRET")])],
      ["address not a pair", Buffer.from([0x93, 0x91, 0x93, 0x00, 0xa1, 0x61, 0x00, 0x90, 0xc4, 0x00])],
      ["address value not a string", Buffer.from([0x93, 0x91, 0x92, 0x00, 0x01, 0x90, 0xc4, 0x00])],
      ["address type negative", Buffer.from([0x93, 0x91, 0x92, 0xff, 0xa1, 0x61, 0x90, 0xc4, 0x00])],
      ["address type negative int8", Buffer.from([0x93, 0x91, 0x92, 0xd0, 0xff, 0xa1, 0x61, 0x90, 0xc4, 0x00])],
      ["address type over 255", Buffer.from([0x93, 0x91, 0x92, 0xcd, 0x01, 0x00, 0xa1, 0x61, 0x90, 0xc4, 0x00])],
      ["address type a float", Buffer.from([0x93, 0x91, 0x92, 0xca, 0x3f, 0x80, 0x00, 0x00, 0xa1, 0x61, 0x90, 0xc4, 0x00])],
      ["empty address value", Buffer.from([0x93, 0x91, 0x92, 0x00, 0xa0, 0x90, 0xc4, 0x00])],
      ["absurd route length", Buffer.from([0x93, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x90, 0xc4, 0x00])],
    ];
    for (const [name, bytes] of cases) {
      for (const decode of [() => decodeEnvelopeHead(bytes, "network"), () => new EnvelopeHeadDecoder().decode(bytes, 0, bytes.length)]) {
        let error: unknown;
        try {
          decode();
        } catch (e) {
          error = e;
        }
        expect(error, name).toBeInstanceOf(DecodeError);
        expect((error as DecodeError).code).toBe("DECODE_FAILED");
        expect((error as Error).message).not.toContain("SECRET");
      }
    }
  });

  it("reads local envelopes head only: local info decoded, an empty one in any spelling is NO_LOCAL_INFO", () => {
    const reference = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
    const onward = [[0, "a"]];
    const bin = Buffer.from("payload");
    for (const info of [null, {}]) {
      const bytes = reference.pack([onward, [], info, bin]);
      const head = decodeEnvelopeHead(bytes, "local");
      expect(head.localInfo).toEqual({});
      expect(Buffer.from(bytes.subarray(head.payloadOffset)).equals(bin)).toBe(true);
    }
    const rich = { peer: "P1", n: [1, -2, 3.5, 2 ** 40, true, null], nested: { bytes: Buffer.from([1, 2]), s: "x".repeat(300) } };
    const bytes = reference.pack([onward, [], rich, bin]);
    const head = decodeEnvelopeHead(bytes, "local");
    expect(head.localInfo).toEqual(rich);
    expect(head.payloadLength).toBe(bin.length);
    // Local info nested 100 000 deep ({ d: [[[…1]]] }): finding its end does not recurse, and
    // whatever decoding it does, the caller sees a DecodeError at worst, never a stack overflow.
    const deepBytes = Buffer.concat([Buffer.from([0x94, 0x90, 0x90, 0x81, 0xa1, 0x64]), Buffer.alloc(100_000, 0x91), Buffer.from([0x01, 0xc4, 0x00])]);
    let error: unknown;
    try {
      decodeEnvelopeHead(deepBytes, "local");
    } catch (e) {
      error = e;
    }
    expect(error === undefined || error instanceof DecodeError).toBe(true);
    expect(() => decodeEnvelopeHead(Buffer.from([0x94, 0x90, 0x90, 0x81, 0xa1, 0x64, 0xc1, 0xc4, 0x00]), "local")).toThrow(DecodeError);
    expect(() => decodeEnvelopeHead(Buffer.from([0x94, 0x90, 0x90, 0x82, 0xa1, 0x64, 0x01, 0xc4, 0x00]), "local")).toThrow(DecodeError);
  });
});

describe("EnvelopeHeadDecoder (per-stream head cache)", () => {
  it("with maxHeadCost, holds no costlier head for repeats, and release(true) lets go of its routes; a cheap head stays (a secure channel end's decoder)", () => {
    const decoder = new EnvelopeHeadDecoder({ returnPrefix: new Address(0, "end"), maxHeadCost: 2048, maxKeptHeadBytes: 4096 });
    const frame = (onward: Address[], payload = "p") => Buffer.from(encodeEnvelope(new LocalMessage(new Route(onward), new Route([new Address(0, "peer")]), Buffer.from(payload)), "network"));
    // 20 hops of 40 characters: ≈ 0.9 KiB of head (under the 1 KiB a decoder caches), ≈ 3.4 KiB as keptHeadCost counts it.
    const costly = frame(Array.from({ length: 20 }, (_, i) => new Address(0, `${i}`.padEnd(40, "x"))));
    decoder.decode(costly, 0, costly.length);
    const first = decoder.onwardRoute;
    expect(first.length).toBe(20);
    expect(keptHeadCost(decoder.payloadOffset - 5, first, decoder.returnRoute)).toBeGreaterThan(2048);
    decoder.decode(costly, 0, costly.length);
    expect(decoder.onwardRoute).not.toBe(first); // decoded afresh: not held for repeats
    expect(decoder.keptHeadBytes).toBe(0); // nor kept on its second sighting
    decoder.release(true);
    expect(decoder.onwardRoute.length).toBe(0);
    expect(decoder.returnRoute.length).toBe(0);
    // A cheap head is held as before, and release(true) leaves it (its repeats may follow in the next record).
    const cheap = frame([new Address(0, "sink")]);
    decoder.decode(cheap, 0, cheap.length);
    const routes = decoder.onwardRoute;
    decoder.release(true);
    expect(decoder.onwardRoute).toBe(routes);
    decoder.decode(cheap, 0, cheap.length);
    expect(decoder.onwardRoute).toBe(routes);
    // Kept heads stay within maxKeptHeadBytes: cheap heads alternating, each seen twice.
    const many = Array.from({ length: 16 }, (_, i) => frame([new Address(0, `w${i}`)]));
    for (let k = 0; k < 2; k++) for (const f of many) decoder.decode(f, 0, f.length);
    expect(decoder.keptHeadBytes).toBeGreaterThan(0);
    expect(decoder.keptHeadBytes).toBeLessThanOrEqual(4096);
  });

  it("reuses the routes of a repeated head, decodes a changed one, and checks the payload length either way", () => {
    const prefix = new Address(0, "conn-sender");
    const decoder = new EnvelopeHeadDecoder({ returnPrefix: prefix });
    const onward = new Route([new Address(0, "echoer")]);
    const ret = new Route([new Address(0, "app"), new Address(1, "10.0.0.1:4000")]);
    const bytes = (payload: Buffer, o = onward, r = ret) => Buffer.from(encodeEnvelope(new LocalMessage(o, r, payload), "network"));
    const payload = (b: Buffer, end = b.length) => b.subarray(decoder.payloadOffset, end);

    decoder.decode(bytes(Buffer.from("one")), 0, bytes(Buffer.from("one")).length);
    const firstOnward = decoder.onwardRoute;
    const firstReturn = decoder.returnRoute;
    expect(firstReturn.toString()).toBe("0#conn-sender => 0#app => 1#10.0.0.1:4000");
    const second = bytes(Buffer.from("second payload"));
    decoder.decode(second, 0, second.length);
    expect(decoder.onwardRoute).toBe(firstOnward);
    expect(decoder.returnRoute).toBe(firstReturn);
    expect(payload(second).toString()).toBe("second payload");
    expect(payload(second).buffer).toBe(second.buffer);
    expect(decoder.payloadLength).toBe("second payload".length);

    // A frame inside a larger chunk.
    const chunk = Buffer.concat([Buffer.from("xx"), second, Buffer.from("yy")]);
    decoder.decode(chunk, 2, 2 + second.length);
    expect(payload(chunk, 2 + second.length).toString()).toBe("second payload");

    const other = bytes(Buffer.from("3"), new Route([new Address(0, "sink")]));
    decoder.decode(other, 0, other.length);
    expect(decoder.onwardRoute.toString()).toBe("0#sink");
    expect(decoder.onwardRoute).not.toBe(firstOnward);

    // Same head, payload length that disagrees with the frame: malformed, cached or not.
    const bad = Buffer.concat([other, Buffer.from("!")]);
    expect(() => decoder.decode(bad, 0, bad.length)).toThrow(DecodeError);
    expect(() => new EnvelopeHeadDecoder().decode(bad, 0, bad.length)).toThrow(DecodeError);
  });

  it("decodes the head from an envelope's first piece, its payload running to envelopeEnd (a frame that spanned reads), cached head or not", () => {
    const onward = new Route([new Address(0, "echoer")]);
    const ret = new Route([new Address(0, "app")]);
    const payload = Buffer.alloc(50_000, 4);
    const whole = Buffer.from(encodeEnvelope(new LocalMessage(onward, ret, payload), "network"));
    const decoder = new EnvelopeHeadDecoder();
    // The first piece holds the head and some payload; the rest is elsewhere. Twice: the second time from the cached head.
    for (let round = 0; round < 2; round++) {
      const first = whole.subarray(0, 1_000);
      decoder.decode(first, 0, first.length, whole.length);
      expect(decoder.onwardRoute.toString()).toBe("0#echoer");
      expect(decoder.payloadLength).toBe(payload.length);
      expect(decoder.payloadOffset).toBe(whole.length - payload.length);
      // An envelope whose payload length disagrees with its announced end is malformed, cached head or not.
      expect(() => decoder.decode(first, 0, first.length, whole.length + 1)).toThrow(DecodeError);
    }
    // A first piece that ends inside the head: a DecodeError (the caller joins the pieces and decodes again).
    expect(() => new EnvelopeHeadDecoder().decode(whole.subarray(0, 5), 0, 5, whole.length)).toThrow(DecodeError);
  });

  it("never reuses the routes of a head that differs in any one byte, wherever the frame lies in its chunk", () => {
    const decoder = new EnvelopeHeadDecoder();
    const frame = Buffer.from(encodeEnvelope(new LocalMessage(new Route([new Address(0, "sink"), new Address(0, "abc")]), new Route([new Address(0, "x".repeat(33))]), Buffer.from("hello")), "network"));
    const headLength = frame.length - 5 - 5; // up to the bin32 tag and length
    // Two copies in one chunk at an odd offset, as frames lie in a socket read.
    const chunk = Buffer.alloc(7 + 2 * frame.length);
    frame.copy(chunk, 7);
    const second = 7 + frame.length;
    decoder.decode(chunk, 7, second);
    let onward = decoder.onwardRoute;
    let back = decoder.returnRoute;
    for (let i = 0; i < headLength; i++) {
      frame.copy(chunk, second);
      chunk[second + i]! ^= 0x01;
      let reused = false;
      try {
        decoder.decode(chunk, second, chunk.length);
        reused = decoder.onwardRoute === onward || decoder.returnRoute === back;
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError);
      }
      expect(reused, `byte ${i}`).toBe(false);
      decoder.decode(chunk, 7, second); // the original again: cached anew
      onward = decoder.onwardRoute;
      back = decoder.returnRoute;
      decoder.decode(chunk, 7, second);
      expect(decoder.onwardRoute).toBe(onward); // and reused
    }
  });

  it("reuses the routes of heads that alternate (many channels over one connection) from their second sighting", () => {
    const decoder = new EnvelopeHeadDecoder({ returnPrefix: new Address(0, "conn-sender") });
    const frames = Array.from({ length: 50 }, (_, i) =>
      Buffer.from(encodeEnvelope(new LocalMessage(new Route([new Address(0, `decryptor-${i}`)]), new Route([new Address(0, `encryptor-${i}`)]), Buffer.from(`p${i}`)), "network")),
    );
    const decodeAll = () =>
      frames.map((frame, i) => {
        decoder.decode(frame, 0, frame.length);
        expect(decoder.onwardRoute.toString()).toBe(`0#decryptor-${i}`);
        expect(frame.subarray(decoder.payloadOffset).toString()).toBe(`p${i}`);
        return decoder.onwardRoute;
      });
    const first = decodeAll();
    const second = decodeAll(); // second sighting: decoded again, then kept
    second.forEach((onward, i) => expect(onward).not.toBe(first[i]));
    const third = decodeAll();
    third.forEach((onward, i) => expect(onward).toBe(second[i]));
  });

  it("keeps a head from its second sighting, in a copy of its own: past its first arena and past 1,024 kept heads, with frames in one reused buffer", () => {
    const decoder = new EnvelopeHeadDecoder();
    const buffer = Buffer.alloc(256); // every frame is written here, over the one before
    const decodeHead = (i: number): Route => {
      const frame = encodeEnvelope(new LocalMessage(new Route([new Address(0, `handshake-${i}`)]), new Route([new Address(0, "app")]), Buffer.from("x")), "network");
      buffer.set(frame);
      decoder.decode(buffer, 0, frame.length);
      expect(decoder.onwardRoute.toString()).toBe(`0#handshake-${i}`);
      expect(decoder.payloadLength).toBe(1);
      return decoder.onwardRoute;
    };
    // Waves of 128 heads: 8 of them keep 1,024 heads (the arena grows from 1 KiB to hold them),
    // and the 9th starts over with a fresh arena.
    const firstWave: Route[] = [];
    for (let wave = 0; wave < 10; wave++) {
      const ids = Array.from({ length: 128 }, (_, k) => wave * 128 + k);
      const first = ids.map(decodeHead); // seen once: not kept
      const second = ids.map(decodeHead); // seen twice: decoded again, and kept
      second.forEach((routes, k) => expect(routes).not.toBe(first[k]));
      const third = [...ids].reverse().map(decodeHead).reverse(); // kept: the same routes
      third.forEach((routes, k) => expect(routes).toBe(second[k]));
      if (wave === 0) firstWave.push(...second);
    }
    // The first wave went with the start over: decoded again (same addresses, new routes).
    const again = decodeHead(0);
    expect(again).not.toBe(firstWave[0]);
  });

  it("never reuses a kept head's routes for a head that differs from it in any one byte", () => {
    const decoder = new EnvelopeHeadDecoder();
    const make = (name: string) => Buffer.from(encodeEnvelope(new LocalMessage(new Route([new Address(0, name), new Address(1, "127.0.0.1:4000")]), new Route([new Address(0, "app")]), Buffer.from("x")), "network"));
    const a = make("alpha");
    const b = make("bravo");
    for (let i = 0; i < 2; i++) for (const frame of [a, b]) decoder.decode(frame, 0, frame.length);
    decoder.decode(a, 0, a.length);
    const kept = decoder.onwardRoute;
    for (let i = 0; i < a.length - 6; i++) {
      decoder.decode(b, 0, b.length); // the last head is b's: a's is found among the kept ones
      const changed = Buffer.from(a);
      changed[i]! ^= 0x01;
      try {
        decoder.decode(changed, 0, changed.length);
        expect(decoder.onwardRoute, `byte ${i}`).not.toBe(kept);
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError);
      }
      decoder.decode(a, 0, a.length);
      expect(decoder.onwardRoute).toBe(kept);
    }
  });

  it("keeps its own copy of the head: reusing the frame's buffer does not fool it", () => {
    const decoder = new EnvelopeHeadDecoder();
    const buffer = Buffer.from(encodeEnvelope(new LocalMessage(new Route([new Address(0, "aa")]), Route.EMPTY, Buffer.from("1")), "network"));
    decoder.decode(buffer, 0, buffer.length);
    expect(decoder.onwardRoute.toString()).toBe("0#aa");
    buffer.set(encodeEnvelope(new LocalMessage(new Route([new Address(0, "bb")]), Route.EMPTY, Buffer.from("2")), "network"));
    decoder.decode(buffer, 0, buffer.length);
    expect(decoder.onwardRoute.toString()).toBe("0#bb");
  });

  it("release() lets go of the last buffer (nothing else keeps it alive) and keeps the head cache", () => {
    // Whether a buffer is still reachable shows only after a collection: a child process with --expose-gc.
    const script = `
      import { Address, EnvelopeHeadDecoder, LocalMessage, Route, encodeEnvelope } from "@hopwire/runtime";
      const frame = (p) => new Uint8Array(encodeEnvelope(new LocalMessage(new Route([new Address(0, "sink")]), Route.EMPTY, Buffer.from(p)), "network")); // its own ArrayBuffer (not Buffer's shared pool)
      const alive = async (release) => {
        const decoder = new EnvelopeHeadDecoder();
        const first = frame("w"); // caches the head: the next frame takes the path that keeps its buffer
        decoder.decode(first, 0, first.length);
        let ref;
        (() => { const b = frame("x".repeat(4096)); ref = new WeakRef(b.buffer); decoder.decode(b, 0, b.length); })();
        const routes = decoder.onwardRoute;
        if (release) decoder.release();
        await new Promise((r) => setImmediate(r)); // a WeakRef holds its target until the job that made it ends
        globalThis.gc();
        const next = frame("y");
        decoder.decode(next, 0, next.length);
        if (decoder.onwardRoute !== routes || decoder.payloadLength !== 1) throw new Error("head cache lost");
        return ref.deref() !== undefined;
      };
      console.log(JSON.stringify({ kept: await alive(false), released: !(await alive(true)) }));`;
    const out = execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8", cwd: fileURLToPath(new URL(".", import.meta.url)) });
    expect(JSON.parse(out)).toEqual({ kept: true, released: true });
  });

  it("never takes a local envelope from a stream", () => {
    const local = Buffer.from(encodeEnvelope(new LocalMessage(new Route([new Address(0, "a")]), Route.EMPTY, Buffer.from("x"), { peer: "P" }), "local"));
    expect(() => new EnvelopeHeadDecoder().decode(local, 0, local.length)).toThrow(DecodeError);
  });
});
