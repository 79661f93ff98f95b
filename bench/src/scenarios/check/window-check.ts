// check/window-*: proves a throughput scenario measures throughput, not a round trip.
// A sender with an in-flight window W (ticks, acks) is latency-bound when W / round-trip
// time is below what the path can carry: doubling W then raises the figure. One repetition
// of a check runs its target at W and at 2W, back to back (alternating which goes first,
// so drift in outside load lands on both), and reports both rates and their ratio. A
// median 2W/1W at or below WINDOW_BOUND says the window does not limit the figure.
import { registerScenario, type Measurement, type Metric, type ParamName, type RunParams, type Scenario } from "../../scenario.js";

/** 2W/1W above this (medians) means the window still limits the figure; repetitions spread ±10 % on a quiet host. */
export const WINDOW_BOUND = 1.1;
export const CHECK_PREFIX = "check/window-";

export interface WindowedTarget {
  /** The scenario checked, e.g. "runtime/main->thread". */
  name: string;
  params: readonly ParamName[];
  /** What its window is, for the description. */
  window: string;
  /** One repetition of the target with its window multiplied by `scale`. */
  runAt(p: RunParams, signal: AbortSignal, scale: number): Promise<Measurement>;
}

const RATE = "msg/s";

const rateOf = (m: Measurement): number => {
  const rate = m.metrics.find((x) => x.name === RATE);
  if (!rate) throw new Error(`the target reported no ${RATE}`);
  return rate.value;
};

/** The check's figures: both rates, their ratio, and the target's other figures at 1W (busy shares). */
export function windowCheckMetrics(at1: Measurement, at2: Measurement): Metric[] {
  const r1 = rateOf(at1);
  const r2 = rateOf(at2);
  return [
    { name: `${RATE}@1W`, unit: RATE, value: r1, higherIsBetter: true },
    { name: `${RATE}@2W`, unit: RATE, value: r2, higherIsBetter: true },
    { name: "2W/1W", unit: "×", value: r2 / r1, higherIsBetter: false },
    ...at1.metrics.filter((x) => x.name.startsWith("busy:")).map((x) => ({ ...x, name: `${x.name}@1W` })),
  ];
}

/** Target scenario name → its check's name. */
const checks = new Map<string, string>();

/**
 * The scenarios a run measures, given the ones its patterns matched: the checks run twice
 * the target's work, so they are left out unless asked for — by `--window-check` (the check
 * of every selected target is added) or by a pattern that names the check family.
 */
export function withWindowChecks(selected: readonly Scenario[], all: readonly Scenario[], patterns: readonly string[], windowCheck: boolean): Scenario[] {
  const namedChecks = patterns.some((p) => p.toLowerCase().includes("check"));
  const keep = new Set(selected.filter((s) => namedChecks || !s.name.startsWith(CHECK_PREFIX)));
  if (windowCheck) {
    const wanted = new Set(selected.flatMap((s) => (checks.has(s.name) ? [checks.get(s.name)!] : [])));
    for (const s of all) if (wanted.has(s.name)) keep.add(s);
  }
  return all.filter((s) => keep.has(s)); // registry order
}

export function registerWindowCheck(target: WindowedTarget): void {
  let reps = 0;
  checks.set(target.name, CHECK_PREFIX + target.name.replace("/", "-"));
  registerScenario({
    name: CHECK_PREFIX + target.name.replace("/", "-"),
    description:
      `${target.name} at its window W (${target.window}) and at 2W in each repetition; 2W/1W = rate at 2W / rate at W. ` +
      `Throughput-bound when the median 2W/1W ≤ ${WINDOW_BOUND}. busy:* = event-loop utilisation of that thread at W ` +
      "(a thread near 100 % is the bottleneck; all well below means the path waits).",
    params: target.params,
    run: async (p, signal) => {
      const twoFirst = reps++ % 2 === 1;
      const first = await target.runAt(p, signal, twoFirst ? 2 : 1);
      const second = await target.runAt(p, signal, twoFirst ? 1 : 2);
      const [at1, at2] = twoFirst ? [second, first] : [first, second];
      return {
        metrics: windowCheckMetrics(at1, at2),
        processes: [...at1.processes, ...at2.processes.map((x) => ({ ...x, role: `${x.role}@2W` }))],
      };
    },
  });
}
