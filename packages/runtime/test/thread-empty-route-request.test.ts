// A request from a thread whose onward route is empty (the thread's own check bypassed, as a
// broken or hostile thread could) is refused with the route's typed error, leaves no reply
// address registered on the main thread, and the link goes on working.
import { expect, it } from "vitest";
import { Echoer, EmptyRouteRequester, Prober } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";

it("a thread's request with an empty route fails with InvalidRouteError and registers nothing", async () => {
  await withNode({}, async (n) => {
    await n.startWorker("echoer", Echoer, { placement: "main" });
    await n.startWorker("requester", EmptyRouteRequester);
    await n.startWorker("prober", Prober);
    const keys = new Set(n.router.addresses());
    const outcome = await n.sendAndReceive<{ ok: boolean; error?: { name: string } }>("requester", {});
    expect(outcome).toMatchObject({ ok: false, error: { name: "InvalidRouteError" } });
    // No reply address was left behind, and the node still routes for the threads.
    expect(n.router.addresses().filter((key) => !keys.has(key))).toEqual([]);
    expect(await n.sendAndReceive("prober", { op: "sendAndReceive", target: "echoer", body: "after" })).toEqual({ ok: true, value: "after" });
  });
});
