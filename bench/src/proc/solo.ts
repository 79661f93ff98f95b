// Runs a single-process scenario (its threads included) in a fresh child process: the
// harness's own heap never mixes into the figures, and maxRSS covers this repetition only.
import { withChildren } from "./spawn.js";
import { warmCapMs } from "../warm-count.js";
import type { Measurement, Metric, RunParams } from "../scenario.js";

/** What a solo role returns from runBenchChild. */
export interface SoloResult {
  metrics: Metric[];
}

export function runSolo(script: URL, role: string, params: unknown, p: RunParams, signal: AbortSignal): Promise<Measurement> {
  // The window may open as late as the warm count's cap (warm-count.ts).
  return withChildren(signal, warmCapMs(p.warmupMs) + p.durationMs + 15_000, async (spawn) => {
    const child = spawn<null, SoloResult>(role, script, params);
    const r = await child.result;
    return { metrics: r.data.metrics, processes: [{ role, maxRssBytes: r.maxRssBytes }] };
  });
}
