// Backpressure end to end, across real processes: a slow consumer behind a secure channel
// slows its sender instead of growing anyone's memory. Each fixture prints `RSS <bytes>` every
// 250 ms; the test compares the growth after a warm-up with 64 MiB (issue 8's bound). A file
// of its own (the rest is flow-multiprocess.test.ts): its 30 s are mostly waiting, so it runs
// beside other files (test/support/sequencer.ts starts it first).
import { afterEach, describe, expect, it } from "vitest";
import { killAll, portOf, rssGrowthAfter, startChild } from "./support/children.js";
import { BOUND, fixture, listening, received } from "./support/flow.js";

afterEach(() => killAll());

describe("flow across processes: a slow consumer", () => {
  it("a sink handling one 1 KiB message per 10 ms, fed for 30 s through a secure channel over TCP: the sender waits, memory stays bounded, every sent message arrives once, in order", async () => {
    try {
      // Small channel windows (256 KiB each way) so that what is in flight drains in seconds
      // at 100 messages a second; the defaults (4 MiB) would take a minute.
      const responder = startChild(fixture("flow/responder.mjs"), ["10", "64", "1", String(256 * 1024)]);
      const address = await listening(responder);
      const initiator = startChild(fixture("flow/initiator.mjs"), [
        `127.0.0.1:${portOf(address)}`,
        "bob_listener",
        "1024",
        "ms:30000",
        String(256 * 1024),
      ]);
      await initiator.line(/^CHANNEL$/);
      const warm = Date.now() + 5_000;
      const done = await Promise.race([initiator.line(/^DONE (\d+)$/), initiator.line(/^ERROR (.*)$/)]);
      expect(done[0]).toMatch(/^DONE/);
      const sent = Number(done[1]);
      // The sink handles ~100 messages a second: a sender that did not wait would have sent
      // hundreds of thousands in 30 s. What is in flight is bounded by the windows on the way.
      // ~3,000 handled plus the windows (~240 messages in flight, ~240 queued for credit, the mailbox's 64).
      expect(sent).toBeGreaterThan(500);
      expect(sent).toBeLessThan(5_000);
      const [, next, outOfOrder] = await received(responder, sent);
      expect(Number(next)).toBe(sent);
      expect(Number(outOfOrder)).toBe(0);
      for (const child of [initiator, responder]) {
        await child.nextLine(/^RSS /);
        expect(rssGrowthAfter(child, warm).growth).toBeLessThan(BOUND);
      }
    } finally {
      killAll();
    }
  }, 180_000);
});
