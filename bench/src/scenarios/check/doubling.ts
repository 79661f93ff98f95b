// What the check/* families share: a check runs its target's repetition at one setting and at
// twice it, back to back (alternating which goes first, so drift in outside load lands on
// both), and reports both rates and their ratio. A median ratio at or below DOUBLING_BOUND
// says the doubled setting does not limit the figure (window-check.ts: the in-flight window;
// warm-check.ts: the warm-up).
import { registerScenario, type Measurement, type Metric, type ParamName, type RunParams, type Scenario } from "../../scenario.js";

/** 2x/1x above this (medians) means the setting still limits the figure; repetitions spread ±10 % on a quiet host. */
export const DOUBLING_BOUND = 1.1;

const RATE = "msg/s";

/** The labels of one family's figures: "W" gives msg/s@1W, msg/s@2W and 2W/1W. */
export interface DoublingLabels {
  one: string;
  two: string;
}

const ratioMetricOf = (l: DoublingLabels): string => `${l.two}/${l.one}`;

const rateOf = (m: Measurement): number => {
  const rate = m.metrics.find((x) => x.name === RATE);
  if (!rate) throw new Error(`the target reported no ${RATE}`);
  return rate.value;
};

/** Both rates, their ratio, and the target's other figures at 1x (busy shares). */
export function doublingMetrics(at1: Measurement, at2: Measurement, l: DoublingLabels): Metric[] {
  const r1 = rateOf(at1);
  const r2 = rateOf(at2);
  return [
    { name: `${RATE}@${l.one}`, unit: RATE, value: r1, higherIsBetter: true },
    { name: `${RATE}@${l.two}`, unit: RATE, value: r2, higherIsBetter: true },
    { name: ratioMetricOf(l), unit: "×", value: r2 / r1, higherIsBetter: false },
    ...at1.metrics.filter((x) => x.name.startsWith("busy:")).map((x) => ({ ...x, name: `${x.name}@${l.one}` })),
  ];
}

export interface DoublingCheck {
  /** The family the check joins: its name is the family's prefix and the target's, "check/window-tcp-relay-throughput". */
  family: CheckFamily;
  /** The scenario checked, e.g. "tcp/relay-throughput". */
  target: string;
  description: string;
  params: readonly ParamName[];
  /** With a `count` parameter: the counts the check runs at (a scenario taking a count must declare them). */
  counts?: Scenario["counts"];
  labels: DoublingLabels;
  /** One repetition of the target with its setting multiplied by `scale` (1 or 2). */
  runAt(p: RunParams, signal: AbortSignal, scale: 1 | 2): Promise<Measurement>;
}

export function registerDoublingCheck(check: DoublingCheck): Scenario {
  const name = check.family.prefix + check.target.replace("/", "-");
  check.family.targets.set(check.target, name);
  let reps = 0;
  return registerScenario({
    name,
    description: check.description,
    params: check.params,
    ...(check.counts ? { counts: check.counts } : {}),
    run: async (p, signal) => {
      const twoFirst = reps++ % 2 === 1;
      const first = await check.runAt(p, signal, twoFirst ? 2 : 1);
      const second = await check.runAt(p, signal, twoFirst ? 1 : 2);
      const [at1, at2] = twoFirst ? [second, first] : [first, second];
      return {
        metrics: doublingMetrics(at1, at2, check.labels),
        processes: [...at1.processes, ...at2.processes.map((x) => ({ ...x, role: `${x.role}@${check.labels.two}` }))],
      };
    },
  });
}

/** A check family: the prefix of its checks' names, and its targets (target name → check name). */
export interface CheckFamily {
  prefix: string;
  targets: Map<string, string>;
}

/**
 * The scenarios a run measures, given the ones its patterns matched: a check runs twice its
 * target's work, so checks are left out unless asked for — by a flag that adds the check of
 * every selected target (`asked`, one entry per family), or by a pattern that names "check".
 */
export function withChecks(selected: readonly Scenario[], all: readonly Scenario[], patterns: readonly string[], asked: readonly CheckFamily[]): Scenario[] {
  const namedChecks = patterns.some((p) => p.toLowerCase().includes("check"));
  const keep = new Set(selected.filter((s) => namedChecks || !s.name.startsWith("check/")));
  const wanted = new Set(asked.flatMap((family) => selected.flatMap((s) => (family.targets.has(s.name) ? [family.targets.get(s.name)!] : []))));
  for (const s of all) if (wanted.has(s.name)) keep.add(s);
  return all.filter((s) => keep.has(s)); // registry order
}
