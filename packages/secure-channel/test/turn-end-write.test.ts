// A secure channel seals the messages of a turn at its end and hands the record to its
// connection, which writes it in that same end-of-turn pass (runtime's util/turn-end.ts). With
// an immediate each, the connection's came from inside the channel's and waited for the next
// turn of the event loop: one more epoll_wait per message on each side of a round trip. With a
// crypto thread, the seal's batch is posted to that thread in the same pass.
import { afterEach, expect, it } from "vitest";
import { route, type Node } from "@hopwire/runtime";
import { SecureChannelOptions } from "@hopwire/secure-channel";
import { channelToWorker, Counter } from "./channel-to-worker.js";
import { eventually, nextTurn } from "../../../test/support/eventually.js";
import { ImmediatesMadeBy } from "../../../test/support/immediates.js";

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

for (const cryptoThreads of [0, 1]) {
  it(`a message sent into a channel is sealed and written${cryptoThreads === 0 ? "" : " (or posted to its crypto thread)"} in one end-of-turn pass, leaving nothing for the next turn`, async () => {
    const sink = new Counter();
    const { alice, channel } = await channelToWorker(nodes, "sink", sink, new SecureChannelOptions().withCryptoThreads(cryptoThreads));
    const toSink = route(channel, "sink");
    const body = new Uint8Array(64).fill(7);
    // The first send learns the route's mailbox; the second goes as every later one does.
    await alice.send(toSink, body);
    await eventually(() => sink.count === 1, 10_000, "the first message");

    // Counted: the Immediates this send makes, directly or from what it made.
    const immediates = new ImmediatesMadeBy();
    immediates.followCurrent();
    immediates.enable();
    try {
      void alice.send(toSink, body);
      await nextTurn(); // queued after the pass: runs once the channel has sealed and the connection written
    } finally {
      immediates.disable();
    }
    // The pass's and nextTurn's: no third for a write left to the next turn.
    expect(immediates.count).toBe(2);
    await eventually(() => sink.count === 2, 10_000, "the second message");
  });
}
