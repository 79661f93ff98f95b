// A node's heartbeat budget (an adversarial trial, session 44): each end heartbeats as often as
// its peer's announced timeout or its own keepalive interval asks, down to 50 ms a channel, so
// 4,096 channels cost a whole core. The node seals at most its budget a second, over all its
// channels; an end refused tries again later.
import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError, node, route, type Node } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, setHeartbeatBudget } from "@hopwire/secure-channel";
import { HeartbeatBudget, heartbeatBudgetOf } from "../dist/secure-channel/heartbeat-budget.js";
import { eventually } from "../../../test/support/eventually.js";

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

describe("the heartbeat budget", () => {
  it("is a token bucket of one second's worth", () => {
    const budget = new HeartbeatBudget(10, 0);
    for (let i = 0; i < 10; i++) expect(budget.take(0)).toBe(true);
    expect(budget.take(0)).toBe(false);
    expect(budget.take(99)).toBe(false); // 0.99 of a token
    expect(budget.take(100)).toBe(true);
    expect(budget.take(5_000)).toBe(true); // refilled to 10, not 49
    for (let i = 0; i < 9; i++) expect(budget.take(5_000)).toBe(true);
    expect(budget.take(5_000)).toBe(false);
    expect([budget.taken, budget.refused]).toEqual([21, 3]);
    budget.perSecond = 2;
    expect(budget.take(10_000)).toBe(true);
    expect(budget.take(10_000)).toBe(true);
    expect(budget.take(10_000)).toBe(false);
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

  it("a node whose channels ask for more heartbeats than its budget seals no more than the budget, and the channels stay open", async () => {
    const [alice, bob] = [await node(), await node()];
    nodes.push(alice, bob);
    setHeartbeatBudget(bob, 50);
    const budget = heartbeatBudgetOf(bob);
    const tcpListener = await (await createTcpTransport(bob)).listen("127.0.0.1:0");
    // Bob's ends heartbeat every 50 ms each: 20 channels ask for 400 a second.
    const listener = await createSecureChannelListener(bob, await createIdentity(), "bob_listener", new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId).withKeepaliveInterval(50));
    const connection = await (await createTcpTransport(alice)).connect(tcpListener.address);
    const start = performance.now();
    const takenBefore = budget.taken;
    const channels = await Promise.all(Array.from({ length: 20 }, async () => createSecureChannel(alice, await createIdentity(), route(connection, "bob_listener"))));
    await eventually(() => budget.refused > 20, 20_000, "heartbeats refused for want of budget");
    const elapsed = (performance.now() - start) / 1000;
    // One second's worth at the start, then 50 a second.
    expect(budget.taken - takenBefore).toBeLessThanOrEqual(50 + Math.ceil(50 * elapsed) + 1);
    expect(listener.channelCount).toBe(20);
    expect(channels.every((channel) => !channel.isClosed)).toBe(true);
  }, 60_000);
});
