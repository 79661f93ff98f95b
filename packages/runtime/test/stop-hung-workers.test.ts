import { describe, expect, it } from "vitest";
import { node, type Context, type Routed } from "@hopwire/runtime";
import { BusyThenSlowShutdown, HungHandler, SendsOnShutdown, SlowToShutDown } from "./fixtures/hung.js";

// Long enough that the bounds below leave a loaded CI host its slack (a stop terminates threads and a pool) and
// still fail the old rule, which took three times this for three workers and twice for two.
const TIMEOUT = 1500;

/** Sends one message to each of `addresses` and resolves once each handler has begun (and hangs). */
async function hangAll(send: (address: string) => Promise<void>, channel: string, addresses: string[]): Promise<void> {
  const told = new BroadcastChannel(channel);
  const waiting = new Set(addresses);
  const allHanging = new Promise<void>((resolve) => {
    told.onmessage = (event: MessageEvent) => {
      waiting.delete(event.data as string);
      if (waiting.size === 0) resolve();
    };
  });
  for (const a of addresses) await send(a);
  await allHanging;
  told.close();
}

// Before session 56 workers stopped one after another, each with its own shutdownTimeout from its turn:
// n hung workers took n × shutdownTimeout (a user trial: two hung threads, 20 s, two warnings).
describe("node.stop() with several hung workers", () => {
  for (const placement of ["thread", "pool", "main"] as const) {
    it(`takes about one shutdownTimeout for three workers placed "${placement}" whose handlers hang, with a warning for each`, async () => {
      const warnings: string[] = [];
      const n = await node({ shutdownTimeout: TIMEOUT, warnings: (line) => void warnings.push(line) });
      const channel = `hung-${placement}`;
      const hung = ["hung-1", "hung-2", "hung-3"];
      try {
        for (const a of hung) {
          if (placement === "main") await n.startWorker(a, new HungHandler(channel), { placement: "main" });
          else await n.startWorker(a, HungHandler, { placement, args: [channel] });
        }
        await hangAll((a) => n.send(a, "hang"), channel, hung);
      } finally {
        const started = performance.now();
        await n.stop();
        const took = performance.now() - started;
        expect(took, `took ${Math.round(took)} ms`).toBeGreaterThanOrEqual(TIMEOUT - 20);
        expect(took, `took ${Math.round(took)} ms`).toBeLessThan(TIMEOUT * 2);
      }
      for (const a of hung) expect(warnings.filter((w) => w.includes(`the shutdown of worker "${a}" took more than ${TIMEOUT} ms`))).toHaveLength(1);
    });
  }

  // The first version of this rule gave a busy handler and its shutdown one window from the stop's start: a healthy
  // shutdown after others' slow ones was cut short (a review, session 56).
  for (const placement of ["thread", "main"] as const) {
    it(`leaves a busy worker placed "${placement}" whose handler ends in time the rest of its own timeout for its shutdown`, async () => {
      const warnings: string[] = [];
      const got: string[] = [];
      const n = await node({ shutdownTimeout: TIMEOUT, warnings: (line) => void warnings.push(line) });
      const channel = `busy-${placement}`;
      // "busy" works for 0.8 × TIMEOUT from before the stop, then shuts down in 0.5 × TIMEOUT; "slow", started after it
      // and so stopped first, takes 0.6 × TIMEOUT to shut down. Counted from the stop's start, busy's shutdown would end
      // at 0.8 + 0.5 = 1.3 × TIMEOUT, past its window; counted from its turn (0.6), it ends well within it (1.6).
      const args = [channel, "watcher", TIMEOUT * 0.8, TIMEOUT * 0.5];
      try {
        await n.startWorker("watcher", { handleMessage: (_ctx: Context, msg: Routed) => void got.push(String(msg.body)) }, { placement: "main" });
        if (placement === "main") {
          // On the main thread its shutdown says so directly: a message to the watcher, stopped right after it, could be
          // dropped with the watcher's queue.
          const busy = new BusyThenSlowShutdown(...(args as [string, string, number, number]));
          busy.shutdown = async () => {
            await new Promise((resolve) => setTimeout(resolve, TIMEOUT * 0.5));
            got.push("busy down");
          };
          await n.startWorker("busy", busy, { placement: "main" });
        } else await n.startWorker("busy", BusyThenSlowShutdown, { placement, args });
        await n.startWorker("slow", SlowToShutDown, { placement: "thread", args: ["watcher", TIMEOUT * 0.6] });
        await hangAll((a) => n.send(a, "work"), channel, ["busy"]);
      } finally {
        await n.stop();
      }
      expect(warnings.filter((w) => w.includes("took more than"))).toEqual([]);
      expect(got).toEqual(["slow down", "busy down"]);
    });
  }

  it("keeps the order: a later worker's shutdown still reaches one started before it, whose own shutdown then gets its whole time", async () => {
    const warnings: string[] = [];
    const got: string[] = [];
    const n = await node({ shutdownTimeout: TIMEOUT, warnings: (line) => void warnings.push(line) });
    const channel = "hung-order";
    const shutdownMs = 100;
    try {
      await n.startWorker("watcher", { handleMessage: (_ctx: Context, msg: Routed) => void got.push(String(msg.body)) }, { placement: "main" });
      await n.startWorker("early", SlowToShutDown, { placement: "thread", args: ["watcher", shutdownMs] });
      await n.startWorker("hung-1", HungHandler, { placement: "thread", args: [channel] });
      await n.startWorker("hung-2", HungHandler, { placement: "pool", args: [channel] });
      await n.startWorker("late", SendsOnShutdown, { placement: "thread", args: ["early"] });
      await hangAll((a) => n.send(a, "hang"), channel, ["hung-1", "hung-2"]);
    } finally {
      const started = performance.now();
      await n.stop();
      const took = performance.now() - started;
      // The hung workers' time overlaps; "early", idle at its turn, has its whole shutdownTimeout after it.
      expect(took, `took ${Math.round(took)} ms`).toBeLessThan(TIMEOUT * 1.6 + shutdownMs);
    }
    // "late" stopped first: its shutdown's message reached "early", which handled it before its own stop, then shut down.
    expect(got).toEqual(["got: shutdown of late", "early down"]);
    expect(warnings.filter((w) => w.includes("took more than")).map((w) => /worker "([^"]+)"/.exec(w)?.[1])).toEqual(["hung-2", "hung-1"]);
  });
});
