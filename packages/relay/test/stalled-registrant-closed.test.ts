import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { createServer, connect, type Server, type Socket } from "node:net";
import { route } from "@hopwire/runtime";
import { SecureChannelListenerOptions, sendQueueUse } from "@hopwire/secure-channel";
import { startChild } from "../../../test/support/children.js";
import { type RelayServiceEvent } from "../dist/index.js";
import { startAlice, startIvy, startRelayNode, stopNodesAfterEach } from "./relay-node.js";

// A registrant that reads nothing from the relay node but keeps talking to it (its heartbeats still come:
// a hostile registrant, or one whose way back is stalled), reached by an initiator whose channels to it allow
// more in flight than its connection's share of the registrant channel (SHARED_HOLD_PER_FEEDER_BYTES,
// 16 MiB: here 8 channels of 4 MiB windows). The relay node pauses that initiator's connection, and its
// channel to another registrant (ivy) stops with it. Before the stall limit (SHARED_HOLD_STALL_SHARE of
// the registrant channel's peer timeout), that lasted as long as the registrant stayed connected: its
// heartbeats kept the channel open. Now the relay node closes the registrant's channel
// (SecureChannelPeerStalledError) once it held records past its limits without passing any on for that
// long; the initiator's connection resumes and stays open.
const registrantFixture = fileURLToPath(new URL("./fixtures/registrant.mjs", import.meta.url));

stopNodesAfterEach();

/**
 * A TCP proxy in front of `upstream` ("host:port"). `stall()` stops reading from upstream and passing its bytes on;
 * `throttle(bytesPerSecond)` passes them on at that pace. The client's bytes always go up at once.
 */
