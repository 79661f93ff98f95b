// runtime/pool-cpu-*: does the pool use more than one core? The same CPU-bound stateless
// worker on a pool of one slot (the baseline) and of two (the target: ≥ 1.7× on
// two cores). One process each.
import { registerScenario } from "../../scenario.js";
import { runSolo } from "../../proc/solo.js";
import { windowed, windowNote } from "../tcp/hopwire-topology.js";
import type { PoolScalingParams } from "../../roles/hopwire-pool-scaling.js";

const ROLE = new URL("../../roles/hopwire-pool-scaling.js", import.meta.url);
const SHARE = 0.5;
const WHAT =
  "a stateless worker placed \"pool\" that hashes each 1 KiB message 200,000 FNV rounds (pure JavaScript, ~0.1-0.3 ms), " +
  "fed by 4 Blasters on the main thread (a pool lane runs one task per worker and sender, so 4 senders make 4 lanes); " +
  "msg/s = the data messages the Blasters saw handled (from their ticks), summed and read at the same two moments; slots = pool threads that answered in the window. One process.";

const run = (threads: number) => (full: Parameters<typeof windowed>[0], signal: AbortSignal) => {
  const p = windowed(full, SHARE, { steady: true });
  return runSolo(ROLE, "process", { threads, warmupMs: p.warmupMs, durationMs: p.durationMs } satisfies PoolScalingParams, p, signal);
};

registerScenario({
  name: "runtime/pool-cpu-1-thread",
  description: `NodeOptions.pool.maxThreads = 1: ${WHAT}` + windowNote(SHARE, true),
  params: [],
  run: run(1),
});

registerScenario({
  name: "runtime/pool-cpu-2-threads",
  description: `NodeOptions.pool.maxThreads = 2, ratio against 1 thread (target ≥ 1.7× on 2 cores): ${WHAT}` + windowNote(SHARE, true),
  params: [],
  baseline: "runtime/pool-cpu-1-thread",
  run: run(2),
});
