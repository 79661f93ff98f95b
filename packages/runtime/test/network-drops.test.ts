import { describe, expect, it } from "vitest";
import { Address, FlowControlDeniedError, LocalMessage, RouteMemo, UnknownAddressError, route, type DeniedEvent, type DroppedEvent } from "@hopwire/runtime";
import { withNode } from "./helpers.js";

// What the router does with a message from the network (its sender a producer: a connection, a
// channel) that it cannot deliver: a peer decides how many there are (an adversarial trial held
// a node's loop for seconds with them), so each costs no stack, no new error while they repeat,
// and no throw for the readers of the network (routeOrDrop); the node is still told of each.

const message = (to: string, from: Address): LocalMessage => new LocalMessage(route(to), route(from, "peer"), new Uint8Array(1));

describe("a network message the router cannot deliver", () => {
  it("is reported every time, with one stackless error per kind and address while they repeat", async () => {
    await withNode({ warnings: false }, async (n) => {
      const producer = Address.random();
      n.flowControls.addProducer(producer, n.flowControls.generateId());
      await n.startWorker("private", { handleMessage() {} }, { placement: "main" });
      const dropped: DroppedEvent[] = [];
      const denied: DeniedEvent[] = [];
      n.on("dropped", (event) => dropped.push(event));
      n.on("denied", (event) => denied.push(event));

      const thrown = (to: string): unknown => {
        try {
          n.router.route(message(to, producer), producer.key);
        } catch (error) {
          return error;
        }
        throw new Error("route did not throw");
      };
      const first = thrown("nobody");
      expect(first).toBeInstanceOf(FlowControlDeniedError);
      expect(thrown("nobody")).toBe(first); // the same error, not one per message
      expect(thrown("private")).not.toBe(first); // another address: its own
      expect((first as Error).stack).not.toMatch(/\n\s+at /); // no frames captured
      expect(dropped.map((e) => [e.address, e.reason])).toEqual([
        ["nobody", "unknown-address"],
        ["nobody", "unknown-address"],
      ]);
      expect(dropped[0]!.error).toBeInstanceOf(UnknownAddressError);
      expect(dropped[1]!.error).toBe(dropped[0]!.error);
      expect(denied.map((e) => e.address)).toEqual(["private"]);

      // routeOrDrop: the same reports, nothing thrown; RouteMemo's too.
      expect(n.router.routeOrDrop(message("nobody", producer), producer.key)).toBeUndefined();
      expect(new RouteMemo(n.router, producer.key).routeOrDrop(message("private", producer))).toBeUndefined();
      expect(dropped).toHaveLength(3);
      expect(denied).toHaveLength(2);
    });
  });

  it("still throws, with a stack, for a local sender, whether through route or routeOrDrop", async () => {
    await withNode({ warnings: false }, async (n) => {
      const local = Address.random();
      for (const routeIt of [() => n.router.route(message("nobody", local), local.key), () => n.router.routeOrDrop(message("nobody", local), local.key)]) {
        let error: unknown;
        try {
          routeIt();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(UnknownAddressError);
        expect((error as Error).stack).toMatch(/\n\s+at /);
      }
    });
  });
  it("is refused quietly at a tombstone (Mailbox.tombstone), until a worker takes the address again", async () => {
    await withNode({ warnings: false }, async (n) => {
      const producer = Address.random();
      n.flowControls.addProducer(producer, n.flowControls.generateId());
      const dropped: DroppedEvent[] = [];
      const denied: DeniedEvent[] = [];
      n.on("dropped", (event) => dropped.push(event));
      n.on("denied", (event) => denied.push(event));
      const answered: string[] = [];
      const ended = new Address(0, "ended");
      const tombstone = { address: ended, tombstone: true, deliver: () => void answered.push("closed") };
      n.router.register([ended], tombstone);
      // The program's own sends reach the tombstone; the network's are refused, no event.
      n.router.route(message("ended", Address.random()), undefined);
      expect(answered).toEqual(["closed"]);
      expect(n.router.routeOrDrop(message("ended", producer), producer.key)).toBeUndefined();
      expect([dropped.length, denied.length]).toEqual([0, 0]);
      // A worker at the address again: a denial is reported, as anywhere.
      n.router.unregister1(ended);
      await n.startWorker("ended", { handleMessage() {} }, { placement: "main" });
      expect(n.router.routeOrDrop(message("ended", producer), producer.key)).toBeUndefined();
      expect(denied.map((e) => e.address)).toEqual(["ended"]);
    });
  });
});
