// A shared-credit channel (a relay service's registrant channel) holds past its queue's bound at most
// SHARED_HOLD_PER_FEEDER_BYTES for one feeder, as the queue counts bytes (routes too: sendQueueUse).
// Messages with small payloads and large return routes (a peer chooses both) must not pass it.
import { afterEach, beforeEach, expect, it } from "vitest";
import { LocalMessage, node, route, type Node } from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  SecureChannelListenerOptions,
  sendQueueUse,
  shareSecureChannelCredit,
} from "@hopwire/secure-channel";

const MiB = 2 ** 20;
let n: Node;
let hear!: () => void;
beforeEach(async () => {
  n = await node({ warnings: false });
});
afterEach(async () => {
  hear?.();
  await n.stop();
});

it("a feeder of tiny payloads along large return routes is told full once the queue holds its bound and the feeder's share", async () => {
  const listener = await createSecureChannelListener(n, await createIdentity(), "bob_listener", new SecureChannelListenerOptions().withReceiveWindow({ messages: 1 }));
  const deafUntil = new Promise<void>((resolve) => (hear = resolve));
  await n.startWorker("sink", { handleMessage: () => deafUntil }, { placement: "main", mailbox: { maxMessages: 1 } });
  n.flowControls.addConsumer("sink", listener.flowControlId);
  const channel = await createSecureChannel(n, await createIdentity(), route("bob_listener"));
  expect(shareSecureChannelCredit(n, channel.address)).toBe(true);
  const mailbox = n.router.mailboxOf(channel.address)!;
  const long = "r".repeat(1000);
  let full = false;
  // As a connection does: route, then ask isFull. Each message: 1 payload byte, a return route of ~4 KiB.
  for (let i = 0; i < 40_000 && !full; i++) {
    n.router.route(new LocalMessage(route(channel, "sink"), route("feeder", `a${long}${i}`, `b${long}`, `c${long}`, `d${long}`), new Uint8Array(1)), undefined);
    full = mailbox.isFull === true;
    if (sendQueueUse(n).bytes > 32 * MiB) break;
  }
  const held = sendQueueUse(n).bytes;
  console.log(`told full: ${full}; send queue holds ${(held / MiB).toFixed(1)} MiB`);
  expect(full).toBe(true);
  expect(held).toBeLessThanOrEqual(4 * MiB + 16 * MiB + 64 * 1024);
});
