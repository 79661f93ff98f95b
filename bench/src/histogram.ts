// Round-trip latencies go into node:perf_hooks' native HDR histogram: recording costs
// tens of nanoseconds and nothing is kept per sample, so a long run does not grow memory.
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";

export class LatencyRecorder {
  private readonly histogram: RecordableHistogram = createHistogram({ lowest: 1, highest: 60e9, figures: 3 });

  /** Records one latency given in nanoseconds (from process.hrtime.bigint()). */
  recordNs(ns: bigint): void {
    // The histogram rejects values below `lowest`; a clock that did not move counts as 1 ns.
    this.histogram.record(ns < 1n ? 1n : ns);
  }

  get count(): number {
    return this.histogram.count;
  }

  /** Percentile in microseconds (p in 0..100). */
  percentileUs(p: number): number {
    return this.histogram.percentile(p) / 1e3;
  }

  reset(): void {
    this.histogram.reset();
  }
}
