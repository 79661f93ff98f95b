// Runs the planned cases: repetitions, statistics, RSS figures, baseline pairing and
// chart tags. One repetition at a time, never two in parallel (on a 2-core machine the
// other would be measured as noise); repetitions of cases compared with each other are
// interleaved (groups.ts).
import { performance } from "node:perf_hooks";
import { baselineNameFor, familyOf, getScenario, projectParams, type Measurement, type Params, type Scenario, type TimeSeries } from "./scenario.js";
import { isOwnFigure, rssMetric } from "./metrics.js";
import { ratioToBaseline, summarize } from "./stats.js";
import { caseKey } from "./format.js";
import type { Case } from "./selection.js";
import { groupCases } from "./groups.js";
import type { BenchRecord, ResultRecord } from "./results.js";
import type { Progress } from "./progress.js";

export interface RunSettings {
  reps: number;
  durationMs: number;
  warmupMs: number;
}

interface Sampled {
  unit: string;
  higherIsBetter: boolean;
  values: number[];
}

/** One repetition of one case, folded into its per-metric samples; returns its series, if any. */
async function measureRep(c: Case, s: RunSettings, byMetric: Map<string, Sampled>, signal: AbortSignal): Promise<TimeSeries[] | undefined> {
  signal.throwIfAborted();
  const m: Measurement = await c.scenario.run({ ...c.params, durationMs: s.durationMs, warmupMs: s.warmupMs }, signal);
  if (m.processes.length === 0) throw new Error("the measurement names no process (peak RSS is required)");
  for (const metric of [...m.metrics, ...m.processes.map((p) => rssMetric(p.role, p.maxRssBytes))]) {
    if (!Number.isFinite(metric.value)) throw new Error(`metric ${metric.name} is ${metric.value}`);
    const entry = byMetric.get(metric.name) ?? { unit: metric.unit, higherIsBetter: metric.higherIsBetter, values: [] };
    entry.values.push(metric.value);
    byMetric.set(metric.name, entry);
  }
  return m.series;
}

function toRecords(c: Case, byMetric: Map<string, Sampled>, series?: TimeSeries[]): ResultRecord[] {
  const chartMetric = c.scenario.chart?.metric ?? "MB/s";
  return [...byMetric].map(([metric, v], i) => {
    const record: ResultRecord = {
      type: "result",
      scenario: c.scenario.name,
      family: familyOf(c.scenario.name),
      params: c.params,
      metric,
      unit: v.unit,
      higherIsBetter: v.higherIsBetter,
      ...summarize(v.values),
      reps: v.values.length,
      samples: v.values,
      baseline: null,
      ratio: null,
    };
    const chart = c.scenario.chart;
    if (chart && metric === chartMetric && c.params.size !== undefined) {
      record.chart = { series: typeof chart.series === "string" ? chart.series : chart.series(c.params), x: c.params.size };
    }
    if (i === 0 && series) record.series = series;
    return record;
  });
}

/** Fills `baseline` and `ratio` from the baseline's record of the same metric in this run. */
export function pairBaselines(records: ResultRecord[]): void {
  const index = new Map(records.map((r) => [`${caseKey(r.scenario, r.params)} ${r.metric}`, r]));
  for (const r of records) {
    const scenario = getScenario(r.scenario);
    if (!scenario || isOwnFigure(r.metric)) continue; // roles differ; RSS and busy shares stand on their own
    const name = baselineNameFor(scenario, r.params);
    const b = name === undefined ? undefined : getScenario(name);
    if (!b) continue;
    const params: Params = projectParams(b, r.params);
    const base = index.get(`${caseKey(b.name, params)} ${r.metric}`);
    if (!base) continue;
    r.baseline = { name: b.name, params, median: base.median };
    r.ratio = ratioToBaseline(r.median, base.median, r.higherIsBetter);
  }
}

export async function runCases(cases: readonly Case[], s: RunSettings, progress: Progress, signal: AbortSignal): Promise<BenchRecord[]> {
  const out: BenchRecord[] = [];
  const results: ResultRecord[] = [];
  const unavailable = new Map<Scenario, Promise<string | undefined>>();
  for (const group of groupCases(cases)) {
    signal.throwIfAborted();
    progress.start(group, s.reps);
    const live: { c: Case; samples: Map<string, Sampled>; seconds: number; series?: TimeSeries[] }[] = [];
    for (const c of group) {
      if (c.scenario.unavailable && !unavailable.has(c.scenario)) unavailable.set(c.scenario, c.scenario.unavailable());
      const reason = await unavailable.get(c.scenario);
      if (reason === undefined) live.push({ c, samples: new Map(), seconds: 0 });
      else {
        progress.skip(c, reason);
        out.push({ type: "skipped", scenario: c.scenario.name, params: c.params, reason });
      }
    }
    for (let rep = 0; rep < s.reps; rep++) {
      for (const entry of [...live]) {
        progress.rep(entry.c, rep, s.reps);
        const t0 = performance.now();
        try {
          entry.series = (await measureRep(entry.c, s, entry.samples, signal)) ?? entry.series;
          entry.seconds += (performance.now() - t0) / 1e3;
        } catch (e) {
          if (signal.aborted) throw e;
          const error = e instanceof Error ? e.message : String(e);
          progress.fail(entry.c, error);
          out.push({ type: "failed", scenario: entry.c.scenario.name, params: entry.c.params, error });
          live.splice(live.indexOf(entry), 1); // one failure ends the case; the rest of the group goes on
        }
      }
    }
    for (const { c, samples, seconds, series } of live) {
      const records = toRecords(c, samples, series);
      results.push(...records);
      const head = records[0];
      progress.finish(c, head && { value: head.median, unit: head.unit }, seconds);
    }
  }
  pairBaselines(results);
  // Report in plan order (scenario, then params), whatever order the repetitions ran in.
  const order = new Map(cases.map((c, i) => [c.key, i]));
  const rank = (r: BenchRecord): number => (r.type === "machine" ? -1 : order.get(caseKey(r.scenario, r.params)) ?? 0);
  return [...results, ...out].sort((a, b) => rank(a) - rank(b));
}
