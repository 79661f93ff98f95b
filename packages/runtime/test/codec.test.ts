import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import {
  Address,
  DecodeError,
  EncodeError,
  LocalMessage,
  Route,
  decodeBody,
  decodeEnvelope,
  encodeBody,
  encodeEnvelope,
  encodeEnvelopeHead,
  envelopeHeadBound,
  route,
  writeEnvelopeHead,
} from "@hopwire/runtime";
// Internal: how a send lends a bytes body to a mailbox that copies it (not public API).
import { lentBytesParts } from "../dist/codec/body.js";

// An independent msgpack writer: what the envelope head must be byte for byte.
const reference = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
const wire = (r: Route) => r.addresses.map((a) => [a.type, a.value]);
function referenceHead(m: LocalMessage, scope: "network" | "local"): Uint8Array {
  const parts = [Uint8Array.of(scope === "network" ? 0x93 : 0x94), reference.pack(wire(m.onwardRoute)), reference.pack(wire(m.returnRoute))];
  if (scope === "local") parts.push(reference.pack(m.localInfo));
  const bin = new Uint8Array(5);
  bin[0] = 0xc6;
  new DataView(bin.buffer).setUint32(1, m.payload.length);
  return Buffer.concat([...parts, bin]);
}

const message = new LocalMessage(route("a => 1#h:4000"), route("app"), encodeBody("hello"), { peer: "P1" });

