// Event-loop utilisation of one thread over a measured window: the share of wall time the
// thread was not waiting in its event loop for I/O or a message. It tells a throughput-bound
// path from a latency-bound one even on a shared, noisy machine: a path that waits on
// round trips (acks, ticks, one turn per hop) leaves every thread on it partly idle, while a
// path that is throughput-bound keeps at least one of them near 100 % (a thread that is
// runnable but descheduled by another process still counts as busy, so contention lowers
// the rate, not this figure).
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import type { Metric } from "./scenario.js";

/** A point to measure from; plain data, so it crosses threads and processes. */
export type BusyMark = { idle: number; active: number };

export function busyMark(): BusyMark {
  const e: EventLoopUtilization = performance.eventLoopUtilization();
  return { idle: e.idle, active: e.active };
}

/** Share of the time between two marks (of the same thread) the thread was busy, 0…1. */
export function busyBetween(a: BusyMark, b: BusyMark): number {
  const active = b.active - a.active;
  const total = active + (b.idle - a.idle);
  return total > 0 ? active / total : 0;
}

/** A figure for the report: "busy:<thread>" in percent (not paired with a baseline). */
export function busyMetric(thread: string, share: number): Metric {
  return { name: `busy:${thread}`, unit: "%", value: Math.round(share * 1000) / 10, higherIsBetter: true };
}
