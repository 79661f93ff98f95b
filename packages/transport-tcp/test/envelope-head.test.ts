import { describe, expect, it } from "vitest";
import { Address, LocalMessage, Route, decodeEnvelope, encodeEnvelope, encodeEnvelopeHead, encodeBody } from "@hopwire/runtime";
import { MalformedFrameError } from "@hopwire/transport-tcp";
import { headBound, readEnvelope, writeHead } from "../dist/envelope-head.js";

const values = [
  "a",
  "echoer",
  "0123456789abcdef0123456789abcdef",
  "127.0.0.1:4000",
  "x".repeat(31),
  "y".repeat(32),
  "z".repeat(255),
  "w".repeat(256),
  "v".repeat(70_000),
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
  // The sender writes the onward route without its own (first) hop.
  const own = new Route([Address.random(), ...message.onwardRoute.addresses]);
  const out = Buffer.alloc(headBound(own.addresses, 1, message.returnRoute.addresses));
  const end = writeHead(out, 0, own.addresses, 1, message.returnRoute.addresses, message.payload.length);
  return out.subarray(0, end);
}

describe("envelope head", () => {
  it("writes exactly the bytes of the runtime's encodeEnvelopeHead", () => {
    for (let seed = 0; seed < 60; seed++) {
      const lengths = [0, 1, 2, 15, 16, 17][seed % 6]!;
      const message = new LocalMessage(randomRoute(seed, lengths), randomRoute(seed + 1, (seed * 7) % 5), encodeBody(`payload ${seed}`));
      expect(writeWithOwnHop(message).toString("hex")).toBe(Buffer.from(encodeEnvelopeHead(message, "network")).toString("hex"));
    }
  });

  it("reads what the runtime encodes, with the payload as a view of the frame", () => {
    for (let seed = 0; seed < 60; seed++) {
      const payload = Buffer.alloc(seed * 97, seed);
      const message = new LocalMessage(randomRoute(seed, seed % 18), randomRoute(seed + 2, seed % 4), payload);
      const frame = Buffer.from(encodeEnvelope(message, "network"));
      const decoded = readEnvelope(frame);
      expect(new Route(decoded.onward).equals(message.onwardRoute)).toBe(true);
      expect(new Route(decoded.returnRoute).equals(message.returnRoute)).toBe(true);
      expect(decoded.payload.equals(payload)).toBe(true);
      expect(decoded.payload.buffer).toBe(frame.buffer);
      // And the runtime reads what this writer writes.
      const ours = Buffer.concat([writeWithOwnHop(message), payload]);
      const back = decodeEnvelope(ours, "network");
      expect(back.onwardRoute.equals(message.onwardRoute) && back.returnRoute.equals(message.returnRoute)).toBe(true);
    }
  });

  it("accepts the other valid msgpack spellings (array16, uint8 type, str8, bin8)", () => {
    const frame = Buffer.from([
      0xdc, 0x00, 0x03, // envelope as array16
      0x91, 0x92, 0xcc, 0x00, 0xd9, 0x01, 0x61, // onward: [[0 as uint8, "a" as str8]]
      0x90, // return: []
      0xc4, 0x02, 0xaa, 0xbb, // payload as bin8
    ]);
    const decoded = readEnvelope(frame);
    expect(decoded.onward[0]!.key).toBe("a");
    expect(decoded.payload.toString("hex")).toBe("aabb");
  });

  it("rejects malformed envelopes with a MalformedFrameError that never quotes the bytes", () => {
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
      ["address type over 255", Buffer.from([0x93, 0x91, 0x92, 0xcd, 0x01, 0x00, 0xa1, 0x61, 0x90, 0xc4, 0x00])],
      ["empty address value", Buffer.from([0x93, 0x91, 0x92, 0x00, 0xa0, 0x90, 0xc4, 0x00])],
      ["absurd route length", Buffer.from([0x93, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x90, 0xc4, 0x00])],
    ];
    for (const [name, bytes] of cases) {
      let error: unknown;
      try {
        readEnvelope(bytes);
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(MalformedFrameError);
      expect((error as MalformedFrameError).code).toBe("TCP_FRAME_MALFORMED");
      expect((error as Error).message).not.toContain("SECRET");
    }
  });
});

describe("EnvelopeDecoder (per-connection head cache)", () => {
  it("reuses the routes of a repeated head, decodes a changed one, and checks the payload length either way", async () => {
    const { EnvelopeDecoder } = await import("../dist/envelope-head.js");
    const prefix = new Address(0, "conn-sender");
    const decoder = new EnvelopeDecoder(prefix);
    const onward = new Route([new Address(0, "echoer")]);
    const ret = new Route([new Address(0, "app"), new Address(1, "10.0.0.1:4000")]);
    const bytes = (payload: Buffer, o = onward, r = ret) => Buffer.from(encodeEnvelope(new LocalMessage(o, r, payload), "network"));

    decoder.decode(bytes(Buffer.from("one")), 0, bytes(Buffer.from("one")).length);
    const firstOnward = decoder.onward;
    const firstReturn = decoder.returnRoute;
    expect(firstReturn.toString()).toBe("0#conn-sender => 0#app => 1#10.0.0.1:4000");
    const second = bytes(Buffer.from("second payload"));
    decoder.decode(second, 0, second.length);
    expect(decoder.onward).toBe(firstOnward);
    expect(decoder.returnRoute).toBe(firstReturn);
    expect(decoder.payload.toString()).toBe("second payload");
    expect(decoder.payload.buffer).toBe(second.buffer);

    // A frame inside a larger chunk.
    const chunk = Buffer.concat([Buffer.from("xx"), second, Buffer.from("yy")]);
    decoder.decode(chunk, 2, 2 + second.length);
    expect(decoder.payload.toString()).toBe("second payload");

    const other = bytes(Buffer.from("3"), new Route([new Address(0, "sink")]));
    decoder.decode(other, 0, other.length);
    expect(decoder.onward.toString()).toBe("0#sink");
    expect(decoder.onward).not.toBe(firstOnward);

    // Same head, payload length that disagrees with the frame: malformed, cached or not.
    const bad = Buffer.concat([other, Buffer.from("!")]);
    expect(() => decoder.decode(bad, 0, bad.length)).toThrow(MalformedFrameError);
    expect(() => new EnvelopeDecoder(undefined).decode(bad, 0, bad.length)).toThrow(MalformedFrameError);
  });
});
