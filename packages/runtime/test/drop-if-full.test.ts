// `send(..., { ifFull: "drop" })`: a sender that serves many peers cannot be held by one whose
// first hop stays full (a peer that reads nothing, or withholds a channel's credit). Each test
// fills a "gated" main worker that handles nothing until opened, and checks that the sender's
// later sends elsewhere get through meanwhile, that what did not fit was dropped with the
// node's "dropped" event (reason "full"), and that what was delivered kept its order.
import { describe, expect, it } from "vitest";
import { Echoer, encodeBody, LocalMessage, MailboxFullError, route, type DroppedEvent, type Node, type NodeWarning } from "@hopwire/runtime";
import { DropIfFullSender } from "./fixtures/workers.js";
import { indexOfBody, startGated, startRecorder, withNode } from "./helpers.js";
import { eventually } from "../../../test/support/eventually.js";

const BOUND = 4;
const COUNT = 200;

/** A main worker "gated" that handles nothing until `open()`; `got` lists the `i` it handled, in order. */
const startGatedByIndex = (n: Node) => startGated(n, "gated", BOUND, indexOfBody);

function droppedFull(n: Node): DroppedEvent[] {
  const events: DroppedEvent[] = [];
  n.on("dropped", (event) => {
    if (event.reason === "full") events.push(event);
  });
  return events;
}

/** What was delivered is in order, and with what was dropped makes up every send. */
function expectAccounted(got: number[], dropped: DroppedEvent[]): void {
  expect(got).toEqual([...got].sort((a, b) => a - b));
  expect(got.length + dropped.length).toBe(COUNT);
  expect(got.length).toBeLessThanOrEqual(2 * BOUND + 2);
  expect(dropped.length).toBeGreaterThan(0);
}

describe('send with { ifFull: "drop" }', () => {
  const cases = [
    ...(["main", "thread", "pool"] as const).map((placement) => ({ placement, together: false, forward: false, how: "" })),
    { placement: "thread" as const, together: true, forward: false, how: " (un-awaited sends to a hop not granted yet)" },
    ...(["main", "thread", "pool"] as const).map((placement) => ({ placement, together: false, forward: true, how: " (forward)" })),
  ];
  for (const { placement, together, forward, how } of cases) {
    it(`${placement} sender${how}: a full first hop drops, the sender's later sends go on`, async () => {
      await withNode({}, async (n) => {
        const gated = await startGatedByIndex(n);
        const after = await startRecorder(n, "after");
        const dropped = droppedFull(n);
        await n.startWorker("sender", DropIfFullSender, { placement });
        await n.send("sender", { to: "gated", count: COUNT, then: "after", together, forward });
        // With the sender held by the full mailbox, "done" would come only once "gated" is opened.
        // It is routed after every send before it (one ordered stream), each delivered or dropped by then.
        await eventually(() => after.length === 1, 20_000, '"done" past the full mailbox');
        expect(after).toEqual(["done"]);
        gated.open();
        await eventually(() => gated.got.length + dropped.length === COUNT, 20_000, "the delivered ones handled");
        expectAccounted(gated.got, dropped);
        expect(dropped[0]).toMatchObject({ address: "gated", from: "sender", reason: "full" });
        expect(dropped[0]!.error).toBeInstanceOf(MailboxFullError);
        expect(dropped[0]!.error).toMatchObject({ code: "MAILBOX_FULL" });
      });
    }, 60_000);
  }

  it("the warning says what was full and that the sender chose to drop", async () => {
    const lines: NodeWarning[] = [];
    await withNode({ warnings: (_line, warning) => void lines.push(warning) }, async (n) => {
      await startGatedByIndex(n);
      const after = await startRecorder(n, "after");
      await n.startWorker("sender", DropIfFullSender, { placement: "main" });
      await n.send("sender", { to: "gated", count: COUNT, then: "after" });
      await eventually(() => after.length === 1, 20_000, '"done"');
      const full = lines.filter((w) => w.kind === "dropped" && w.reason === "full");
      expect(full).toHaveLength(1); // once a minute per cause
      expect(full[0]!.parts.body).toMatch(/^dropped a message from sender for "gated": 0#gated was full, and the send asked to drop rather than wait \(\{ ifFull: "drop" \}\)/);
    });
  }, 60_000);

  it("a hop with room is not dropped: every send is delivered, in order", async () => {
    await withNode({}, async (n) => {
      const got = await startRecorder(n, "roomy");
      const after = await startRecorder(n, "after");
      const dropped = droppedFull(n);
      await n.startWorker("sender", DropIfFullSender);
      await n.send("sender", { to: "roomy", count: COUNT, then: "after" });
      await eventually(() => after.length === 1, 20_000, '"done"');
      await eventually(() => got.length === COUNT, 20_000, "every send delivered");
      expect(got).toEqual(Array.from({ length: COUNT }, (_, i) => ({ i })));
      expect(dropped).toEqual([]);
    });
  }, 60_000);

  it("the built-in Echoer on a thread drops answers to a full asker and goes on answering the others", async () => {
    await withNode({}, async (n) => {
      const gated = await startGatedByIndex(n);
      const dropped = droppedFull(n);
      await n.startWorker("echoer", Echoer);
      // Questions whose answers go to "gated", which takes none: an asker that reads nothing.
      for (let i = 0; i < COUNT; i++) await n.forward(new LocalMessage(route("echoer"), route("gated"), encodeBody({ i })));
      await eventually(() => dropped.length > 0, 20_000, "an answer dropped");
      // Held behind the full asker, this would time out.
      expect(await n.sendAndReceive("echoer", "still there?", { timeout: 20_000 })).toBe("still there?");
      gated.open();
      await eventually(() => gated.got.length + dropped.length === COUNT, 20_000, "every answer handled or dropped");
      expectAccounted(gated.got, dropped);
      expect(dropped.every((event) => event.from === "echoer")).toBe(true);
    });
  }, 60_000);
});
