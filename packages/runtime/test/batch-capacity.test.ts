import { describe, expect, it } from "vitest";
import { BufferSizer } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";

// A worker that keeps a small bytes body keeps the batch it came in (the body is a view
// into it). The batch after a large message must not be as large as that message.
describe("the batch after a large message", () => {
  it("is not as large as that message: a small body sent right after it does not keep megabytes alive", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("sizer", BufferSizer, { mailbox: { maxBytes: 64 * 1024 * 1024 } });
      void n.send("sizer", new Uint8Array(32 * 1024 * 1024));
      void n.send("sizer", new Uint8Array(64));
      const large = (await n.receive<{ length: number; buffer: number }>({ timeout: 60_000 })).body;
      const small = (await n.receive<{ length: number; buffer: number }>({ timeout: 60_000 })).body;
      expect(large.length).toBe(32 * 1024 * 1024);
      expect(small.length).toBe(64);
      expect(small.buffer).toBeLessThanOrEqual(2 * 1024 * 1024);
    });
  });
});
