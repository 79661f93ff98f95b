// A handshake flood through a relay (an adversarial trial, session 44): at a node behind a relay,
// every relayed first message comes through its one channel to the relay node, so the
// listener's per-connection fairness put one raw connection flooding `forward_to_bob` and every
// honest client in one queue, and 4 of 4 honest handshakes timed out. The listener now shares
// that channel fairly between the peers behind it (each initiator's connection at the relay
// node), within one connection's bounds (handshake-limits.test.ts has the bounds).
// Three nodes in this process (the test reads the listener's counters), the flooder in a child.
import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { node, route, type Context, type Node, type Routed } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, SecureChannelOptions } from "@hopwire/secure-channel";
import { allowAnyIdentity, createRemoteRelay, startRelayService } from "@hopwire/relay";
import { killAll, startChild } from "../../../test/support/children.js";
import { eventually } from "../../../test/support/eventually.js";

const flooderScript = fileURLToPath(new URL("../../../test/fixtures/channel/flooder.mjs", import.meta.url));

const nodes: Node[] = [];
afterEach(async () => {
  killAll();
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function started(name: string): Promise<Node> {
  const n = await node({ name, warnings: false });
  nodes.push(n);
  return n;
}

describe("a handshake flood through a relay", () => {
  it("from one raw connection at the relay node: an honest client through the relay still gets its channel", async () => {
    const relayNode = await started("relay");
    const relayTcp = await createTcpTransport(relayNode);
    const relayListener = await relayTcp.listen("127.0.0.1:0", new TcpListenerOptions());
    const api = await createSecureChannelListener(relayNode, await createIdentity(), "api", new SecureChannelListenerOptions().asConsumer(relayListener.flowControlId));
    await startRelayService(relayNode, { policy: allowAnyIdentity(), serviceConsumerOf: api.flowControlId, forwarderConsumerOf: relayListener.flowControlId });
    const address = relayListener.address.toString();

    const bob = await started("bob");
    const bobTcp = await createTcpTransport(bob);
    const bobIdentity = await createIdentity();
    const relay = await createRemoteRelay(bob, {
      name: "bob",
      identity: bobIdentity,
      connect: async (signal) => {
        const c = await bobTcp.connect(address, new TcpConnectionOptions(), { signal });
        return { route: c, closed: c.whenClosed(), close: () => c.stop() };
      },
    });
    const listener = await createSecureChannelListener(bob, bobIdentity, "bob_listener", new SecureChannelListenerOptions().asConsumer(relay.flowControlId).withHandshakeTimeout(60_000));
    await bob.startWorker("echoer", { handleMessage: (ctx: Context, msg: Routed) => ctx.send(msg.returnRoute, msg.body) }, { placement: "main" });
    bob.flowControls.addConsumer("echoer", listener.flowControlId);

    const flooder = startChild(flooderScript, [address, "1", "forward_to_bob,bob_listener"]);
    await flooder.line(/^FLOODING/);
    // The flood holds the connection's every slot (1,024 started handshakes, its maxChannelsPerConnection too) and drops past its queue.
    await eventually(() => listener.pendingHandshakes >= 1_024 && listener.droppedHandshakes > 2_000, 60_000, "the flood holding bob's listener");

    // Alice: her own connection to the relay node, a channel to bob through forward_to_bob, one echo.
    const alice = await started("alice");
    const connection = await (await createTcpTransport(alice)).connect(address, new TcpConnectionOptions());
    const channel = await createSecureChannel(alice, await createIdentity(), route(connection, "forward_to_bob", "bob_listener"), new SecureChannelOptions().withHandshakeTimeout(30_000));
    expect(await alice.sendAndReceive(route(channel, "echoer"), "through the flood", { timeout: 20_000 })).toBe("through the flood");
    expect(listener.channelCount).toBeGreaterThanOrEqual(1);
  }, 150_000);
});
