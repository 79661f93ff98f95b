// From the CLI's --scenario patterns and parameter lists to the ordered list of cases to
// run. Baselines that a selected scenario declares are added even when not selected, so
// every figure has its baseline from the same run.
import { baselineNameFor, familyOf, getScenario, projectParams, type Params, type Provider, type Scenario } from "./scenario.js";
import { caseKey } from "./format.js";

export interface ParamValues {
  size: number[];
  cryptoThreads: number[];
  provider: Provider[];
  /** --count, for every scenario that accepts it; without it each scenario's own `counts`. */
  count?: number[];
  /** Picks `counts.quick` instead of `counts.full`. */
  quick?: boolean;
}

export interface Case {
  scenario: Scenario;
  params: Params;
  key: string;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i");
}

/**
 * A pattern with * or ? is a glob over the whole name; otherwise it is a case-insensitive
 * substring, except that an exact name selects only that scenario (so "baseline/tcp-framed"
 * does not also pull in "baseline/tcp-framed-rtt").
 */
export function matchScenarios(patterns: readonly string[], scenarios: readonly Scenario[]): Scenario[] {
  if (patterns.length === 0) return [...scenarios];
  const chosen = new Set<Scenario>();
  for (const pattern of patterns) {
    const exact = scenarios.find((s) => s.name === pattern);
    const hits = exact
      ? [exact]
      : /[*?]/.test(pattern)
        ? scenarios.filter((s) => globToRegExp(pattern).test(s.name))
        : scenarios.filter((s) => s.name.toLowerCase().includes(pattern.toLowerCase()));
    if (hits.length === 0) {
      throw new Error(`option '--scenario': "${pattern}" matches no scenario (see --list)`);
    }
    hits.forEach((s) => chosen.add(s));
  }
  return scenarios.filter((s) => chosen.has(s)); // registry order
}

function countsOf(scenario: Scenario, values: ParamValues): readonly number[] {
  if (values.count) return values.count;
  if (!scenario.counts) throw new Error(`scenario "${scenario.name}" accepts "count" but declares no counts`);
  return values.quick ? scenario.counts.quick : scenario.counts.full;
}

function combinations(scenario: Scenario, values: ParamValues): Params[] {
  let out: Params[] = [{}];
  for (const name of scenario.params) {
    const list = name === "count" ? countsOf(scenario, values) : (values[name] as readonly (number | string)[]);
    out = out.flatMap((p) => list.map((v) => ({ ...p, [name]: v })));
  }
  return out;
}

/** Every case to run, baselines included, without duplicates, in registry order (ratios are paired after the run, so order is cosmetic). */
export function planCases(selected: readonly Scenario[], values: ParamValues, registryOrder: readonly Scenario[]): Case[] {
  const cases = new Map<string, Case>();
  const add = (scenario: Scenario, params: Params, depth = 0): void => {
    const baseline = baselineNameFor(scenario, params);
    if (baseline !== undefined) {
      const b = getScenario(baseline);
      if (!b) throw new Error(`scenario "${scenario.name}" declares unknown baseline "${baseline}"`);
      if (depth > 8) throw new Error(`baseline chain of "${scenario.name}" is circular`);
      add(b, projectParams(b, params), depth + 1);
    }
    const key = caseKey(scenario.name, params);
    if (!cases.has(key)) cases.set(key, { scenario, params, key });
  };
  for (const s of selected) for (const p of combinations(s, values)) add(s, p);
  const rank = new Map(registryOrder.map((s, i) => [s, i]));
  // Stable sort: by registry position, then in the order cases were added (size order).
  return [...cases.values()].sort((a, b) => rank.get(a.scenario)! - rank.get(b.scenario)!);
}

/** Families that only exist to be compared with or to check others: covered through the scenarios that name them. */
const SUPPORT_FAMILIES = new Set(["baseline", "check"]);

/**
 * `--smoke`: one scenario per family among `scenarios` (a family's `smoke` mark, else its
 * first scenario with a baseline, else its first), so that a new family is covered as soon
 * as it registers. Baselines come with them through planCases.
 */
export function smokePicks(scenarios: readonly Scenario[]): Scenario[] {
  const byFamily = new Map<string, Scenario[]>();
  for (const s of scenarios) {
    const family = familyOf(s.name);
    if (SUPPORT_FAMILIES.has(family)) continue;
    byFamily.set(family, [...(byFamily.get(family) ?? []), s]);
  }
  return [...byFamily.values()].map((family) => family.find((s) => s.smoke) ?? family.find((s) => s.baseline !== undefined) ?? family[0]!);
}
