import { describe, expect, it } from "vitest";
import { Echoer, Hop, Relay, route } from "@hopwire/runtime";
import { withNode } from "./helpers.js";

// Issue 11, item 7: the guide's workers are public built-ins of the runtime.

describe("built-in workers", () => {
  it("Echoer replies with the body, on a thread of its own, in the pool and on the main thread", async () => {
    await withNode({ warnings: false }, async (n) => {
      await n.startWorker("echoer", Echoer);
      await n.startWorker("pooled", Echoer, { placement: "pool" });
      await n.startWorker("beside", new Echoer(), { placement: "main" });
      expect(await n.sendAndReceive("echoer", "thread", { timeout: 20_000 })).toBe("thread");
      expect(await n.sendAndReceive("pooled", { a: [1, 2] }, { timeout: 20_000 })).toEqual({ a: [1, 2] });
      expect(await n.sendAndReceive("beside", "main", { timeout: 20_000 })).toBe("main");
    });
  });

  it("Hop steps through a route and the reply retraces it", async () => {
    await withNode({ warnings: false }, async (n) => {
      await n.startWorker("echoer", Echoer, { placement: "pool" });
      await n.startWorker("h1", Hop);
      await n.startWorker("h2", Hop, { placement: "pool" });
      expect(await n.sendAndReceive(route("h1", "h2", "echoer"), "hopped", { timeout: 20_000 })).toBe("hopped");
    });
  });

  it("Relay forwards to its fixed route, keeping the return route", async () => {
    await withNode({ warnings: false }, async (n) => {
      await n.startWorker("echoer", Echoer, { placement: "pool" });
      await n.startWorker("h", Hop, { placement: "pool" });
      await n.startWorker("forward_to_echoer", Relay, { args: [route("h", "echoer")] });
      expect(await n.sendAndReceive("forward_to_echoer", "relayed", { timeout: 20_000 })).toBe("relayed");
      expect(() => new Relay(route())).toThrow();
    });
  });
});
