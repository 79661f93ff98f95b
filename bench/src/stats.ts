// Summary statistics over repetitions. The median is the headline figure: on a small,
// shared machine one slow repetition (a GC, a neighbour's burst) must not move it.

export interface Summary {
  median: number;
  min: number;
  max: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(values: readonly number[]): Summary {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Relative performance against a baseline, oriented so that 1 is parity and below 1 is
 * worse: median / baseline for rates, baseline / median for latencies and memory.
 */
export function ratioToBaseline(value: number, baseline: number, higherIsBetter: boolean): number | null {
  const num = higherIsBetter ? value : baseline;
  const den = higherIsBetter ? baseline : value;
  if (!Number.isFinite(num) || !Number.isFinite(den) || den === 0) return null;
  return num / den;
}
