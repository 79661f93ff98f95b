// A thread worker's sendAndReceive registers a reply address on the main thread for each
// request, at the thread's own mailbox. It is registered short-lived (Router.isShortLived): no
// RouteMemo keeps it, so its going leaves the router's epoch, and every memo on the node, as
// they were. Before, each such request spoiled them all once.
import { expect, it } from "vitest";
import { Echoer, Prober } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";

it("a thread worker's requests come and go without a new router epoch, each reply address going with its request", async () => {
  await withNode({}, async (n) => {
    await n.startWorker("echoer", Echoer, { placement: "main" });
    await n.startWorker("prober", Prober);
    // A first request sets up what later ones reuse (the thread's grant for "echoer", the hop's watch).
    expect(await n.sendAndReceive("prober", { op: "sendAndReceive", target: "echoer", body: "first" })).toEqual({ ok: true, value: "first" });
    const epoch = n.router.epoch;
    const keys = new Set(n.router.addresses());
    for (let i = 0; i < 5; i++) {
      expect(await n.sendAndReceive("prober", { op: "sendAndReceive", target: "echoer", body: i })).toEqual({ ok: true, value: i });
    }
    expect(n.router.epoch).toBe(epoch);
    // Every request's reply address went with it.
    expect(n.router.addresses().filter((key) => !keys.has(key))).toEqual([]);
  });
});
