import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import { Address, LocalMessage, MAX_ROUTE_LENGTH, Route, decodeBody, decodeEnvelope, decodeEnvelopeHead, encodeBody, encodeEnvelope, route } from "@hopwire/runtime";
import { ConnectError, MAX_FRAME_LENGTH, PROTOCOL_VERSION, REPEATED_HEAD_FRAME, TcpProtocolVersionError, type TcpConnection } from "@hopwire/transport-tcp";
import { FrameReader } from "../dist/frame-reader.js";
import { closed, frame, rawClient, startNode, startResponder, type Responder } from "./support.js";

// One responder for the whole file: every bad peer must leave it, and the good connection, working.
let responder: Responder;
let initiator: Awaited<ReturnType<typeof startNode>>;
let good: TcpConnection;

beforeAll(async () => {
  responder = await startResponder();
  initiator = await startNode("initiator");
  good = await initiator.tcp.connect(responder.listener.address);
});

afterAll(async () => {
  await initiator.node.stop();
  await responder.node.stop();
});

async function stillGood(): Promise<void> {
  const body = randomBytes(8).toString("hex");
  expect(await initiator.node.sendAndReceive(route(good, "echoer"), body)).toBe(body);
  expect(good.isClosed).toBe(false);
}

/** Sends `bytes` from a raw socket, expects the responder to close it and to log `code`. */
async function expectClosedWith(bytes: Buffer, code: RegExp, endAfterWrite = false): Promise<void> {
  const raw = await rawClient(responder.listener.address);
  const port = raw.localPort;
  if (endAfterWrite) raw.end(bytes);
  else raw.write(bytes);
  await closed(raw);
  const line = await responder.log.waitFor(new RegExp(`closing the connection to 127\\.0\\.0\\.1:${port} .*${code.source}`));
  expect(line).toMatch(/warn/);
  await stillGood();
}

/** A repeated-head frame: the length word with its top bit set, then the payload alone. */
function repeated(payload: Uint8Array): Buffer {
  return Buffer.concat([lengthPrefix(REPEATED_HEAD_FRAME + payload.length), payload]);
}

function lengthPrefix(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length);
  return b;
}

const toEchoer = new LocalMessage(new Route([new Address(0, "echoer")]), Route.EMPTY, encodeBody("SECRET-PLAINTEXT"));

