import { afterEach, describe, expect, it } from "vitest";
import { route, type Node } from "@hopwire/runtime";
import { startNode } from "./support.js";
import { sendReusingOneBuffer, UniformChecker } from "../../../test/support/uniform-checker.js";

// A send whose first hop is a connection lends it the caller's bytes: the connection copies
// them into its write buffer before `send` returns (Mailbox.deliverBytes), instead of the
// send copying them into a fresh buffer first. Either way the caller may reuse its buffer
// as soon as `send` returns: these fill ONE buffer again after every send.

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/** A bin8 body copied next to its head anyway, one the writer would otherwise pass on as a view, one with a bin32 header (larger than an arena). */
const SIZES = [64, 5000, 70_000];
const COUNT = 512;

describe("a bytes body sent into a connection is the caller's to reuse as soon as send returns", () => {
  for (const awaitEach of [true, false]) {
    it(awaitEach ? "each send awaited: lent to the connection, copied once into its write buffer" : "sends not awaited (some wait for room): bodies intact", async () => {
      const b = await startNode("b");
      nodes.push(b.node);
      const checker = new UniformChecker();
      await b.node.startWorker("checker", checker, { placement: "main" });
      const listener = await b.tcp.listen("127.0.0.1:0");
      b.node.flowControls.addConsumer("checker", listener.flowControlId);
      // A small high-water mark: the connection fills, and the sends behind it wait with their own copy.
      const a = await startNode("a", { sendHighWaterMark: 256 * 1024 });
      nodes.push(a.node);
      const connection = await a.tcp.connect(listener.address);
      const mailbox = a.node.router.mailboxOf(connection.address)!;
      const sent = await sendReusingOneBuffer((to, body) => a.node.send(to, body), route(connection, "checker"), mailbox, checker, { sizes: SIZES, count: COUNT, awaitEach });
      expect(sent.reports).toEqual(SIZES.map((_, k) => ({ count: (k + 1) * COUNT, bad: 0 })));
      // Awaited, every send that found room went through deliverBytes, but for the first two (the route learns its
      // mailbox, and the first send's routing changes the router's epoch once: RouteMemo); a send that found the first
      // hop full waited, with its own copy.
      if (awaitEach) {
        expect(sent.lendable).toBeGreaterThan(COUNT);
        expect(sent.lent).toBeGreaterThanOrEqual(sent.lendable - 2);
      }
    }, 60_000);
  }
});
