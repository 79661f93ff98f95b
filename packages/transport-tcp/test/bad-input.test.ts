import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { Address, LocalMessage, Route, decodeBody, decodeEnvelope, encodeBody, encodeEnvelope, route } from "@hopwire/runtime";
import { MAX_FRAME_LENGTH, type TcpConnection } from "@hopwire/transport-tcp";
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
        reader.push(chunk, (b, start, end) => {
          // A frame of length 0 is a keepalive; the first one follows the version byte at once.
          if (start === end) keepalives++;
          else resolve(Buffer.from(b.subarray(start, end)));
        }),
      ),
    );
    const ret = new LocalMessage(new Route([new Address(0, "echoer")]), new Route([new Address(0, "raw-client")]), encodeBody("hi"));
    raw.write(Buffer.concat([Buffer.of(1), frame(encodeEnvelope(ret, "network"))]));
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
    await expectClosedWith(Buffer.concat([Buffer.of(2), frame(encodeEnvelope(toEchoer, "network"))]), /TCP_PROTOCOL_VERSION/);
  });

  it("an oversized length closes that connection only, before any body is buffered", async () => {
    await expectClosedWith(Buffer.concat([Buffer.of(1), lengthPrefix(MAX_FRAME_LENGTH + 1)]), /TCP_FRAME_TOO_LARGE/);
    await expectClosedWith(Buffer.concat([Buffer.of(1), lengthPrefix(0xffffffff)]), /TCP_FRAME_TOO_LARGE/);
  });

  it("a truncated frame (peer closes mid-frame) is logged and closes that connection only", async () => {
    const whole = frame(encodeEnvelope(toEchoer, "network"));
    await expectClosedWith(Buffer.concat([Buffer.of(1), whole.subarray(0, whole.length - 3)]), /TCP_FRAME_TRUNCATED/, true);
    await expectClosedWith(Buffer.of(1, 0, 0), /TCP_FRAME_TRUNCATED/, true);
  });

  it("an undecodable envelope closes that connection only, without logging its bytes", async () => {
    await expectClosedWith(Buffer.concat([Buffer.of(1), frame(Buffer.from("SECRET-PLAINTEXT not msgpack"))]), /TCP_FRAME_MALFORMED/);
    // A local (4-element) envelope never comes from the network.
    await expectClosedWith(Buffer.concat([Buffer.of(1), frame(encodeEnvelope(toEchoer, "local"))]), /TCP_FRAME_MALFORMED/);
    // A valid envelope followed by garbage inside the same frame.
    const padded = Buffer.concat([encodeEnvelope(toEchoer, "network"), Buffer.from("SECRET-PLAINTEXT")]);
    await expectClosedWith(Buffer.concat([Buffer.of(1), frame(padded)]), /TCP_FRAME_MALFORMED/);
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
    for (const bytes of cases) await expectClosedWith(Buffer.concat([Buffer.of(1), frame(bytes)]), /TCP_FRAME_MALFORMED/);
    // A head the connection has cached (the same routes as the frame before), with a payload
    // length that disagrees with its frame.
    const lying = Buffer.from(good);
    lying.writeUInt32BE(good.length, good.length - "SECRET-PLAINTEXT".length - 4);
    await expectClosedWith(Buffer.concat([Buffer.of(1), frame(good), frame(lying)]), /TCP_FRAME_MALFORMED/);
    expect(responder.log.lines.join("\n")).not.toContain("SECRET-PLAINTEXT");
  });

  it("random bytes close that connection only", async () => {
    for (let i = 0; i < 20; i++) {
      const junk = randomBytes(1 + (i * 397) % 5000);
      // Half the time start with a valid version byte so the junk reaches the frame parser.
      if (i % 2 === 0) junk[0] = 1;
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
      raw.on("data", (chunk: Buffer) => reader.push(chunk, (_b, start, end) => void (start !== end && ++replies === 66 && resolve()))),
    );
    const frames: Buffer[] = [Buffer.of(1)];
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
});
