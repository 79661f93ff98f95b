// A channel's records (~64 KiB) nearly all span two socket reads: the receiving end opens
// them from the reads' pieces, never joined, and reads the envelopes across the pieces.
import { afterEach, describe, expect, it } from "vitest";
import { node, route, type Context, type Node, type Routed, type Worker } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, createSecureChannelListener } from "@hopwire/secure-channel";
import { InlineChannelCipher } from "../dist/crypto-threads/channel-cipher.js";

class Recorder implements Worker {
  readonly seen: Uint8Array[] = [];
  handleMessage(_ctx: Context, msg: Routed): void {
    this.seen.push(msg.body as Uint8Array);
  }
}

const nodes: Node[] = [];
const openParts = InlineChannelCipher.prototype.openParts;
afterEach(async () => {
  InlineChannelCipher.prototype.openParts = openParts;
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/** Message `i`: a pseudo-random length (1 B to ~3 KiB) and bytes that depend on `i`. */
function message(i: number): Uint8Array {
  const length = 1 + ((i * 2654435761) >>> 0) % 3_000;
  const bytes = new Uint8Array(length);
  for (let j = 0; j < length; j++) bytes[j] = (i + j * 31) & 0xff;
  return bytes;
}

describe("records that span socket reads", () => {
  it("are opened in pieces, and every envelope arrives intact and in order, those that straddle two pieces too", async () => {
    let openedInParts = 0;
    InlineChannelCipher.prototype.openParts = function (this: InlineChannelCipher, parts: readonly Uint8Array[], skip: number) {
      openedInParts++;
      return openParts.call(this, parts, skip);
    };
    const bob = await node({ name: "bob" });
    const alice = await node({ name: "alice" });
    nodes.push(bob, alice);
    const tcpListener = await (await createTcpTransport(bob)).listen("127.0.0.1:0");
    const listener = await createSecureChannelListener(bob, createIdentity(), "bob_listener", { consumerOf: tcpListener.flowControlId });
    const recorder = new Recorder();
    await bob.startWorker("sink", recorder, { placement: "main" });
    bob.flowControls.addConsumer("sink", listener.flowControlId);
    const connection = await (await createTcpTransport(alice)).connect(tcpListener.address);
    const channel = await createSecureChannel(alice, createIdentity(), route(connection, "bob_listener"));

    const count = 3_000;
    // 100 sends a turn: they coalesce into records of ~64 KiB.
    for (let i = 0; i < count; i += 100) {
      let last: Promise<void> | undefined;
      for (let k = i; k < i + 100; k++) last = alice.send(route(channel, "sink"), message(k));
      await last;
    }
    const deadline = Date.now() + 30_000;
    while (recorder.seen.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));

    expect(recorder.seen.length).toBe(count);
    const wrong = recorder.seen.findIndex((bytes, i) => !Buffer.from(bytes).equals(Buffer.from(message(i))));
    expect(wrong).toBe(-1);
    expect(openedInParts).toBeGreaterThan(0);
  });
});
