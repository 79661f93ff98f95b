import { describe, expect, it } from "vitest";
import { node, type Context, type Routed } from "@hopwire/runtime";
import { HungHandler, SendsOnShutdown, SlowToShutDown } from "./fixtures/hung.js";

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
