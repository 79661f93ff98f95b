import { describe, expect, it } from "vitest";
import { LocalMessage, route, waitFor, type Context, type Routed } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { TcpConnectionOptions, type TcpConnection, type TcpTransport } from "@hopwire/transport-tcp";
import { startNode, startRelayNode, stopNodesAfterEach } from "./relay-node.js";

// A registrant must not be able to make the relay node's next-hop rule close (or keep open) a
// connection that never fed it, by naming that connection's address in the inner return route of
// what it sends back through its own registrant channel (docs/transport-tcp.md, "When the hop
// after a relay dies"; connection.ts #noteFeeder searches past the channel's own address).

stopNodesAfterEach();

function acceptedFrom(relay: { tcp: TcpTransport }, local: string): TcpConnection {
  const found = relay.tcp.connections.find((c) => c.mode === "incoming" && c.peer === local);
  if (!found) throw new Error(`the relay node has no connection from ${local}`);
  return found;
}

describe("a registrant naming another connection in its records' return route", { timeout: 30_000 }, () => {
  it("does not make that connection its feeder, so closing its own connection leaves the other open", async () => {
    const relay = await startRelayNode();

    // The victim: an ordinary client of the relay node, which never reached mallory.
    const alice = await startNode("alice");
    const aliceConn = await alice.tcp.connect(relay.address, new TcpConnectionOptions());
    const aliceAtRelay = await waitFor<TcpConnection>((resolve) => {
      const t = setInterval(() => { try { resolve(acceptedFrom(relay, aliceConn.local)); clearInterval(t); } catch { /* not yet */ } }, 5);
    }, { what: "alice's connection at the relay", timeout: 5_000 });
    // What mallory knows of it (see the report: e.g. learnt when alice reached mallory once, over another connection's life).
    const victimAddress = aliceAtRelay.address;

    // The attacker: a registrant over its own connection and its own secure channel to "api".
    const mallory = await startNode("mallory");
    const identity = await createIdentity();
    const mConn = await mallory.tcp.connect(relay.address, new TcpConnectionOptions());
    const channel = await createSecureChannel(mallory.n, identity, route(mConn, "api"));
    // Registered from "sink", which then receives what the forwarder passes on (and the service's reply).
    const seen: Routed[] = [];
    await mallory.n.startWorker("sink", { async handleMessage(_ctx: Context, m: Routed) { seen.push(m); } }, { placement: "main" });
    mallory.n.flowControls.addConsumer("sink", channel.flowControlId);
    const arrived = (k: number) => waitFor<void>((resolve) => { const t = setInterval(() => seen.length >= k && (clearInterval(t), resolve()), 5); }, { what: `message ${k}`, timeout: 5_000 });
    await mallory.n.startWorker("register", { async handleMessage(ctx: Context) {
      await ctx.forward(new LocalMessage(route(channel, "forwarding_service"), route("sink"), new Uint8Array([0x83, 0xa1, 0x74, 0xa8, ...new TextEncoder().encode("register"), 0xa2, 0x69, 0x64, 0xa1, 0x31, 0xa4, ...new TextEncoder().encode("name"), 0xa7, ...new TextEncoder().encode("mallory")])));
    } }, { placement: "main" });
    await mallory.n.send("register", "go");
    await arrived(1);
    expect((seen[0]!.body as { t: string }).t).toBe("registered");
    const mAtRelay = acceptedFrom(relay, mConn.local);
    expect(mAtRelay.isNextHop).toBe(true);

    // Mallory sends itself a message through its own forwarder: the relay opens the flows between
    // its connection and its channel, and mallory learns its connection's address at the relay.
    await mallory.n.send(route(mConn, "forward_to_mallory"), "hi");
    await arrived(2);
    console.log(`mallory received with return route ${seen[1]!.returnRoute.toString()}`);
    const ownAtRelay = seen[1]!.returnRoute.at(1)!; // [its channel end, its connection at the relay, its "app"]
    expect(ownAtRelay.toString()).toBe(mAtRelay.address.toString());

    // The forged record: through its channel, to its own connection at the relay, naming alice's connection as the sender.
    await mallory.n.startWorker("forger", {
      async handleMessage(ctx: Context) {
        await ctx.forward(new LocalMessage(route(channel, ownAtRelay, "nowhere"), route(victimAddress), new Uint8Array([0xc0])));
      },
    }, { placement: "main" });
    await mallory.n.send("forger", "go");
    await new Promise((r) => setTimeout(r, 300));
    const recorded = mAtRelay.fedBy.has(aliceAtRelay);
    console.log(`relay records alice's connection as a feeder of mallory's: ${recorded}`);

    // Mallory closes its own connection: alice's must stay open.
    await mConn.stop();
    await mAtRelay.whenClosed();
    await new Promise((r) => setTimeout(r, 300));
    console.log(`alice's connection at the relay: ${aliceAtRelay.state} ${String(aliceAtRelay.closedReason?.cause?.constructor.name ?? "")}; at alice: ${aliceConn.state}`);
    expect(recorded).toBe(false);
    expect(aliceAtRelay.state).toBe("open");
    expect(aliceConn.state).toBe("open");
  });
});
