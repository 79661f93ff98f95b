// Builders for the figures scenarios report, so that every scenario names and scales
// them the same way (the names are the keys that pair a figure with its baseline).
import { busyMetric } from "./busy.js";
import type { LatencyRecorder } from "./histogram.js";
import type { Metric } from "./scenario.js";

/** One-way throughput: messages per second and payload megabytes (10^6 B) per second. */
export function throughputMetrics(messages: number, payloadBytes: number, seconds: number): Metric[] {
  if (!(seconds > 0)) throw new Error(`measured window is empty (${seconds}s)`);
  return [
    { name: "msg/s", unit: "msg/s", value: messages / seconds, higherIsBetter: true },
    { name: "MB/s", unit: "MB/s", value: payloadBytes / seconds / 1e6, higherIsBetter: true },
  ];
}

/** What a round-trip client reports; plain data, so it crosses the process boundary. */
export interface RoundTripSummary {
  roundTrips: number;
  seconds: number;
  p50Us: number;
  p99Us: number;
  /** The initiator's main thread over the window, 0…1 (busy.ts): what busy polling costs shows here. */
  busy?: number;
}

/**
 * How long a round-trip run may go on warming up by count (WARM_ROUND_TRIPS) past its
 * warm-up time: on a very loaded host 5000 round trips can take longer than the harness
 * waits for a child (warm-up + duration + 20 s).
 */
export const WARM_COUNT_CAP_MS = 10_000;

/** Whether a round-trip run is still warming up after `done` round trips (see WARM_COUNT_CAP_MS). */
export function stillWarming(done: number, warmRoundTrips: number, now: number, warmupEnd: number): boolean {
  return now < warmupEnd || (done < warmRoundTrips && now < warmupEnd + WARM_COUNT_CAP_MS);
}

export function summarizeRoundTrips(latency: LatencyRecorder, seconds: number): RoundTripSummary {
  if (latency.count === 0) throw new Error("no round trip completed in the measured window");
  return { roundTrips: latency.count, seconds, p50Us: latency.percentileUs(50), p99Us: latency.percentileUs(99) };
}

/** One outstanding request: round trips per second and the p50/p99 latency. */
export function roundTripMetrics(s: RoundTripSummary): Metric[] {
  return [
    { name: "rt/s", unit: "rt/s", value: s.roundTrips / s.seconds, higherIsBetter: true },
    { name: "p50", unit: "µs", value: s.p50Us, higherIsBetter: false },
    { name: "p99", unit: "µs", value: s.p99Us, higherIsBetter: false },
    ...(s.busy === undefined ? [] : [busyMetric("initiator", s.busy)]),
  ];
}

/** The harness turns each process's peak RSS into one of these, named after its role. */
export function rssMetric(role: string, maxRssBytes: number): Metric {
  return { name: `rss:${role}`, unit: "MiB", value: maxRssBytes / 2 ** 20, higherIsBetter: false };
}

/**
 * Figures about one process or thread of a topology (peak RSS, event-loop utilisation):
 * never paired with a baseline, whose processes and threads are not the same ones.
 */
export const isOwnFigure = (metric: string): boolean => metric.startsWith("rss:") || metric.startsWith("busy:");
