// Role: runtime/pool-cpu-* — a CPU-bound stateless worker (CpuSink) placed "pool" on a node
// whose pool has exactly `threads` slots, fed by SENDERS Blasters on the main thread. A pool
// lane runs one task at a time per (worker, sender), so one sender could never use two
// slots; several senders give the pool parallel lanes.
//
// One window for all senders: the role reads the Blasters' handled counts (they run on this
// thread) at the same two moments and divides their sum by that one interval. Summing each
// Blaster's own rate over its own window, as the first version did, counted a lane that had
// the slot to itself while the others waited as if every lane had run at that speed (1 slot
// "handled" 4.5 k msg/s of work that costs ~0.6 ms each). The main thread is nearly idle
// here (the work is on the slots), so its timers fire on time.
import { setTimeout as sleep } from "node:timers/promises";
import { node } from "@hopwire/runtime";
import { runBenchChild } from "../proc/child.js";
import { throughputMetrics } from "../metrics.js";
import type { SoloResult } from "../proc/solo.js";
import { Blaster, CpuSink, type BlastPlan } from "./hopwire-workers.js";

export interface PoolScalingParams {
  threads: number;
  warmupMs: number;
  durationMs: number;
}

/** Senders, so lanes: two per slot at two slots, so that no slot waits for its lane's next batch. */
export const SENDERS = 4;
export const PAYLOAD = 1024;
/** A tick every 8 messages (~2-5 ms of work), 8 ticks unanswered per sender: every lane always has its next batch queued. */
const SHAPE = { perTick: 8, window: 8, warmTicks: 8 };

runBenchChild<PoolScalingParams, null, SoloResult>(async (p) => {
  const n = await node({ name: "bench", pool: { minThreads: p.threads, maxThreads: p.threads } });
  const blasters = Array.from({ length: SENDERS }, () => new Blaster());
  try {
    await n.startWorker("cpu", CpuSink, { placement: "pool" });
    for (const [i, blaster] of blasters.entries()) await n.startWorker(`blaster-${i}`, blaster, { placement: "main" });
    // The Blasters' own windows never close during the role's (they are stopped below).
    const plan: BlastPlan = { to: "cpu", size: PAYLOAD, ...SHAPE, warmupMs: 3_600_000, durationMs: 3_600_000 };
    for (let i = 0; i < SENDERS; i++) await n.send(`blaster-${i}`, plan);
    await sleep(p.warmupMs);
    // Every lane has had work handled: the slots are warm (compiled) and busy.
    while (blasters.some((b) => b.answered < SHAPE.warmTicks)) await sleep(10);
    const total = (): number => blasters.reduce((sum, b) => sum + b.handled, 0);
    const [h0, t0] = [total(), performance.now()];
    await sleep(p.durationMs);
    const [h1, t1] = [total(), performance.now()];
    const rate = (h1 - h0) / ((t1 - t0) / 1e3);
    // Slots that answered ticks: 2 says both threads worked, whatever the rate.
    const slots = new Set(blasters.flatMap((b) => [...b.sinkThreadsSeen])).size;
    return { metrics: [...throughputMetrics(rate, rate * PAYLOAD, 1), { name: "slots", unit: "threads", value: slots, higherIsBetter: true }] };
  } finally {
    for (const blaster of blasters) blaster.stop();
    await n.stop();
  }
});
