// A node's heartbeat budget (an adversarial trial, session 44): each end heartbeats as often as
// its peer's announced timeout or its own keepalive interval asks, down to 50 ms a channel, so
// 4,096 channels cost a whole core. The node spreads its budget evenly over the channels that
// heartbeat under 5 s apart; those at 5 s or more (the defaults: 10 s) are not counted.
import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError, node, route, type Node } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, SecureChannelOptions, setHeartbeatBudget } from "@hopwire/secure-channel";
import { HeartbeatBudget, heartbeatBudgetOf } from "../dist/secure-channel/heartbeat-budget.js";
import { eventually } from "../../../test/support/eventually.js";

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

/** Alice and bob, bob listening with `keepaliveInterval` (his ends heartbeat that often at most), alice connected. */
async function pair(keepaliveInterval: number) {
  const [alice, bob] = [await node(), await node()];
  nodes.push(alice, bob);
  const tcpListener = await (await createTcpTransport(bob)).listen("127.0.0.1:0");
  const listener = await createSecureChannelListener(bob, await createIdentity(), "bob_listener", new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId).withKeepaliveInterval(keepaliveInterval));
  const connection = await (await createTcpTransport(alice)).connect(tcpListener.address);
  return { alice, bob, listener, connection };
}

describe("the heartbeat budget", () => {
  it("spreads its rate evenly: each budgeted end heartbeats no closer than their number / the rate apart", () => {
    const budget = new HeartbeatBudget(50);
    expect(budget.spacing).toBe(0);
    for (let i = 0; i < 20; i++) budget.join();
    expect(budget.spacing).toBe(400);
    budget.perSecond = 10;
    expect(budget.spacing).toBe(2_000);
    budget.leave();
    expect(budget.budgeted).toBe(19);
  });

  it("setHeartbeatBudget takes a positive whole number", async () => {
    const n = await node();
    nodes.push(n);
    for (const bad of [0, -1, 1.5, Number.NaN, "5"]) {
      expect(() => setHeartbeatBudget(n, bad as number)).toThrow(InvalidOptionError);
    }
    setHeartbeatBudget(n, 7);
    expect(heartbeatBudgetOf(n).perSecond).toBe(7);
  });

  it("channels that ask for more than the budget get it between them, evenly: no more is sealed, and peers that time out after 5 s keep their channels", async () => {
    const { alice, bob, listener, connection } = await pair(50);
    setHeartbeatBudget(bob, 50);
    const budget = heartbeatBudgetOf(bob);
    // Bob's ends would heartbeat every 50 ms each: 20 channels ask for 400 a second; the budget spaces them 400 ms apart.
    const options = new SecureChannelOptions().withPeerTimeout(5_000);
    const channels = await Promise.all(Array.from({ length: 20 }, async () => createSecureChannel(alice, await createIdentity(), route(connection, "bob_listener"), options)));
    await eventually(() => budget.budgeted === 20, 20_000, "bob's 20 ends budgeted");
    const start = performance.now();
    const sealedBefore = budget.sealed;
    // Past alice's 5 s timeout: every channel must have heard from bob in time.
    await eventually(() => performance.now() - start > 6_000, 20_000, "6 s");
    const elapsed = (performance.now() - start) / 1000;
    expect(budget.sealed - sealedBefore).toBeLessThanOrEqual(Math.ceil(50 * elapsed) + 20);
    expect(budget.sealed - sealedBefore).toBeGreaterThan(20 * 5); // each channel about every 400 ms, not starved
    expect(listener.channelCount).toBe(20);
    expect(channels.filter((channel) => channel.isClosed).map((channel) => channel.closedReason?.message)).toEqual([]);
  }, 60_000);

  it("heartbeats 5 s apart or more are not budgeted: such an idle channel keeps its pace whatever the budget", async () => {
    const { alice, bob, connection } = await pair(5_000);
    setHeartbeatBudget(bob, 1);
    const budget = heartbeatBudgetOf(bob);
    for (let i = 0; i < 1_000; i++) budget.join(); // a thousand budgeted channels elsewhere: their spacing is 1,000 s
    try {
      // Alice's end closes the channel after 15 s of silence; bob's end heartbeats every 5 s.
      const channel = await createSecureChannel(alice, await createIdentity(), route(connection, "bob_listener"), new SecureChannelOptions().withPeerTimeout(15_000));
      const openedAt = performance.now();
      await eventually(() => channel.isClosed || performance.now() - openedAt > 17_000, 40_000, "17 s, past alice's timeout");
      expect(channel.closedReason?.message).toBeUndefined();
    } finally {
      for (let i = 0; i < 1_000; i++) budget.leave();
    }
  }, 60_000);
});
