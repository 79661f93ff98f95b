// A channel end holds a turn's small messages to seal them as few records as it can (up to
// 128 KiB before it seals while the turn goes on). That must never fill its send queue: a
// burst that the peer's credit and the first hop could take at once must not make senders
// wait for the turn's end, nor drop sends drop.
import { afterEach, beforeEach, expect, it } from "vitest";
import { node, route, type Context, type Node, type Routed, type Worker } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelOptions } from "@hopwire/secure-channel";
import { eventually } from "../../../test/support/eventually.js";

class Recorder implements Worker {
  readonly seen: Routed[] = [];
  handleMessage(_ctx: Context, msg: Routed) {
    this.seen.push(msg);
  }
}

let n: Node;
beforeEach(async () => {
  n = await node();
});
afterEach(async () => {
  await n.stop();
});

/** A channel whose send queue takes at most `maxMessages`, with the peer's credit in. */
async function channelWithQueueLimit(maxMessages: number) {
  const listener = await createSecureChannelListener(n, await createIdentity(), "bob_listener");
  const recorder = new Recorder();
  await n.startWorker("sink", recorder, { placement: "main" });
  n.flowControls.addConsumer("sink", listener.flowControlId);
  const options = new SecureChannelOptions().withSendQueueLimits({ maxMessages, maxBytes: 4 * 1024 * 1024 });
  const channel = await createSecureChannel(n, await createIdentity(), route("bob_listener"), options);
  await n.send(route(channel, "sink"), new Uint8Array(1));
  await eventually(() => recorder.seen.length === 1);
  return { channel, recorder };
}

it("a one-turn burst of 120 × 1 KiB never makes a 100-message send queue full while credit and the hop have room", async () => {
  const { channel, recorder } = await channelWithQueueLimit(100);
  let sawFull = false;
  const sends: Promise<void>[] = [];
  for (let k = 0; k < 120; k++) {
    sends.push(n.send(route(channel, "sink"), new Uint8Array(1024).fill(k)));
    sawFull ||= channel.needsDrain;
  }
  expect(sawFull).toBe(false);
  await Promise.all(sends);
  await eventually(() => recorder.seen.length === 121);
  expect(recorder.seen.slice(1).map((m) => (m.body as Uint8Array)[0])).toEqual(Array.from({ length: 120 }, (_, k) => k));
});

it("drop sends in such a burst are all delivered, none dropped as full", async () => {
  const { recorder, channel } = await channelWithQueueLimit(100);
  let dropped = 0;
  n.on("dropped", (event) => void (event.reason === "full" && dropped++));
  for (let k = 0; k < 120; k++) void n.send(route(channel, "sink"), new Uint8Array(1024).fill(k), { ifFull: "drop" });
  await eventually(() => recorder.seen.length + dropped >= 121);
  expect(dropped).toBe(0);
  expect(recorder.seen).toHaveLength(121);
});
