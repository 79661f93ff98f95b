// check/window-*: proves a throughput scenario measures throughput, not a round trip.
// A sender with an in-flight window W (ticks, acks) is latency-bound when W / round-trip
// time is below what the path can carry: doubling W then raises the figure. One repetition
// of a check runs its target at W and at 2W (doubling.ts) and reports both rates and their
// ratio. A median 2W/1W at or below WINDOW_BOUND says the window does not limit the figure.
import type { Measurement, Metric, ParamName, RunParams, Scenario } from "../../scenario.js";
import { DOUBLING_BOUND, doublingMetrics, registerDoublingCheck, withChecks, type CheckFamily } from "./doubling.js";

/** 2W/1W above this (medians) means the window still limits the figure. */
export const WINDOW_BOUND = DOUBLING_BOUND;
export const CHECK_PREFIX = "check/window-";
const LABELS = { one: "1W", two: "2W" };

export interface WindowedTarget {
  /** The scenario checked, e.g. "runtime/main->thread". */
  name: string;
  params: readonly ParamName[];
  /** What its window is, for the description. */
  window: string;
  /** One repetition of the target with its window multiplied by `scale`. */
  runAt(p: RunParams, signal: AbortSignal, scale: number): Promise<Measurement>;
}

/** The check's figures: both rates, their ratio, and the target's other figures at 1W (busy shares). */
export const windowCheckMetrics = (at1: Measurement, at2: Measurement): Metric[] => doublingMetrics(at1, at2, LABELS);

export const WINDOW_CHECKS: CheckFamily = { prefix: CHECK_PREFIX, targets: new Map() };

/** withChecks for this family alone: its checks added with `windowCheck` (--window-check). */
export const withWindowChecks = (selected: readonly Scenario[], all: readonly Scenario[], patterns: readonly string[], windowCheck: boolean): Scenario[] =>
  withChecks(selected, all, patterns, windowCheck ? [WINDOW_CHECKS] : []);

export function registerWindowCheck(target: WindowedTarget): void {
  registerDoublingCheck({
    family: WINDOW_CHECKS,
    target: target.name,
    description:
      `${target.name} at its window W (${target.window}) and at 2W in each repetition; 2W/1W = rate at 2W / rate at W. ` +
      `Throughput-bound when the median 2W/1W ≤ ${WINDOW_BOUND}. busy:* = event-loop utilisation of that thread at W ` +
      "(a thread near 100 % is the bottleneck; all well below means the path waits).",
    params: target.params,
    labels: LABELS,
    runAt: (p, signal, scale) => target.runAt(p, signal, scale),
  });
}
