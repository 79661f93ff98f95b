import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { route, type Context, type Routed } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { TcpConnectionOptions } from "@hopwire/transport-tcp";
import { startChild } from "../../../test/support/children.js";
import { createRemoteRelay, tcpRelayConnector, type RelayServiceEvent } from "../dist/index.js";
import { echoesOverTime, startNode, startRelayNode, stopNodesAfterEach } from "./relay-node.js";

// One initiator of a registrant that stops reading must not stall the registrant's channel to the
// relay node for every other initiator (nor its heartbeats, and with them its registration).
const nonReader = fileURLToPath(new URL("./fixtures/pausing-reader.mjs", import.meta.url));

stopNodesAfterEach();

describe("a registrant's channel to the relay node, shared by its initiators", { timeout: 90_000 }, () => {
  it("keeps carrying another initiator's answers and the registrant's heartbeats while one initiator reads nothing", async () => {
    const events: RelayServiceEvent[] = [];
    const { tcp: relayTcp, address: relayAddress } = await startRelayNode((e) => events.push(e));

    // Bob: a registrant whose echoer never waits for a full channel (as a service shared by untrusted peers should).
    const bob = await startNode("bob");
    const bobIdentity = await createIdentity();
    await bob.n.startWorker("echoer", { async handleMessage(ctx: Context, m: Routed) { await ctx.send(m.returnRoute, m.message.payload, { ifFull: "drop" }); } }, { placement: "main" });
    const relay = await createRemoteRelay(bob.n, { name: "bob", identity: bobIdentity, connect: tcpRelayConnector(bob.tcp, relayAddress) });
    const bobListener = await createSecureChannelListener(bob.n, bobIdentity, "listener", new SecureChannelListenerOptions().asConsumer(relay.flowControlId));
    bob.n.flowControls.addConsumer("echoer", bobListener.flowControlId);
    // A download: a small request, a large answer.
    let asked = 0;
    await bob.n.startWorker("generator", { async handleMessage(ctx: Context, m: Routed) { asked++; await ctx.send(m.returnRoute, new Uint8Array(Number(new TextDecoder().decode(m.message.payload))), { ifFull: "drop" }); } }, { placement: "main" });
    bob.n.flowControls.addConsumer("generator", bobListener.flowControlId);

    // Alice: an ordinary initiator.
    const alice = await startNode("alice");
    const aliceConn = await alice.tcp.connect(relayAddress, new TcpConnectionOptions());
    const aliceChannel = await createSecureChannel(alice.n, await createIdentity(), route(aliceConn, "forward_to_bob", "listener"));
    const echo = async (): Promise<number> => {
      const t0 = performance.now();
      await alice.n.sendAndReceive(route(aliceChannel, "echoer"), "ping", { timeout: 3_000 });
      return performance.now() - t0;
    };
    console.log(`alice's echo before: ${(await echo()).toFixed(1)} ms`);

    // Mallory: asks for 6 x 4 MiB of answers, then reads nothing.
    const mallory = startChild(nonReader, [relayAddress, "bob", "6", "64", String(64 * 1024)]);
    const sent = await mallory.line(/^SENT (\d+) (\d+)/);
    console.log(`the non-reader sent its requests (it had ${sent[2]} answers) and stopped`);

    const show = () => relayTcp.connections.map((c) => `${c.isNextHop ? "reg" : "ini"}:${c.bufferedBytes}${c.needsDrain ? "(full)" : ""}`).join(" ");
    await new Promise((r) => setTimeout(r, 1000));
    console.log(`relay connections 1 s later: ${show()}; bob was asked ${asked}`);
    const { results, failures } = await echoesOverTime(12, 500, echo);
    console.log(`alice's echoes while it stalls: ${results.join(", ")}`);
    console.log(`relay events: ${events.map((e) => `${e.kind}${"replaced" in e && e.replaced ? "(replaced)" : ""}`).join(", ")}; bob's registrations: ${relay.registrations}; alice's connection: ${aliceConn.state}`);
    expect(failures).toBe(0);
    expect(relay.registrations).toBe(1);
    expect(aliceConn.state).toBe("open");
  });
});
