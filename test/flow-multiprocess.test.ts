// Backpressure end to end, across real processes: bulk traffic through a relay stays bounded,
// and a flooded channel does not slow its neighbour (the slow consumer is in
// flow-slow-consumer.test.ts). Each fixture prints `RSS <bytes>` every 250 ms; the tests compare
// the growth after a warm-up with 64 MiB (issue 8's bound).
import { afterEach, describe, expect, it } from "vitest";
import { killAll, portOf, rssGrowthAfter, startChild } from "./support/children.js";
import { BOUND, fixture, listening, received } from "./support/flow.js";

const MiB = 1024 * 1024;

afterEach(() => killAll());

describe("flow across processes", () => {
  // Issue 8's test 2 names 1 GiB and test 1 names 30 s: kept at those sizes, though they are the suite's longest.
  it("1 GiB of awaited 16 KiB sends through a secure channel over two TCP hops via a relay: no error, memory bounded, all delivered in order", async () => {
    try {
      const responder = startChild(fixture("flow/responder.mjs"), ["0", "8192", "1024"]);
      const middle = startChild(fixture("flow/middle.mjs"), [await listening(responder)]);
      const initiator = startChild(fixture("flow/initiator.mjs"), [
        `127.0.0.1:${portOf(await listening(middle))}`,
        "forward_to_bob,bob_listener",
        "16384",
        `bytes:${1024 * MiB}`,
      ]);
      // Warm-up: the first 64 MiB (the sender prints SENT every 500 ms).
      await initiator.line(/^SENT ([4-9]\d{3}|\d{5,})$/);
      const warm = Date.now();
      const done = await Promise.race([initiator.line(/^DONE (\d+)$/), initiator.line(/^ERROR (.*)$/)]);
      expect(done[0]).toBe("DONE 65536");
      const [, next, outOfOrder] = await received(responder, 65_536);
      expect(Number(next)).toBe(65_536);
      expect(Number(outOfOrder)).toBe(0);
      for (const child of [initiator, middle, responder]) {
        await child.nextLine(/^RSS /);
        expect(rssGrowthAfter(child, warm).growth).toBeLessThan(BOUND);
      }
    } finally {
      killAll();
    }
  }, 300_000);

  it("two channels over one connection via a relay, one flooding a slow worker, one to an echoer: echo p50 stays within 3x of unloaded, the flood stays in order", async () => {
    try {
      const responder = startChild(fixture("flow/responder.mjs"), ["10", "64", "1"]);
      const middle = startChild(fixture("flow/middle.mjs"), [await listening(responder)]);
      const initiator = startChild(fixture("flow/two-channels.mjs"), [`127.0.0.1:${portOf(await listening(middle))}`, "forward_to_bob,bob_listener"]);
      const result = await Promise.race([initiator.line(/^P50 (\S+) (\S+) (\d+) (\d+)$/), initiator.line(/^ERROR (.*)$/)]);
      expect(result[0]).toMatch(/^P50/);
      const [, unloaded, loaded, sent, waits] = result;
      console.log(`echo p50 via the relay: unloaded ${unloaded} ms, beside the flood ${loaded} ms (${sent} flood messages, ${waits} waited)`);
      expect(Number(waits)).toBeGreaterThanOrEqual(3); // the flooded channel was at its bounds
      expect(Number(loaded)).toBeLessThanOrEqual(3 * Number(unloaded));
      // The sink's latest report (not its first): everything the flood delivered so far arrived in order.
      const report = /^RECEIVED (\d+) (\d+) (\d+)$/;
      const latest = responder.lines.findLast((l) => report.test(l))?.match(report) ?? (await responder.line(report));
      const [, count, , outOfOrder] = latest;
      expect(Number(count)).toBeGreaterThan(1);
      expect(Number(outOfOrder)).toBe(0);
    } finally {
      killAll();
    }
  }, 180_000);
});