describe("the msgpack library the runtime loads", () => {
  // Loaded on first use (a process that only moves bytes never needs it), as msgpackr's one-file
  // CommonJS build, which costs less than its ES module entry. The body and envelope tests
  // below compare the bytes with what msgpackr's ES module entry writes (`reference`).
  it("is none at import; on the first body that needs it, msgpackr's one-file CommonJS build, with its native string decoding", () => {
    const script = `
      const { encodeBody, decodeBody } = await import("@hopwire/runtime");
      const { createRequire } = await import("node:module");
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes("msgpackr")).map((path) => path.slice(path.lastIndexOf("node_modules/") + 13));
      const atImport = loaded();
      decodeBody(encodeBody(new Uint8Array(3))); // bytes: written and read by hand
      const afterBytes = loaded();
      const hello = decodeBody(encodeBody("hello"));
      console.log(JSON.stringify({ atImport, afterBytes, hello, afterString: loaded() }));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: fileURLToPath(new URL(".", import.meta.url)) });
    const { atImport, afterBytes, hello, afterString } = JSON.parse(out) as { atImport: string[]; afterBytes: string[]; hello: string; afterString: string[] };
    expect(atImport).toEqual([]);
    expect(afterBytes).toEqual([]);
    expect(hello).toBe("hello");
    expect(afterString).toContain("msgpackr/dist/node.cjs");
    expect(afterString.some((path) => path.startsWith("msgpackr-extract/"))).toBe(true);
  });
});

describe("body codec", () => {
  it("round-trips strings, bytes and structured values", () => {
    for (const v of ["Hello Ockam!", "", 42, null, true, [1, "two"], { a: { b: [1, 2] } }]) expect(decodeBody(encodeBody(v))).toEqual(v);
    const bytes = new Uint8Array([1, 2, 3]);
    expect(Uint8Array.from(decodeBody(encodeBody(bytes)) as Uint8Array)).toEqual(bytes);
  });

  it("carries an object of 65,536 keys or more (a map32), and still names a function inside one", () => {
    // msgpackr's default writer sizes every object in 16 bits and refused these with an EncodeError.
    const wide: Record<string, number> = {};
    for (let i = 0; i < 70_000; i++) wide[`k${i}`] = i;
    const bytes = encodeBody({ nested: wide, after: "x" });
    const back = decodeBody(bytes) as { nested: Record<string, number>; after: string };
    expect([Object.keys(back.nested).length, back.nested.k0, back.nested.k69999, back.after]).toEqual([70_000, 0, 69_999, "x"]);
    const withFunction = { ...wide, onDone: () => {} };
    expect(() => encodeBody(withFunction)).toThrow(expect.objectContaining({ code: "ENCODE_FAILED", path: "body.onDone" }));
  });

  it("writes bytes exactly as msgpack's bin8/16/32 (the hand-written fast path)", () => {
    for (const n of [0, 1, 255, 256, 65_535, 65_536, 70_000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => i * 7);
      expect(Buffer.from(encodeBody(bytes)).equals(Buffer.from(reference.pack(Buffer.from(bytes))))).toBe(true);
      expect(Buffer.from(decodeBody(encodeBody(bytes)) as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it("carves small bytes bodies from one slab, each a copy made at the send, and gives a large one its own buffer", () => {
    // Node's 8 KiB pool took a fresh ArrayBuffer every seven 1 KiB bodies (microseconds each here).
    const source = Uint8Array.from({ length: 1024 }, (_, i) => i & 0xff);
    const first = encodeBody(source);
    const second = encodeBody(source);
    expect(second.buffer).toBe(first.buffer);
    expect(first.buffer.byteLength).toBe(64 * 1024);
    expect(second.byteOffset % 8).toBe(0);
    source.fill(0); // the caller may reuse its buffer at once: the bodies hold their own copies
    for (const body of [first, second]) expect((decodeBody(body) as Uint8Array).every((b, i) => b === (i & 0xff))).toBe(true);
    const large = encodeBody(new Uint8Array(5000).fill(9));
    expect([large.byteOffset, large.buffer.byteLength]).toEqual([0, 5003]);
    // Each slab is written once: a body never shares bytes with an earlier one.
    const bodies = Array.from({ length: 200 }, (_, k) => encodeBody(new Uint8Array(1000).fill(k)));
    bodies.forEach((body, k) => expect((decodeBody(body) as Uint8Array).every((b) => b === k)).toBe(true));
  });

  it("lends a bytes body as parts that join to its encoded body, without copying the caller's bytes", () => {
    const headers: Uint8Array[] = [];
    for (const n of [0, 1, 255, 256, 65_535, 65_536, 70_000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => i * 7);
      const parts = lentBytesParts(bytes);
      expect(parts[1]).toBe(bytes);
      expect(Buffer.concat(parts).equals(Buffer.from(encodeBody(bytes)))).toBe(true);
      headers.push(Uint8Array.from(parts[0]!));
    }
    // A header made for one length is never rewritten for another (an earlier message may still hold it).
    const first = lentBytesParts(new Uint8Array(3))[0]!;
    lentBytesParts(new Uint8Array(300));
    expect([...first]).toEqual([0xc4, 3]);
    expect(headers.map((h) => h.length)).toEqual([2, 2, 2, 3, 3, 5, 5]);
  });

  it("reads a bin body as msgpackr does: a view of the payload, of its class; a bin that does not fill the payload is an error", () => {
    for (const n of [0, 1, 255, 256, 65_535, 65_536, 70_000]) {
      const wire = Buffer.from(reference.pack(Buffer.from(Uint8Array.from({ length: n }, (_, i) => i * 3))));
      for (const payload of [wire, new Uint8Array(wire.buffer.slice(wire.byteOffset, wire.byteOffset + wire.length))]) {
        const ours = decodeBody(payload) as Uint8Array;
        const theirs = reference.unpack(payload) as Uint8Array;
        expect(ours.constructor).toBe(theirs.constructor);
        expect(ours.buffer).toBe(payload.buffer);
        expect(ours.byteOffset).toBe(theirs.byteOffset);
        expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
      }
    }
    expect(() => decodeBody(Uint8Array.of(0xc4, 3, 1, 2))).toThrow(DecodeError);
    expect(() => decodeBody(Uint8Array.of(0xc4, 1, 1, 2))).toThrow(DecodeError);
    expect(() => decodeBody(Uint8Array.of(0xc5, 0))).toThrow(DecodeError);
  });

  it("keeps Address and Route classes inside bodies", () => {
    const v = decodeBody(encodeBody({ to: Address.parse("1#h:1"), via: route("a => b") })) as { to: Address; via: Route };
    expect(v.to).toBeInstanceOf(Address);
    expect(v.to.toString()).toBe("1#h:1");
    expect(v.via).toBeInstanceOf(Route);
    expect(v.via.toString()).toBe("0#a => 0#b");
  });

  it("throws EncodeError for values msgpack cannot hold, DecodeError for bytes that are not msgpack", () => {
    expect(() => encodeBody(Symbol("s"))).toThrow(EncodeError);
    expect(() => encodeBody(2n ** 70n)).toThrow(EncodeError);
    expect(() => decodeBody(Uint8Array.of(0xd9, 0x05, 0x61))).toThrow(DecodeError);
    expect(() => decodeBody(Uint8Array.of(0x92, 0x01))).toThrow(DecodeError);
  });

  it("a map with an object key cannot be decoded: the DecodeError says so (and what to send instead), never quoting the body", () => {
    const payload = encodeBody({ secret: "s3cr3t", index: new Map([[{ userId: 1 }, "hidden-42"]]) });
    let error: unknown;
    try {
      decodeBody(payload);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as Error).message).toMatch(/^The body holds a map with a key that is not a string or a number \(e\.g\. a Map with object keys\).*string or number keys/);
    expect((error as Error).message).not.toMatch(/s3cr3t|hidden-42|userId/);
    // Other bytes that are not a body keep the general message.
    expect(() => decodeBody(Uint8Array.of(0x92, 0x01))).toThrow(/^The payload is not a msgpack-encoded body$/);
  });

  it("throws EncodeError naming the path of a function, a symbol or a too-wide bigint (never encodes it as nil)", () => {
    const pathOf = (body: unknown): string | undefined => {
      try {
        encodeBody(body);
      } catch (error) {
        expect(error).toBeInstanceOf(EncodeError);
        expect((error as EncodeError).code).toBe("ENCODE_FAILED");
        return (error as EncodeError).path;
      }
      throw new Error("expected an EncodeError");
    };
    expect(pathOf(() => 1)).toBe("body");
    expect(pathOf({ a: [1, { onDone() {} }] })).toBe("body.a[1].onDone");
    expect(pathOf({ "odd key": Symbol("s") })).toBe('body["odd key"]');
    expect(pathOf([0, 2n ** 70n])).toBe("body[1]");
    expect(pathOf(new Map([["k", () => 0]]))).toBe("body.get(k)");
    expect(() => encodeBody(class {})).toThrow(/body is a function/);
    // A cycle is named where it closes; an object shared (not enclosing itself) is no cycle.
    const loop: { items: unknown[] } = { items: [] };
    loop.items.push({ parent: loop });
    expect(pathOf(loop)).toBe("body.items[0].parent");
    expect(() => encodeBody(loop)).toThrow(/body\.items\[0\]\.parent is a reference back to an object that contains it \(a cycle\)/);
    const shared = { n: 1 };
    expect(decodeBody(encodeBody({ a: shared, b: shared }))).toEqual({ a: { n: 1 }, b: { n: 1 } });
    // The packer is fine after a refusal.
    expect(decodeBody(encodeBody({ ok: [1, "two"] }))).toEqual({ ok: [1, "two"] });
  });
});

describe("envelope codec", () => {
  it("round-trips a local envelope with its local info", () => {
    const decoded = decodeEnvelope(encodeEnvelope(message, "local"), "local");
    expect(decoded.onwardRoute.equals(message.onwardRoute)).toBe(true);
    expect(decoded.returnRoute.equals(message.returnRoute)).toBe(true);
    expect(decoded.localInfo).toEqual({ peer: "P1" });
    expect(decodeBody(decoded.payload)).toBe("hello");
  });

  it("local info that repeats under other routes decodes to the same frozen object (a channel's requests to a thread)", () => {
    // Each request has a reply address of its own, so the whole head never repeats; its local info (the peer) does.
    const info = { "hopwire.secureChannel.identifier": "I" + "ab".repeat(32), n: 7, ok: true, none: null };
    const envelope = (replyTo: string) => encodeEnvelope(new LocalMessage(route("echoer"), route("conn", replyTo), encodeBody("x"), info), "local");
    const first = decodeEnvelope(envelope("0#reply-1"), "local");
    const second = decodeEnvelope(envelope("0#reply-2"), "local");
    expect(second.returnRoute.toString()).toContain("reply-2");
    expect(second.localInfo).toBe(first.localInfo);
    expect(Object.isFrozen(second.localInfo)).toBe(true);
    expect(second.localInfo).toEqual(info);
    // Other local info in between, then the first again: each decodes to its own value.
    const other = decodeEnvelope(encodeEnvelope(new LocalMessage(route("echoer"), route("conn"), encodeBody("y"), { peer: "Q" }), "local"), "local");
    expect(other.localInfo).toEqual({ peer: "Q" });
    expect(decodeEnvelope(envelope("0#reply-3"), "local").localInfo).toEqual(info);
  });

  it("the local info of a few channels whose messages alternate each decode to one frozen object (a thread serving several clients)", () => {
    const peer = (n: number) => ({ "hopwire.secureChannel.identifier": "I" + String(n).repeat(64) });
    const envelope = (n: number, reply: number) =>
      encodeEnvelope(new LocalMessage(route("echoer"), route(`conn${n}`, `0#reply-${reply}`), encodeBody("x"), peer(n)), "local");
    const firstRound = [1, 2, 3, 4].map((n) => decodeEnvelope(envelope(n, n), "local").localInfo);
    for (let round = 1; round <= 3; round++) {
      const again = [1, 2, 3, 4].map((n) => decodeEnvelope(envelope(n, 10 * round + n), "local").localInfo);
      for (let i = 0; i < 4; i++) expect(again[i], `channel ${i + 1}, round ${round}`).toBe(firstRound[i]);
    }
    expect(firstRound.map((info) => Object.isFrozen(info))).toEqual([true, true, true, true]);
    expect(firstRound[2]).toEqual(peer(3));
  });

  it("local info of the same length but other bytes is its own, and so is local info written in place over a reused Buffer", () => {
    const peer = (id: string) => ({ "hopwire.secureChannel.identifier": id });
    const envelope = (id: string) => encodeEnvelope(new LocalMessage(route("echoer"), route("conn", "0#r"), encodeBody("x"), peer(id)), "local");
    const a = "I" + "ab".repeat(32);
    const c = "I" + "cd".repeat(32);
    expect([a, c, a].map((id) => decodeEnvelope(envelope(id), "local").localInfo)).toEqual([peer(a), peer(c), peer(a)]);
    // One Buffer, reused by its owner for each envelope: whatever is kept of it must be a copy, not a view of it.
    const reused = Buffer.alloc(envelope(a).length);
    const decodeIn = (id: string) => {
      reused.set(envelope(id));
      return decodeEnvelope(reused, "local").localInfo;
    };
    expect([decodeIn(a), decodeIn(c), decodeIn(a), decodeIn(c)]).toEqual([peer(a), peer(c), peer(a), peer(c)]);
  });

  it("local info holding an object or bytes is decoded afresh for every envelope, so no handler shares it", () => {
    const info = { nested: { count: 1 }, bytes: Uint8Array.of(1, 2, 3) };
    const envelope = encodeEnvelope(new LocalMessage(route("a"), route("b"), encodeBody("x"), info), "local");
    const first = decodeEnvelope(envelope, "local");
    const second = decodeEnvelope(envelope, "local");
    expect(second.localInfo).not.toBe(first.localInfo);
    (first.localInfo.nested as { count: number }).count = 2;
    (first.localInfo.bytes as Uint8Array)[0] = 9;
    expect(second.localInfo).toEqual({ nested: { count: 1 }, bytes: Uint8Array.of(1, 2, 3) });
  });

  it("never writes local info into a network envelope", () => {
    const bytes = encodeEnvelope(message, "network");
    expect(Buffer.from(bytes).includes(Buffer.from("P1"))).toBe(false);
    const decoded = decodeEnvelope(bytes, "network");
    expect(decoded.localInfo).toEqual({});
    expect(decodeBody(decoded.payload)).toBe("hello");
  });

  it("returns the payload as a view into the input, not a copy", () => {
    const bytes = encodeEnvelope(message, "network");
    const decoded = decodeEnvelope(bytes, "network");
    expect(decoded.payload.buffer).toBe(bytes.buffer);
    expect(decoded.payload.byteOffset + decoded.payload.length).toBe(bytes.byteOffset + bytes.length);
  });

  it("writes a head that is the envelope minus its payload, byte-identical to msgpackr", () => {
    const long = "w".repeat(1024); // MAX_ADDRESS_VALUE_BYTES: str16, as str32 is no longer a valid length
    const routes: [Route, Route][] = [
      [route("a"), route("app")],
      [Route.EMPTY, Route.EMPTY],
      [route(`1#127.0.0.1:4000 => ${"y".repeat(31)} => ${"y".repeat(32)}`), route("z".repeat(255))],
      [route(`${"q".repeat(256)} => ${"é".repeat(20)} => 日本語 => 200#v => 127#w => 128#u`), route("x")],
      [route(long), route(Array.from({ length: 17 }, (_, i) => `h${i}`).join(" => "))],
    ];
    for (const [onward, back] of routes) {
      for (const localInfo of [undefined, { peer: "P", n: 1 }]) {
        const m = new LocalMessage(onward, back, encodeBody("payload"), localInfo);
        for (const scope of ["local", "network"] as const) {
          const head = encodeEnvelopeHead(m, scope);
          expect(Buffer.from(head).equals(Buffer.from(referenceHead(m, scope))), `${onward.toString().slice(0, 40)} ${scope}`).toBe(true);
          expect(Buffer.concat([head, m.payload]).equals(Buffer.from(encodeEnvelope(m, scope)))).toBe(true);
          expect(decodeEnvelope(encodeEnvelope(m, scope), scope).onwardRoute.equals(onward)).toBe(true);
        }
      }
    }
  });

  it("returns a head the caller owns (an exact, fresh buffer)", () => {
    const a = encodeEnvelopeHead(message, "local");
    const b = encodeEnvelopeHead(new LocalMessage(route("other"), route("x"), encodeBody(1)), "local");
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(a.length);
    expect(a.buffer).not.toBe(b.buffer);
    expect(Buffer.from(a).equals(Buffer.from(encodeEnvelopeHead(message, "local")))).toBe(true);
  });

  it("writes heads in place, within their bound, for many envelopes in one buffer", () => {
    const messages = [
      message,
      new LocalMessage(route("x => y"), route("z"), encodeBody(1), { peer: "P2" }),
      new LocalMessage(route("x"), route("日本語 => 1#h:1"), encodeBody(new Uint8Array(300))),
      message,
    ];
    const target = Buffer.alloc(4096);
    let at = 7;
    for (const m of messages) {
      for (const scope of ["local", "network"] as const) {
        const end = writeEnvelopeHead(target, at, m, scope);
        expect(end - at).toBeLessThanOrEqual(envelopeHeadBound(m, scope));
        // Local info is cached per object: alternating objects must still give their own bytes.
        expect(target.subarray(at, end).equals(Buffer.from(encodeEnvelopeHead(m, scope)))).toBe(true);
        expect(target.subarray(at, end).equals(Buffer.from(referenceHead(m, scope)))).toBe(true);
        at = end;
      }
    }
  });

  it("rejects a 4-element envelope from the network and a 3-element one between threads", () => {
    expect(() => decodeEnvelope(encodeEnvelope(message, "local"), "network")).toThrow(DecodeError);
    expect(() => decodeEnvelope(encodeEnvelope(message, "network"), "local")).toThrow(DecodeError);
  });

  it("rejects malformed envelopes with DecodeError", () => {
    const bin = Uint8Array.of(1);
    const cases: [string, Uint8Array][] = [
      ["not msgpack", Uint8Array.of(0xd9, 0x05, 0x61)],
      ["truncated", encodeEnvelope(message, "network").subarray(0, 10)],
      ["trailing bytes", Buffer.concat([encodeEnvelope(message, "network"), Uint8Array.of(0xc0)])],
      ["not an array", reference.pack({ a: 1 })],
      ["payload not bytes", reference.pack([[], [], "text"])],
      ["route not an array", reference.pack([{}, [], bin])],
      ["address not a pair", reference.pack([[[0]], [], bin])],
      ["address type not a number", reference.pack([[["0", "a"]], [], bin])],
      ["address type out of range", reference.pack([[[300, "a"]], [], bin])],
      ["empty address value", reference.pack([[[0, ""]], [], bin])],
    ];
    for (const [what, bytes] of cases) expect(() => decodeEnvelope(bytes, "network"), what).toThrow(DecodeError);
    expect(() => decodeEnvelope(reference.pack([[], [], "not a map", bin]), "local")).toThrow(DecodeError);
    expect(() => decodeEnvelope(reference.pack([[], [], [1], bin]), "local")).toThrow(DecodeError);
  });
});

describe("decode errors never quote the bytes they could not decode", () => {
  it("an envelope followed by trailing bytes fails without carrying its payload", () => {
    const secret = "top-secret-plaintext-0123456789";
    const envelope = encodeEnvelope(new LocalMessage(route("a"), route("b"), encodeBody(secret)), "network");
    const withTrailer = new Uint8Array([...envelope, 0x01, 0x02]);
    const error = (() => {
      try {
        decodeEnvelope(withTrailer, "network");
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(DecodeError);
    const everything = `${error!.message} ${String(error!.cause)} ${JSON.stringify(error)}`;
    expect(everything).not.toContain(secret);
  });

  it("a body that is not msgpack fails without quoting it", () => {
    const secret = "another-secret-value";
    const bytes = new Uint8Array([...encodeBody(secret), 0xc1]);
    const error = (() => {
      try {
        decodeBody(bytes);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(DecodeError);
    expect(`${error!.message} ${String(error!.cause)}`).not.toContain(secret);
  });
});
