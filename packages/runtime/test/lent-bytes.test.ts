import { describe, expect, it } from "vitest";
import { route, type Node, type NodeOptions, type StartWorkerOptions } from "@hopwire/runtime";
import { ReusingSender, sendReusing, UniformChecker } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";
// Internal: counts the bodies written with no message made.
import { bytesBodiesWritten } from "../dist/placement/frames.js";

// A send to a thread's or a pool's mailbox lends it the caller's bytes (they are copied
// once, into the batch, before `send` returns); a send that waits for room, or goes to a
// worker that keeps the message, copies them at once. Either way the caller may reuse its
// buffer as soon as `send` returns: these fill ONE buffer again after every send.

/** A slab-sized body, one with a buffer of its own, one with a bin32 header. */
const SIZES = [64, 5000, 70_000];
/** A multiple of 256: the checker expects `i & 0xff` counting across sizes. */
const COUNT = 512;

/** Asks the checker until it has seen `count` bodies (bodies from another sender may still be on their way). */
async function checked(n: Node, count: number): Promise<{ count: number; bad: number }> {
  for (;;) {
    const report = await n.sendAndReceive<{ count: number; bad: number }>("checker", "report");
    if (report.count >= count) return report;
  }
}

const cases: { name: string; node?: NodeOptions; checker: StartWorkerOptions; sender?: StartWorkerOptions; oneRoute?: boolean; options?: { timeout: number } }[] = [
  { name: "main -> thread", checker: {} },
  // The same Route object every time, as a stream's sender has: the bytes go straight into the batch (no message made).
  { name: "main -> thread, one Route for every send", checker: {}, oneRoute: true },
  { name: "main -> thread whose mailbox fills (later sends wait)", checker: { mailbox: { maxMessages: 8 } } },
  { name: "main -> pool", node: { pool: { minThreads: 1, maxThreads: 1 } }, checker: { placement: "pool" } },
  { name: "main -> pool, one Route for every send", node: { pool: { minThreads: 1, maxThreads: 1 } }, checker: { placement: "pool" }, oneRoute: true },
  { name: "main -> main worker (keeps the message)", checker: { placement: "main" } },
  { name: "thread -> thread", checker: {}, sender: {} },
  { name: "thread -> thread, the link's window full (later sends wait)", node: { linkWindowBytes: 1024 }, checker: {}, sender: {} },
  { name: "pool -> thread", checker: {}, sender: { placement: "pool" } },
  { name: "thread -> main worker", checker: { placement: "main" }, sender: {} },
  // A bound on each send: a version of session 43 held such sends back and kept the lent buffer meanwhile (a review's catch).
  { name: "thread -> thread, each send with a timeout", checker: {}, sender: {}, options: { timeout: 60_000 } },
  { name: "main -> thread whose mailbox fills, each send with a timeout", checker: { mailbox: { maxMessages: 8 } }, options: { timeout: 60_000 } },
];

const oneRoute = route("checker");

describe("a bytes body is the caller's to reuse as soon as send returns", () => {
  for (const c of cases) {
    it(c.name, async () => {
      await withNode(c.node ?? {}, async (n) => {
        const checker = c.checker.placement === "main" ? new UniformChecker() : UniformChecker;
        await n.startWorker("checker", checker, c.checker);
        if (c.sender) await n.startWorker("sender", ReusingSender, c.sender);
        let expected = 0;
        const direct = bytesBodiesWritten.frames;
        for (const size of SIZES) {
          if (c.sender) await n.sendAndReceive("sender", { to: "checker", count: COUNT, size, options: c.options }, { timeout: 60_000 });
          else await sendReusing(n, c.oneRoute ? oneRoute : "checker", COUNT, size, c.options);
          expected += COUNT;
          // The checker counts bodies across sizes: its i-th body of all is all (i & 0xff).
          expect(await checked(n, expected)).toEqual({ count: expected, bad: 0 });
        }
        // A stream that keeps its Route sends its bytes straight into the batch (Mailbox.deliverBytes); only a
        // batch's first body, or one that does not fit, is made a message.
        if (c.oneRoute) expect(bytesBodiesWritten.frames - direct).toBeGreaterThan(COUNT);
      });
    });
  }
});
