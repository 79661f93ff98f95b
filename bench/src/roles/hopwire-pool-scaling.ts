// Role: runtime/pool-cpu-* — a CPU-bound stateless worker (CpuSink) placed "pool" on a node
// whose pool has exactly `threads` slots, fed by SENDERS Blasters on the main thread. A pool
// lane runs one task at a time per (worker, sender), so one sender could never use two
// slots; several senders give the pool parallel lanes. Each Blaster counts the messages the
// pool handled for it from its ticks; the figure is the sum of their rates.
import { node } from "@hopwire/runtime";
import { runBenchChild } from "../proc/child.js";
import { throughputMetrics } from "../metrics.js";
import type { SoloResult } from "../proc/solo.js";
import { Blaster, CpuSink, type BlastPlan, type BlastResult } from "./hopwire-workers.js";

export interface PoolScalingParams {
  threads: number;
  warmupMs: number;
  durationMs: number;
}

/** Senders, so lanes: two per slot at two slots, so that no slot waits for its lane's next batch. */
export const SENDERS = 4;
export const PAYLOAD = 1024;
/** A tick every 8 messages (~1-2 ms of work), 8 ticks unanswered per sender: every lane always has its next batch queued. */
const SHAPE = { perTick: 8, window: 8, warmTicks: 8 };

runBenchChild<PoolScalingParams, null, SoloResult>(async (p) => {
  const n = await node({ name: "bench", pool: { minThreads: p.threads, maxThreads: p.threads } });
  try {
    await n.startWorker("cpu", CpuSink, { placement: "pool" });
    const names = Array.from({ length: SENDERS }, (_, i) => `blaster-${i}`);
    for (const name of names) await n.startWorker(name, Blaster, { placement: "main" });
    const plan: BlastPlan = { to: "cpu", size: PAYLOAD, ...SHAPE, warmupMs: p.warmupMs, durationMs: p.durationMs };
    const timeout = p.warmupMs + p.durationMs + 20_000;
    const results = await Promise.all(names.map((name) => n.sendAndReceive<BlastResult>(name, plan, { timeout })));
    const rate = results.reduce((sum, r) => sum + r.messages / r.seconds, 0);
    // Slots that answered ticks in the window: 2 says both threads worked, whatever the rate.
    const slots = new Set(results.flatMap((r) => r.sinkThreads)).size;
    return { metrics: [...throughputMetrics(rate, rate * PAYLOAD, 1), { name: "slots", unit: "threads", value: slots, higherIsBetter: true }] };
  } finally {
    await n.stop();
  }
});
