// Role: local routing throughput inside one Hopwire node (one process). A Blaster sends
// `size`-byte bodies with Context.send to a TickSink, and counts the messages the sink
// has handled from the ticks it answers (see hopwire-workers.ts). Placements:
//   main->main      Blaster "main", sink "main"       (the router, no thread crossing)
//   main->thread    Blaster "main", sink "thread"     (one crossing per message, batched)
//   thread->thread  Blaster "thread", sink "thread"   (two crossings: thread → router → thread)
//   pool            Blaster "main", sink "pool"       (a stateless worker on the node's pool)
//   thread->pool    Blaster "thread", sink "pool"     (a thread feeding the pool, through the router)
import { node, type Placement } from "@hopwire/runtime";
import { runBenchChild } from "../proc/child.js";
import { throughputMetrics } from "../metrics.js";
import { busyMetric } from "../busy.js";
import type { SoloResult } from "../proc/solo.js";
import { blastShape, warmTicksFor } from "./blast-shape.js";
import { warmCapMs } from "../warm-count.js";
import { Blaster, TickSink, type BlastPlan, type BlastResult } from "./hopwire-workers.js";

export type RuntimeMode = "main->main" | "main->thread" | "thread->thread" | "pool" | "thread->pool";

export interface RuntimeParams {
  mode: RuntimeMode;
  size: number;
  warmupMs: number;
  durationMs: number;
  /** Multiplies the ticks outstanding (the in-flight window); the window check runs 1 and 2. */
  windowScale?: number;
  /** A full run's warm count (windowed()): messages the sink must have answered before the window opens. */
  warmMessages?: number;
}

const PLACEMENTS: Record<RuntimeMode, { source: Placement; sink: Placement }> = {
  "main->main": { source: "main", sink: "main" },
  "main->thread": { source: "main", sink: "thread" },
  "thread->thread": { source: "thread", sink: "thread" },
  pool: { source: "main", sink: "pool" },
  "thread->pool": { source: "thread", sink: "pool" },
};

runBenchChild<RuntimeParams, null, SoloResult>(async (p) => {
  const placement = PLACEMENTS[p.mode];
  if (!placement) throw new Error(`unknown runtime mode ${String(p.mode)}`);
  // One pool slot: a single sender has one task in flight at a time anyway (its lane).
  const n = await node({ name: "bench", pool: { minThreads: 1, maxThreads: 1 } });
  try {
    await n.startWorker("sink", TickSink, { placement: placement.sink });
    await n.startWorker("blaster", Blaster, { placement: placement.source });
    const shape = blastShape(p.size, p.windowScale);
    const warmTicks = warmTicksFor(p.warmMessages ?? 0, shape.perTick);
    const plan: BlastPlan = { to: "sink", size: p.size, ...shape, warmupMs: p.warmupMs, durationMs: p.durationMs, warmTicks };
    const r = await n.sendAndReceive<BlastResult>("blaster", plan, { timeout: warmCapMs(p.warmupMs) + p.durationMs + 10_000 });
    return {
      metrics: [...throughputMetrics(r.messages, r.messages * p.size, r.seconds), busyMetric("source", r.busySource), busyMetric("sink", r.busySink)],
    };
  } finally {
    await n.stop();
  }
});
