import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { type Context, type Routed } from "@hopwire/runtime";
import { createIdentity, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { startChild } from "../../../test/support/children.js";
import { createRemoteRelay, tcpRelayConnector } from "../dist/index.js";
import { startNode, startRelayNode, stopNodesAfterEach } from "./relay-node.js";

// An initiator paused for a few seconds (several channels on its one connection, each within its own
// credit) gets every answer once it reads again, or loses its connection: answers are not cut from the
// middle of its channels' streams at the relay node without a word (a registrant channel shares its credit).
const pausingReader = fileURLToPath(new URL("./fixtures/pausing-reader.mjs", import.meta.url));
stopNodesAfterEach();

describe("answers through a relay node to an initiator that paused", { timeout: 90_000 }, () => {
  it("all arrive once it reads again, or its connection closes: none is lost silently", async () => {
    const { tcp: relayTcp, address: relayAddress } = await startRelayNode();
    const bob = await startNode("bob");
    const bobIdentity = await createIdentity();
    const relay = await createRemoteRelay(bob.n, { name: "bob", identity: bobIdentity, connect: tcpRelayConnector(bob.tcp, relayAddress) });
    const bobListener = await createSecureChannelListener(bob.n, bobIdentity, "listener", new SecureChannelListenerOptions().asConsumer(relay.flowControlId));
    // A generator that honours backpressure (it waits for room in the channel).
    let answered = 0;
    await bob.n.startWorker("generator", { async handleMessage(ctx: Context, m: Routed) { await ctx.send(m.returnRoute, new Uint8Array(Number(new TextDecoder().decode(m.message.payload)))); answered++; } }, { placement: "main" });
    bob.n.flowControls.addConsumer("generator", bobListener.flowControlId);

    const channels = 12, perChannel = 80;
    const child = startChild(pausingReader, [relayAddress, "bob", String(channels), String(perChannel), String(64 * 1024)]);
    const sent = await child.line(/^SENT (\d+) (\d+)/);
    await new Promise((r) => setTimeout(r, 4000));
    const held = relayTcp.connections.map((c) => c.bufferedBytes);
    process.kill(Number(sent[1]), "SIGCONT");
    const got = await child.line(/^GOT (\d+) (.*)/);
    console.log(`relay held ${held.join(", ")} bytes while paused; bob answered ${answered}; the initiator got ${got[1]} of ${channels * perChannel}; its connection: ${got[2]}`);
    if (Number(got[1]) !== channels * perChannel) expect(got[2]).toBe("closed");
  });
});
