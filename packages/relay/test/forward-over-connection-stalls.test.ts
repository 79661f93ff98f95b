// forwardOver "connection": a peer that stops reading holds up nobody else for long, as inside the registrant's
// channel (relay.test.ts, stalled-registrant-closed.test.ts). With FORWARD_OVER_PROBE=1 both modes run and say what
// they saw (FORWARD_OVER_PROBE_OUT: a file to append it to), side by side. One in-process relay node (allowForwardOverConnection), bob registered in the mode under test
// with an echoer and a "bulk" worker, alice2 connected straight to the relay node echoing bob every 200 ms, and
//   - "initiator": alice1 connected through a proxy that stops passing the relay node's bytes to her, asking bob for
//     32 MiB: bob's answers to her fill her connection on the relay node;
//   - "registrant": carol (a second registrant) reached by alice2 too; bob's connection goes through a proxy that stops
//     passing the relay node's bytes to bob (bob reads nothing, still writes), while alice2 sends bob 32 MiB over the
//     same connection she reaches carol on.
import { afterEach, describe, expect, it } from "vitest";
import { appendFileSync } from "node:fs";

/** Where the probe writes what it saw (vitest keeps a passing test's console quiet). */
const report = (line: string): void => {
  if (process.env.FORWARD_OVER_PROBE_OUT) appendFileSync(process.env.FORWARD_OVER_PROBE_OUT, line + "\n");
};
import { createServer, connect, type Server, type Socket } from "node:net";
import { node, route, type Context, type Node, type Routed } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions, type TcpTransport } from "@hopwire/transport-tcp";
import { allowAnyIdentity, createRemoteRelay, startRelayService, type ForwardOver, type RelayServiceEvent, type RemoteRelayEvent } from "../dist/index.js";

