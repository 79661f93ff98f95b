import { describe, expect, it } from "vitest";
import { BadInfoResender, BodyRecorder } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";

// An envelope that repeats the previous one's routes and local info crosses as its payload
// alone (FRAME_ENVELOPE_SAME_HEAD). "The previous one" must be an envelope that was written:
// a send that failed while its head was encoded must not become the head the next one repeats.
describe("an envelope whose head could not be encoded", () => {
  it("is not the head a later send from a thread repeats (that send is not routed to the envelope before it)", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("good", new BodyRecorder(), { placement: "main" });
      await n.startWorker("bad", new BodyRecorder(), { placement: "main" });
      await n.startWorker("sender", BadInfoResender);
      const outcomes = await n.sendAndReceive<string[]>("sender", { good: "good", bad: "bad" }, { timeout: 60_000 });
      expect(outcomes).toEqual(["fulfilled", "rejected", "rejected"]);
      expect(await n.sendAndReceive("good", "report", { timeout: 60_000 })).toEqual(["to-good"]);
      expect(await n.sendAndReceive("bad", "report", { timeout: 60_000 })).toEqual(["warm-up"]);
    });
  });
});
