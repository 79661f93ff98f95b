import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { route } from "@hopwire/runtime";
import { sendQueueUse } from "@hopwire/secure-channel";
import { startChild } from "../../../test/support/children.js";
import { echoesOverTime, startAlice, startIvy, startRelayNode, stopNodesAfterEach } from "./relay-node.js";

// An initiator that reaches two registrants over one connection to the relay node: the one that stalls
// (a paused process) must not stall the initiator's channel to the other. Before session 56's SharedHold
// the relay-side end of the stalled registrant's channel got no credit, its queue filled, and the
// initiator's whole connection at the relay node stopped being read (the encryptor's isFull), so its
// records to ivy waited too, until ivy's end declared the channel gone at its peer timeout.
const registrantFixture = fileURLToPath(new URL("./fixtures/registrant.mjs", import.meta.url));

stopNodesAfterEach();

describe("one connection to two registrants", { timeout: 90_000 }, () => {
  it("a stalled registrant does not stall the initiator's channel to the other", async () => {
    await stallBob(4, 6, (failures) => expect(failures).toBe(0));
  });

  // Past what the registrant channel holds for one connection (SHARED_HOLD_PER_FEEDER_BYTES, 16 MiB), that
  // connection pauses as before: 8 channels of 4 MiB windows are past it. The relay node holds no more than the
  // channel's own queue bound (4 MiB) and the connection's share, plus a socket read.
  it("past the connection's share, the relay node holds at most the queue's bound and that share", async () => {
    await stallBob(8, 1, () => {});
  });
});

async function stallBob(channels: number, echoes: number, check: (failures: number) => void): Promise<void> {
  {
    const { n: relayN, tcp: relayTcp, address: relayAddress } = await startRelayNode();

    await startIvy(relayAddress);

    const bob = startChild(registrantFixture, [relayAddress, "bob"]);
    await bob.line(/^REGISTERED /);

    const { alice, conn, toBob, echoIvy } = await startAlice(relayAddress, channels);
    const echo = (): Promise<number> => echoIvy(3_000);
    console.log(`echo to ivy before: ${(await echo()).toFixed(1)} ms`);

    process.kill(-bob.process.pid!, "SIGSTOP");
    // Alice sends to bob as a well-behaved sender does: each send waits for room in its channel.
    let sent = 0;
    const body = new Uint8Array(64 * 1024);
    for (const channel of toBob) void (async () => {
      for (let i = 0; i < 256; i++) { await alice.n.send(route(channel, "echoer"), body, { timeout: 60_000 }).catch(() => {}); sent += body.length; }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    const show = () =>
      relayTcp.connections.map((c) => `${c.isNextHop ? "reg" : "ini"}:${c.bufferedBytes}${c.needsDrain ? "(full)" : ""}`).join(" ") +
      `; channel send queues ${sendQueueUse(relayN).bytes} bytes; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`;
    console.log(`after 1 s: alice sent ${sent} bytes to bob; relay connections ${show()}`);
    const { results, failures } = await echoesOverTime(echoes, 500, echo);
    console.log(`echoes to ivy while bob is stopped: ${results.join(", ")}; alice sent ${sent}; relay ${show()}`);
    expect(sendQueueUse(relayN).bytes).toBeLessThanOrEqual(4 * 2 ** 20 + 16 * 2 ** 20 + 256 * 1024);
    check(failures);
  }
}