const nodes: Node[] = [];
const closers: (() => void)[] = [];
afterEach(async () => {
  closers.splice(0).forEach((c) => c());
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function startNode(): Promise<{ n: Node; tcp: TcpTransport }> {
  const n = await node({ warnings: false });
  nodes.push(n);
  return { n, tcp: await createTcpTransport(n) };
}

/**
 * A proxy to `upstream`; stall() stops passing upstream's bytes to the client (the client's still go up). `rate`:
 * upstream's bytes pass at most that many per second (a registrant that reads, slowly).
 */
async function proxy(upstream: string, rate?: number): Promise<{ address: string; stall: () => void }> {
  const [host, port] = [upstream.slice(0, upstream.lastIndexOf(":")), Number(upstream.slice(upstream.lastIndexOf(":") + 1))];
  const sockets: Socket[] = [];
  const ups: Socket[] = [];
  let stalled = false;
  const server: Server = createServer((client) => {
    const up = connect(port, host);
    sockets.push(client, up);
    ups.push(up);
    client.pipe(up);
    let passed = 0;
    let since = performance.now();
    up.on("data", (d: Buffer) => {
      if (stalled) return;
      client.write(d);
      if (rate === undefined) return;
      passed += d.length;
      const due = (passed / rate) * 1000 - (performance.now() - since);
      if (due > 0) {
        up.pause();
        const timer = setTimeout(() => stalled || up.resume(), due);
        closers.push(() => clearTimeout(timer));
      }
      if (performance.now() - since > 1_000) [passed, since] = [0, performance.now()];
    });
    for (const s of [client, up]) s.on("error", () => {});
    client.on("close", () => up.destroy());
    up.on("close", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    stall: () => {
      stalled = true;
      for (const up of ups) up.pause();
    },
  };
}

async function registrant(name: string, relayAddress: string, over: ForwardOver, events: string[], heartbeatIntervalMs = 500, replyTimeoutMs = 2_000) {
  const { n, tcp } = await startNode();
  const identity = await createIdentity();
  await n.startWorker("echoer", { async handleMessage(ctx: Context, m: Routed) { await ctx.send(m.returnRoute, name, { ifFull: "drop" }); } }, { placement: "main" });
  await n.startWorker("bulk", {
    handleMessage(ctx: Context, m: Routed) {
      // Not awaited: each asker's channel is sent to at once, not after the previous asker's 32 MiB.
      const body = new Uint8Array(64 * 1024);
      void (async () => {
        for (let i = 0; i < 512; i++) await ctx.send(m.returnRoute, body, { timeout: 60_000 }).catch(() => {});
      })();
    },
  }, { placement: "main" });
  await n.startWorker("sink", { async handleMessage() {} }, { placement: "main" });
  const relay = await createRemoteRelay(n, {
    name,
    identity,
    connect: async (signal) => {
      const c = await tcp.connect(relayAddress, new TcpConnectionOptions(), { signal });
      return { route: c, closed: c.whenClosed(), close: () => c.stop() };
    },
    forwardOver: over,
    heartbeatIntervalMs,
    replyTimeoutMs,
    onEvent: (e: RemoteRelayEvent) => events.push(`${name} ${e.kind}`),
  });
  const scl = await createSecureChannelListener(n, identity, "listener", new SecureChannelListenerOptions().asConsumer(relay.flowControlId));
  for (const w of ["echoer", "bulk", "sink"]) n.flowControls.addConsumer(w, scl.flowControlId);
  return { n, relay };
}

async function setup(over: ForwardOver, bobVia: (relayAddress: string) => Promise<string>, bobHeartbeatMs = 500, carolVia = async (a: string) => a, carolReplyTimeoutMs = 2_000) {
  const { n, tcp } = await startNode();
  const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const api = await createSecureChannelListener(n, await createIdentity(), "api", new SecureChannelListenerOptions().withPeerTimeout(3_000).asConsumer(listener.flowControlId));
  const events: string[] = [];
  const service = await startRelayService(n, {
    policy: allowAnyIdentity(),
    serviceConsumerOf: api.flowControlId,
    forwarderConsumerOf: listener.flowControlId,
    allowForwardOverConnection: true,
    connectionStallMs: 1_000, // as the registrant channel's stall close at this 3 s peer timeout
    onEvent: (e: RelayServiceEvent) => e.kind !== "registered" && events.push(`relay ${e.kind} ${e.name} ${"reason" in e ? e.reason : ""}`),
  });
  const relayAddress = listener.address.toString();
  const bob = await registrant("bob", await bobVia(relayAddress), over, events, bobHeartbeatMs);
  const carol = await registrant("carol", await carolVia(relayAddress), over, events, 500, carolReplyTimeoutMs);
  return { relayAddress, events, bob, carol, service };
}

async function channelTo(relayAddress: string, name: string, via?: string) {
  const { n, tcp } = await startNode();
  const connection = await tcp.connect(via ?? relayAddress, new TcpConnectionOptions());
  const channel = await createSecureChannel(n, await createIdentity(), route(connection, `forward_to_${name}`, "listener"));
  return { n, tcp, connection, channel };
}

async function echoes(n: Node, to: Parameters<typeof route>[0], ms: number, timeout = 1_000): Promise<{ results: string[]; failures: number }> {
  const out: string[] = [];
  let failures = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const t = performance.now();
    try {
      await n.sendAndReceive(route(to, "echoer"), "ping", { timeout });
      out.push(`${(performance.now() - t).toFixed(0)}`);
    } catch (error) {
      failures++;
      out.push((error as { code?: string }).code ?? "error");
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { results: out, failures };
}

const modes = process.env.FORWARD_OVER_PROBE === "1" ? (["channel", "connection"] as const) : (["connection"] as const);

describe("forwardOver: a peer that stops reading", { timeout: 60_000 }, () => {
  for (const over of modes) {
    // Before the relay service marked the registrant's connection a shared feeder, the relay node stopped reading it
    // while alice1's connection was full: every echo of alice2 timed out, and bob's heartbeat too (it disconnected).
    it(`${over}: an initiator that reads nothing while bob answers it holds up neither bob's answers to others nor its heartbeats`, async () => {
      const { relayAddress, events, bob } = await setup(over, async (a) => a);
      expect(bob.relay.forwardingOver).toBe(over);
      const p = await proxy(relayAddress);
      const alice1 = await channelTo(relayAddress, "bob", p.address);
      const alice2 = await channelTo(relayAddress, "bob");
      // 8 channels (each inner channel's credit alone fits in loopback's socket buffers), each asking bob for 32 MiB.
      const more = [alice1.channel];
      const identity = await createIdentity();
      for (let i = 0; i < 7; i++) more.push(await createSecureChannel(alice1.n, identity, route(alice1.connection, "forward_to_bob", "listener")));
      p.stall();
      for (const c of more) await alice1.n.send(route(c, "bulk"), "go");
      // 2 s each: bob's node seals up to 8 channels' credit meanwhile, on a host that may be loaded (8 s of them: a
      // full run on a loaded host lost two before the rest came back).
      const seen = await echoes(alice2.n, alice2.channel, 8_000, 2_000);
      report(`[${over}] alice2's echoes to bob (ms or error) while alice1 reads nothing: ${seen.results.join(" ")}; events: ${events.join("; ") || "none"}`);
      // Before: every one failed, and bob's heartbeat (2 s reply timeout) too.
      expect(seen.failures, seen.results.join(" ")).toBeLessThanOrEqual(2);
      expect(seen.results.slice(-3).every((r) => /^\d+$/.test(r))).toBe(true);
      expect(events).not.toContain("bob disconnected");
      expect(alice2.channel.isClosed).toBe(false);
    });

    // Before the stall close, every echo to carol over alice's connection timed out for as long as bob stayed connected.
    it(`${over}: a registrant that reads nothing (still writes) is closed, and the initiator's connection carries its other channels again`, async () => {
      let bobProxy: { stall: () => void } | undefined;
      const { relayAddress, events } = await setup(over, async (a) => {
        const p = await proxy(a);
        bobProxy = p;
        return p.address;
      }, 60_000); // bob checks its registration once a minute: it does not give it up itself meanwhile
      const { n, tcp } = await startNode();
      const connection = await tcp.connect(relayAddress, new TcpConnectionOptions());
      const identity = await createIdentity();
      const toCarol = await createSecureChannel(n, identity, route(connection, "forward_to_carol", "listener"));
      const toBob = [];
      for (let i = 0; i < 8; i++) toBob.push(await createSecureChannel(n, identity, route(connection, "forward_to_bob", "listener")));
      bobProxy!.stall();
      const body = new Uint8Array(64 * 1024);
      const sent = { bytes: 0 };
      for (const c of toBob) void (async () => {
        for (let i = 0; i < 512; i++) await n.send(route(c, "sink"), body, { timeout: 60_000 }).then(() => (sent.bytes += body.length), () => {});
      })();
      const seen = await echoes(n, toCarol, 8_000);
      report(`[${over}] echoes to carol over the same connection while bob reads nothing: ${seen.results.join(" ")}; events: ${events.join("; ") || "none"}; alice's connection: ${connection.state}; alice's sends to bob that went: ${sent.bytes}`);
      const stalled = over === "connection" ? "its connection stalled: RELAY_REGISTRANT_STALLED" : "its secure channel closed: SECURE_CHANNEL_PEER_STALLED";
      expect(events).toContain(`relay removed bob ${stalled}`);
      // At most the first two (1 s each) while the stall takes hold (1 s), then carol answers on.
      expect(seen.failures).toBeLessThanOrEqual(2);
      expect(seen.results.slice(-10).every((r) => /^\d+$/.test(r))).toBe(true);
      expect(connection.state).toBe("open");
    });
  }

  // The stall close took "what the connection holds went down" for progress: a registrant that reads, slowly, while
  // its initiators keep its connection fed holds it at the high-water mark, and was closed as one that reads nothing.
  it("a registrant that reads slowly while its initiators keep it fed is no stalled one: it keeps its connection", async () => {
    // Carol's heartbeat waits behind what the link holds (some MiB at 4 MiB/s here): 10 s, not to give up itself.
    const { relayAddress, events, service, carol } = await setup("connection", async (a) => a, 500, async (a) => (await proxy(a, 4 * 1024 * 1024)).address, 10_000);
    expect(carol.relay.forwardingOver).toBe("connection");
    const held = service.registrations.get("carol")!;
    const { n, tcp } = await startNode();
    const connection = await tcp.connect(relayAddress, new TcpConnectionOptions());
    const identity = await createIdentity();
    const toCarol = [];
    for (let i = 0; i < 8; i++) toCarol.push(await createSecureChannel(n, identity, route(connection, "forward_to_carol", "listener")));
    const body = new Uint8Array(64 * 1024);
    let stop = false;
    const sent = { bytes: 0 };
    const pushes = toCarol.map((c) => (async () => {
      for (let i = 0; i < 512 && !stop; i++) await n.send(route(c, "sink"), body, { timeout: 20_000 }).then(() => (sent.bytes += body.length), () => {});
    })());
    await new Promise((r) => setTimeout(r, 5_000));
    stop = true;
    await Promise.all(pushes);
    report(`[connection] a slow registrant fed for 5 s: events: ${events.join("; ") || "none"}; sent ${sent.bytes}`);
    expect(events.filter((e) => e.startsWith("relay removed carol"))).toEqual([]);
    expect(service.registrations.get("carol")?.forwarder).toBe(held.forwarder);
    expect(sent.bytes).toBeGreaterThan(8 * 1024 * 1024);
  });

  // A registrant's connection that carries its forwarded traffic does not wait for a full initiator connection it
  // answers (markSharedFeeder). Before, that held for every connection it fed: a registrant mallory that also used
  // forward_to_carol once could then send on its own connection straight to carol's (the forwarder opened that way),
  // past carol's high-water mark while carol read slowly, until carol's connection passed maxSendBufferBytes and was
  // closed: carol's names removed, and by the next-hop rule every initiator connection that fed only carol.
  it("a registrant cannot push another registrant's connection past its bound: it waits for it as any initiator does", async () => {
    // Carol's pings wait behind what her 4 MiB/s link holds (1.5-2 s here, more on a loaded host): a 10 s reply timeout,
    // so that only what this test is about (her connection closed past its bound) can remove her.
    const { relayAddress, events, service, carol } = await setup("connection", async (a) => a, 500, async (a) => (await proxy(a, 4 * 1024 * 1024)).address, 10_000);
    expect(carol.relay.forwardingOver).toBe("connection");
    const { n, tcp } = await startNode();
    let own: Awaited<ReturnType<typeof tcp.connect>> | undefined;
    const mallory = await createRemoteRelay(n, {
      name: "mallory",
      identity: await createIdentity(),
      connect: async (signal) => {
        const c = (own = await tcp.connect(relayAddress, new TcpConnectionOptions(), { signal }));
        return { route: c, closed: c.whenClosed(), close: () => c.stop() };
      },
      forwardOver: "connection",
      replyTimeoutMs: 2_000,
      onEvent: (e: RemoteRelayEvent) => events.push(`mallory ${e.kind}`),
    });
    expect(mallory.forwardingOver).toBe("connection");
    const held = service.registrations.get("carol")!;
    const carolConnection = held.forwarder.to.next().toString();
    const carolRemoteRelay = held.forwarder.to.popFront().next().toString();
    const alice = await channelTo(relayAddress, "carol");
    // Once through the forwarder (which opens the way between the two connections), then straight to carol's connection.
    await n.send(route(own!, "forward_to_carol", carolRemoteRelay, "nowhere"), "hello");
    const body = new Uint8Array(64 * 1024);
    let stop = false;
    const flood = (async () => {
      for (let i = 0; i < 2048 && !stop; i++) await n.send(route(own!, carolConnection, carolRemoteRelay, "nowhere"), body, { timeout: 20_000 }).catch(() => {});
    })();
    // Each echo waits behind what carol's 4 MiB/s link holds (mallory's sends queue there as anyone's do): 5 s each.
    const seen = await echoes(alice.n, alice.channel, 10_000, 5_000);
    stop = true;
    await flood;
    report(`[connection] alice's echoes to carol while mallory pushes carol's connection: ${seen.results.join(" ")}; events: ${events.join("; ") || "none"}`);
    // Before: carol's connection was closed (SendBufferBudgetError) within a second or two, carol removed.
    expect(events.filter((e) => e.startsWith("relay removed carol")), events.join("; ")).toEqual([]);
    expect(events).not.toContain("carol disconnected");
    expect(service.registrations.get("carol")?.forwarder).toBe(held.forwarder);
    expect(seen.results.slice(-3).every((r) => /^\d+$/.test(r)), seen.results.join(" ")).toBe(true);
    await mallory.stop();
  });
});