describe("bad input from the network", () => {
  it("a well-formed raw client gets a reply in the documented wire format", async () => {
    const raw = await rawClient(responder.listener.address, true);
    const reader = new FrameReader();
    let keepalives = 0;
    const reply = new Promise<Buffer>((resolve) =>
      raw.on("data", (chunk: Buffer) =>
        reader.push(chunk, (b, start, end, repeatsHead) => {
          expect(repeatsHead).toBe(false); // the first frame with a message carries its head
          // A frame of length 0 is a keepalive; the first one follows the version byte at once.
          if (start === end) keepalives++;
          else resolve(Buffer.from(b.subarray(start, end)));
        }),
      ),
    );
    const ret = new LocalMessage(new Route([new Address(0, "echoer")]), new Route([new Address(0, "raw-client")]), encodeBody("hi"));
    raw.write(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(encodeEnvelope(ret, "network"))]));
    raw.resume();
    const envelope = decodeEnvelope(await reply, "network");
    // The reply's onward route is what we asked replies to follow; the sender popped its own hop.
    expect(envelope.onwardRoute.toString()).toBe("0#raw-client");
    expect(envelope.returnRoute.toString()).toBe("0#echoer");
    expect(decodeBody(envelope.payload)).toBe("hi");
    expect(keepalives).toBeGreaterThanOrEqual(1);
    raw.destroy();
  });

  it("a wrong protocol version byte closes that connection only", async () => {
    // Version 1 had no repeated-head frames: a peer that speaks it is refused, not misread.
    await expectClosedWith(Buffer.concat([Buffer.of(1), frame(encodeEnvelope(toEchoer, "network"))]), /TCP_PROTOCOL_VERSION/);
  });

  it("a server of another protocol (text, as HTTP answers) fails the connect with an error that names the byte and asks if it is a Hopwire node", async () => {
    const server = net.createServer((socket) => socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n")));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const target = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const before = initiator.tcp.connections.length;
      const error = await initiator.tcp.connect(target).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(ConnectError);
      expect(error!.message).toMatch(/^Could not connect to 127\.0\.0\.1:\d+: The peer announced protocol version 72; this transport speaks \d+ \(the byte "H": is the peer a Hopwire node\?\)$/);
      expect((error!.cause as Error).cause).toBeInstanceOf(TcpProtocolVersionError);
      // Nothing of it is left behind.
      expect(initiator.tcp.connections).toHaveLength(before);
    } finally {
      server.close();
    }
    await stillGood();
  });

  it("an oversized length closes that connection only, before any body is buffered", async () => {
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), lengthPrefix(MAX_FRAME_LENGTH + 1)]), /TCP_FRAME_TOO_LARGE/);
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), lengthPrefix(0xffffffff)]), /TCP_FRAME_TOO_LARGE/);
  });

  it("a truncated frame (peer closes mid-frame) is logged and closes that connection only", async () => {
    const whole = frame(encodeEnvelope(toEchoer, "network"));
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), whole.subarray(0, whole.length - 3)]), /TCP_FRAME_TRUNCATED/, true);
    await expectClosedWith(Buffer.of(PROTOCOL_VERSION, 0, 0), /TCP_FRAME_TRUNCATED/, true);
  });

  it("an undecodable envelope closes that connection only, without logging its bytes", async () => {
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(Buffer.from("SECRET-PLAINTEXT not msgpack"))]), /TCP_FRAME_MALFORMED/);
    // A local (4-element) envelope never comes from the network.
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(encodeEnvelope(toEchoer, "local"))]), /TCP_FRAME_MALFORMED/);
    // A valid envelope followed by garbage inside the same frame.
    const padded = Buffer.concat([encodeEnvelope(toEchoer, "network"), Buffer.from("SECRET-PLAINTEXT")]);
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(padded)]), /TCP_FRAME_MALFORMED/);
    expect(responder.log.lines.join("\n")).not.toContain("SECRET-PLAINTEXT");
  });

  it("every kind of malformed envelope closes that connection with TCP_FRAME_MALFORMED, never quoting it", async () => {
    // The runtime's codec decodes the head (its own tests cover each case in detail); the
    // connection turns its DecodeError into a MalformedFrameError.
    const good = Buffer.from(encodeEnvelope(new LocalMessage(new Route([new Address(0, "echoer")]), Route.EMPTY, Buffer.from("SECRET-PLAINTEXT")), "network"));
    const cases: Buffer[] = [
      good.subarray(0, 5),
      Buffer.from([0xa3, 0x61, 0x62, 0x63]),
      Buffer.from([0x93, 0x90, 0x90, 0xb0, ...Buffer.from("SECRET-PLAINTEXT")]),
      Buffer.from([0x93, 0x91, 0x93, 0x00, 0xa1, 0x61, 0x00, 0x90, 0xc4, 0x00]),
      Buffer.from([0x93, 0x91, 0x92, 0x00, 0x01, 0x90, 0xc4, 0x00]),
      Buffer.from([0x93, 0x91, 0x92, 0xff, 0xa1, 0x61, 0x90, 0xc4, 0x00]),
      Buffer.from([0x93, 0x91, 0x92, 0xcd, 0x01, 0x00, 0xa1, 0x61, 0x90, 0xc4, 0x00]),
      Buffer.from([0x93, 0x91, 0x92, 0x00, 0xa0, 0x90, 0xc4, 0x00]),
      Buffer.from([0x93, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x90, 0xc4, 0x00]),
    ];
    for (const bytes of cases) await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(bytes)]), /TCP_FRAME_MALFORMED/);
    // A head the connection has cached (the same routes as the frame before), with a payload
    // length that disagrees with its frame.
    const lying = Buffer.from(good);
    lying.writeUInt32BE(good.length, good.length - "SECRET-PLAINTEXT".length - 4);
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(good), frame(lying)]), /TCP_FRAME_MALFORMED/);
    expect(responder.log.lines.join("\n")).not.toContain("SECRET-PLAINTEXT");
  });

  it("a route past MAX_ROUTE_LENGTH addresses or an address value past MAX_ADDRESS_VALUE_BYTES closes that connection with TCP_FRAME_MALFORMED", async () => {
    // 1,000 hops of [0, "a"] (4 KB): decoded, such routes cost ~12× their bytes, and a 16 MiB frame holds millions.
    const hops = Array.from({ length: 1000 }, () => [0x92, 0x00, 0xa1, 0x61]).flat();
    const manyHops = Buffer.from([0x93, 0xdc, 1000 >> 8, 1000 & 0xff, ...hops, 0x90, 0xc4, 0x00]);
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(manyHops)]), /TCP_FRAME_MALFORMED/);
    // One return-route address of 2,000 bytes (str16).
    const long = Buffer.alloc(2000, 0x61);
    const longValue = Buffer.from([0x93, 0x91, 0x92, 0x00, 0xa6, ...Buffer.from("echoer"), 0x91, 0x92, 0x00, 0xda, long.length >> 8, long.length & 0xff, ...long, 0xc4, 0x00]);
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(longValue)]), /TCP_FRAME_MALFORMED/);
  });

  it("a return route at MAX_ROUTE_LENGTH, which the receiver prefixes with its connection, is taken: the connection stays (it was closed as malformed)", async () => {
    const back = new Route(Array.from({ length: MAX_ROUTE_LENGTH }, (_, i) => new Address(0, `back${i}`)));
    await initiator.node.forward(new LocalMessage(route(good, "echoer"), back, encodeBody("long way back")));
    // Behind it on the same connection: answered only if the connection took the long route.
    await stillGood();
  });

  it("a frame that spans socket reads (handed on in pieces) is checked as any: a bad head, a lying length, a repeat before any head close that connection only", async () => {
    // Over 64 KiB: no socket read holds all of it.
    const big = Buffer.alloc(100 * 1024, 0x5a);
    const headed = Buffer.from(encodeEnvelope(new LocalMessage(new Route([new Address(0, "echoer")]), Route.EMPTY, big), "network"));
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(Buffer.concat([Buffer.from([0xa3, 0x61, 0x62, 0x63]), big]))]), /TCP_FRAME_MALFORMED/);
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(Buffer.concat([headed, Buffer.from("SECRET-PLAINTEXT")]))]), /TCP_FRAME_MALFORMED/);
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(headed.subarray(0, headed.length - 1))]), /TCP_FRAME_MALFORMED/);
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), repeated(big)]), /TCP_FRAME_MALFORMED/);
    expect(responder.log.lines.join("\n")).not.toContain("SECRET-PLAINTEXT");
  });

  it("random bytes close that connection only", async () => {
    for (let i = 0; i < 20; i++) {
      const junk = randomBytes(1 + (i * 397) % 5000);
      // Half the time start with a valid version byte so the junk reaches the frame parser.
      if (i % 2 === 0) junk[0] = PROTOCOL_VERSION;
      const raw = await rawClient(responder.listener.address);
      raw.end(junk);
      await closed(raw);
    }
    await stillGood();
    // Nothing leaked: only the good connection (and none of the raw ones) remains.
    await Promise.all(responder.listener.connections.filter((c) => c.peer !== good.local).map((c) => c.whenClosed()));
    expect(responder.listener.connections).toHaveLength(1);
    expect(responder.listener.connections[0]!.peer).toBe(good.local);
  });

  it("many frames in one write, some undeliverable, are each handled and the connection stays", async () => {
    const raw = await rawClient(responder.listener.address, true);
    const reader = new FrameReader();
    let replies = 0;
    const all = new Promise<void>((resolve) =>
      raw.on("data", (chunk: Buffer) => reader.push(chunk, (_b, start, end, repeatsHead) => void ((start !== end || repeatsHead) && ++replies === 66 && resolve()))),
    );
    const frames: Buffer[] = [Buffer.of(PROTOCOL_VERSION)];
    for (let i = 0; i < 100; i++) {
      const to = i % 3 === 0 ? "nobody" : "echoer";
      const m = new LocalMessage(new Route([new Address(0, to)]), new Route([new Address(0, "raw")]), encodeBody(i));
      frames.push(frame(encodeEnvelope(m, "network")));
    }
    // An empty onward route is dropped too.
    frames.push(frame(encodeEnvelope(new LocalMessage(Route.EMPTY, Route.EMPTY, encodeBody(0)), "network")));
    raw.write(Buffer.concat(frames));
    raw.resume();
    await all;
    await stillGood();
    raw.destroy();
  });

  it("repeated-head frames go where the last head said, and a repeat before any head closes that connection", async () => {
    // Undeliverable heads drop their repeats too: a repeat never reaches another worker.
    const raw = await rawClient(responder.listener.address, true);
    const reader = new FrameReader();
    const echoed: unknown[] = [];
    let heads = 0;
    const all = new Promise<void>((resolve) =>
      raw.on("data", (chunk: Buffer) =>
        reader.push(chunk, (b, start, end, repeatsHead) => {
          if (start === end && !repeatsHead) return; // a keepalive
          let payloadOffset = start;
          if (!repeatsHead) {
            heads++;
            payloadOffset = decodeEnvelopeHead(b, "network", start, end).payloadOffset;
          }
          echoed.push(decodeBody(b.subarray(payloadOffset, end)));
          if (echoed.length === 4) resolve();
        }),
      ),
    );
    const toEcho = (body: unknown) => frame(encodeEnvelope(new LocalMessage(new Route([new Address(0, "echoer")]), new Route([new Address(0, "raw")]), encodeBody(body)), "network"));
    const toNobody = frame(encodeEnvelope(new LocalMessage(new Route([new Address(0, "nobody")]), new Route([new Address(0, "raw")]), encodeBody("lost")), "network"));
    raw.write(Buffer.concat([Buffer.of(PROTOCOL_VERSION), toEcho(1), repeated(encodeBody(2)), repeated(encodeBody(3)), toNobody, repeated(encodeBody("lost too")), toEcho(4)]));
    raw.resume();
    await all;
    expect(echoed).toEqual([1, 2, 3, 4]);
    // The echoer's replies repeat their head too: the first reply carried it, the other three did not.
    expect(heads).toBe(1);
    raw.destroy();
    await expectClosedWith(Buffer.concat([Buffer.of(PROTOCOL_VERSION), repeated(encodeBody("SECRET-PLAINTEXT"))]), /TCP_FRAME_MALFORMED/);
    expect(responder.log.lines.join("\n")).not.toContain("SECRET-PLAINTEXT");
  });
});
