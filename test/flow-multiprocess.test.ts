// Backpressure end to end, across real processes: a slow consumer behind a secure channel
// slows its sender instead of growing anyone's memory, and bulk traffic through a relay
// stays bounded. Each fixture prints `RSS <bytes>` every 250 ms; the tests compare the
// growth after a warm-up with 64 MiB (issue 8's bound).
import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { killAll, portOf, rssGrowthAfter, startChild, type Child } from "./support/children.js";

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const MiB = 1024 * 1024;
const BOUND = 64 * MiB;

afterEach(() => killAll());

async function listening(child: Child): Promise<string> {
  return (await child.line(/^LISTENING (\S+)$/))[1]!;
}

/** Waits until the responder's sink reported `count` messages handled. */
function received(responder: Child, count: number): Promise<RegExpMatchArray> {
  return responder.line(new RegExp(`^RECEIVED ${count} (\\d+) (\\d+)$`));
}

describe("flow across processes", () => {
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
      // The sink reports each message: everything the flood sent so far arrived in order.
      const [, , outOfOrder] = await responder.line(/^RECEIVED \d+ (\d+) (\d+)$/);
      expect(Number(outOfOrder)).toBe(0);
    } finally {
      killAll();
    }
  }, 180_000);
});
