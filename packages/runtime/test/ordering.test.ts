import { describe, expect, it } from "vitest";
import type { Context, Routed } from "@hopwire/runtime";
import { OrderChecker, Relay } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";

// 5 000 (was 20 000, ~0.4 s of CPU more): five turns of 1 000 sends in the first two tests, so
// messages still cross the thread boundary in several batches, each of many messages: an
// order lost between or within batches shows in any of them.
const COUNT = 5_000;

describe("ordering under load", () => {
  it(`delivers ${COUNT} messages from one sender to a thread worker in order`, async () => {
    await withNode({}, async (n) => {
      await n.startWorker("checker", OrderChecker);
      // Sent over several turns of the event loop, so they cross in many batches.
      for (let i = 0; i < COUNT; i++) {
        void n.send("checker", { from: "app", i });
        if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
      }
      expect(await n.sendAndReceive("checker", { report: true })).toEqual({ count: COUNT, outOfOrder: 0 });
    });
  });

  it(`delivers ${COUNT} messages from one sender through a pool worker in order`, async () => {
    await withNode({ pool: { minThreads: 2, maxThreads: 2 } }, async (n) => {
      await n.startWorker("relay", Relay, { placement: "pool", args: ["app"] });
      for (let i = 0; i < COUNT; i++) {
        void n.send("relay", i);
        if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
      }
      let outOfOrder = 0;
      for (let i = 0; i < COUNT; i++) if ((await n.receive<number>({ timeout: 20_000 })).body !== i) outOfOrder++;
      expect(outOfOrder).toBe(0);
    });
  });

  it(`keeps the order of ${COUNT} replies a thread worker sends to a main worker, whatever it awaits`, async () => {
    await withNode({}, async (n) => {
      let next = 0;
      let outOfOrder = 0;
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      class Collector {
        handleMessage(_ctx: Context, msg: Routed<number>): void {
          if (msg.body !== next) outOfOrder++;
          next = msg.body + 1;
          if (next === COUNT) done();
        }
      }
      await n.startWorker("collector", new Collector(), { placement: "main" });
      await n.startWorker("relay", Relay, { args: ["collector"] });
      for (let i = 0; i < COUNT; i++) void n.send("relay", i);
      await finished;
      expect(outOfOrder).toBe(0);
    });
  });
});