async function oneWayProxy(upstream: string): Promise<{ address: string; stall: () => void; throttle: (bytesPerSecond: number) => void; close: () => void }> {
  const at = upstream.lastIndexOf(":");
  const [host, port] = [upstream.slice(0, at), Number(upstream.slice(at + 1))];
  const sockets: Socket[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const ups: Socket[] = [];
  let stalled = false;
  let rate = 0;
  const server: Server = createServer((client) => {
    const up = connect(port, host);
    sockets.push(client, up);
    ups.push(up);
    client.pipe(up);
    up.on("data", (d: Buffer) => {
      if (stalled) return;
      client.write(d);
      if (rate === 0) return;
      up.pause();
      const t = setTimeout(() => { timers.delete(t); if (!stalled) up.resume(); }, (d.length / rate) * 1000);
      timers.add(t);
    });
    for (const s of [client, up]) s.on("error", () => {});
    client.on("close", () => up.destroy());
    up.on("close", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port: p } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${p}`,
    stall: () => {
      stalled = true;
      for (const up of ups) up.pause();
    },
    throttle: (bytesPerSecond) => (rate = bytesPerSecond),
    close: () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/**
 * A relay node (its channels' peer timeout `peerTimeout`: the stall limit is a third of it), ivy registered in this
 * process, bob registered from a child process through a proxy, and alice connected to the relay node with one
 * channel to ivy and `channelsToBob` to bob (4 MiB windows each; 8: past the 16 MiB share of her connection).
 */
async function setup(proxies: { close: () => void }[], peerTimeout: number, channelsToBob = 8) {
  const events: RelayServiceEvent[] = [];
  const { n: relayN, address: relayAddress } = await startRelayNode((e) => events.push(e), new SecureChannelListenerOptions().withPeerTimeout(peerTimeout));

  await startIvy(relayAddress);

  const proxy = await oneWayProxy(relayAddress);
  proxies.push(proxy);
  // Bob checks its registration once a minute: it does not give its channel up itself (its remote relay would,
  // 10 s after the relay node stopped answering, at its default heartbeat of 5 s and reply timeout of 5 s).
  process.env.REGISTRANT_HEARTBEAT_MS = "60000";
  const bob = startChild(registrantFixture, [proxy.address, "bob"]);
  delete process.env.REGISTRANT_HEARTBEAT_MS;
  await bob.line(/^REGISTERED /);

  const { alice, conn, toBob, echoIvy: echo } = await startAlice(relayAddress, channelsToBob);
  console.log(`echo to ivy before: ${(await echo(3_000)).toFixed(1)} ms`);
  const stats = { sent: 0 };
  /** Alice sends bob 16 MiB on each channel as a well-behaved sender does: each send waits for room. */
  const push = (): void => {
    const body = new Uint8Array(64 * 1024);
    for (const channel of toBob) void (async () => {
      for (let i = 0; i < 256; i++) await alice.n.send(route(channel, "echoer"), body, { timeout: 60_000 }).then(() => (stats.sent += body.length), () => {});
    })();
  };
  const removed = () => events.filter((e) => e.kind === "removed").map((e) => `${e.name} (${"reason" in e ? e.reason : ""})`);
  return { relayN, proxy, conn, echo, push, stats, removed };
}

describe("a registrant that reads nothing", { timeout: 90_000 }, () => {
  const proxies: { close: () => void }[] = [];
  afterEach(() => proxies.splice(0).forEach((p) => p.close()));

  it("is closed by the relay node, and the initiator's connection carries its other channels again", async () => {
    // A 3 s peer timeout: the stall limit is 1 s; bob heartbeats every second, as the relay node's end asks.
    const { proxy, conn, echo, push, stats, removed } = await setup(proxies, 3_000);
    proxy.stall();
    const stalledAt = performance.now();
    push();
    // Until ivy answers again: each try 500 ms at most, for up to 15 s (the registrant's own end, hearing
    // nothing from the relay node, would give up at its 30 s peer timeout: this must come well before).
    const results: string[] = [];
    let failures = 0;
    let answeredAt: number | undefined;
    for (;;) {
      const since = performance.now() - stalledAt;
      if (since > 15_000) break;
      try {
        const ms = await echo(500);
        results.push(`${ms.toFixed(0)}ms`);
        // Answered after the stall took hold (a failure seen), or long after it began: recovered.
        if (failures > 0 || since > 5_000) { answeredAt = performance.now() - stalledAt; break; }
      } catch (error) {
        failures++;
        results.push((error as { code?: string }).code ?? String(error));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`echoes to ivy while bob reads nothing: ${results.join(", ")}; ivy answered again ${answeredAt?.toFixed(0)} ms after the stall; alice's sends to bob that went: ${stats.sent} bytes; removed: ${removed().join(", ")}`);
    expect(failures, "the stall paused the initiator's connection").toBeGreaterThan(0);
    expect(answeredAt, "ivy answers again while bob is still connected").toBeDefined();
    expect(removed()).toEqual(["bob (its secure channel closed: SECURE_CHANNEL_PEER_STALLED)"]);
    // The initiator's connection was not closed for bob's fault, and carries ivy's echoes at once.
    expect(conn.state).toBe("open");
    expect(await echo(3_000)).toBeLessThan(3_000);
  });

  // Slow is not stalled: a registrant that takes what it is sent, however slowly, keeps its channel (its
  // initiator's connection still waits past its share until the registrant channel's queue drains).
  it("a registrant that reads slowly keeps its channel", async () => {
    // A 9 s peer timeout: the stall limit is 3 s, far more than the gap between two records sealed at this pace,
    // even on a loaded host, and less than the ≈ 10 s it takes to drain what the hold took (20 MB): the limit is
    // on passing nothing on, not on draining (with a 1 s limit, this test failed once in a run beside other files, host at load 9).
    const { relayN, proxy, conn, push, stats, removed } = await setup(proxies, 9_000);
    proxy.throttle(2 * 2 ** 20);
    push();
    const t0 = performance.now();
    let most = 0;
    while (performance.now() - t0 < 5_000) {
      most = Math.max(most, sendQueueUse(relayN).bytes);
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`bob reading at 2 MiB/s for 5 s: the relay node's channels held up to ${most} bytes; alice's sends to bob that went: ${stats.sent} bytes; removed: ${removed().join(", ")}`);
    expect(most, "the registrant channel held records past its queue's bound (4 MiB)").toBeGreaterThan(8 * 2 ** 20);
    expect(removed()).toEqual([]);
    expect(conn.state).toBe("open");
  });

  // Slow, and holding nobody up: 3 channels of 4 MiB windows stay under the 16 MiB share of alice's connection, so
  // the hold pauses nobody, and bob, reading at 128 KiB/s (its credit comes back a quarter window, 1 MiB, every
  // 8 s: longer than the 3 s stall limit), keeps its channel. Before, any bytes held past the queue's bound ran
  // the stall clock, and bob was closed (every initiator's records to it dropped) though nobody waited on it.
  it("a registrant that reads slowly while nobody is paused keeps its channel, however long between its credits", async () => {
    const { proxy, conn, push, stats, removed } = await setup(proxies, 9_000, 3);
    proxy.throttle(128 * 1024);
    push();
    await new Promise((r) => setTimeout(r, 10_000));
    console.log(`bob reading at 128 KiB/s for 10 s, 3 channels: alice's sends to bob that went: ${stats.sent} bytes; removed: ${removed().join(", ")}`);
    expect(removed()).toEqual([]);
    expect(conn.state).toBe("open");
  });
});
