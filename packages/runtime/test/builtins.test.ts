import { describe, expect, it } from "vitest";
import { Address, Echoer, Hop, LocalMessage, Relay, encodeBody, route } from "@hopwire/runtime";
import { eventually } from "../../../test/support/eventually.js";
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

  it("Echoer answers nobody, without a handler error, when the asker went away (its return route's first hop is gone)", async () => {
    await withNode({ warnings: false }, async (n) => {
      const handlerErrors: unknown[] = [];
      n.on("handler-error", (event) => void handlerErrors.push(event));
      for (const placement of ["main", "thread", "pool"] as const) {
        const address = `echoer-${placement}`;
        await n.startWorker(address, placement === "main" ? new Echoer() : Echoer, { placement });
        // A reply address, a connection's or a channel's: generated, and gone.
        await n.forward(new LocalMessage(route(address), route(Address.random()), encodeBody("late")));
        // Its next answer comes after it handled the one above.
        expect(await n.sendAndReceive(address, "next", { timeout: 20_000 })).toBe("next");
      }
      expect(handlerErrors).toEqual([]);
      // A return route to an address nobody ever had is a wrong route: still the handler's error, to be seen.
      await n.forward(new LocalMessage(route("echoer-main"), route("mistyped"), encodeBody("lost")));
      await eventually(() => handlerErrors.length === 1);
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

  it("Hop drops what is for a full next hop and goes on carrying everyone else's (on a thread and on the main thread)", async () => {
    for (const placement of ["thread", "main"] as const) {
      await withNode({ warnings: false }, async (n) => {
        await n.startWorker("h", Hop, { placement });
        await n.startWorker("echoer", Echoer, { placement: "main" });
        let open!: () => void;
        const gate = new Promise<void>((resolve) => (open = resolve));
        await n.startWorker("deaf", { handleMessage: () => gate }, { placement: "main", mailbox: { maxMessages: 1 } });
        const dropped: string[] = [];
        n.on("dropped", (event) => void (event.reason === "full" && dropped.push(`${event.from} -> ${event.address}`)));
        // Questions whose answers come back through the Hop to "deaf", which takes one and then none.
        for (let i = 0; i < 50; i++) await n.forward(new LocalMessage(route("h", "echoer"), route("deaf"), encodeBody(i)));
        await eventually(() => dropped.length > 0, 20_000, `${placement}: an answer for deaf dropped`);
        expect(await n.sendAndReceive(route("h", "echoer"), "through", { timeout: 5_000 }), placement).toBe("through");
        expect(new Set(dropped)).toEqual(new Set(["h -> deaf"]));
        open();
      });
    }
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
