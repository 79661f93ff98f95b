// --compare a.json b.json: the change of every figure present in both files, and of its
// ratio to the baseline. Changes are oriented like ratios: a positive "better" is an
// improvement whether the metric is a rate or a latency. A figure is called better or worse
// only when its median moved by more than MIN_CHANGE and the two runs' repetitions do not
// overlap: on a shared machine two runs' medians differ by 15-50 % with every repetition of
// one inside the other's min–max, and a label there would report noise as a change.
import { caseKey, formatNumber, formatParams, formatRatio } from "../format.js";
import { describeRun, isResult, machineOf, nodeFlagsNote, type BenchRecord, type ResultRecord } from "../results.js";
import { renderTextTable } from "./text-table.js";

/** Smallest relative change of a median that may be called better or worse. */
const MIN_CHANGE = 0.05;

/** Whether the repetitions of two runs of a figure share any value (min–max ranges overlap). */
const overlaps = (a: ResultRecord, b: ResultRecord): boolean => a.min <= b.max && b.min <= a.max;

/** "better", "worse", "~" (moved more than MIN_CHANGE, within the repetitions' spread) or "". */
function verdict(old: ResultRecord, r: ResultRecord, better: number): string {
  if (Number.isNaN(better) || Math.abs(better) <= MIN_CHANGE) return "";
  if (overlaps(old, r)) return "~";
  return better > 0 ? "better" : "worse";
}

export function renderComparison(a: readonly BenchRecord[], b: readonly BenchRecord[], names: [string, string]): string {
  const key = (r: ResultRecord): string => `${caseKey(r.scenario, r.params)} ${r.metric}`;
  const before = new Map(a.filter(isResult).map((r) => [key(r), r]));
  const rows: string[][] = [];
  let onlyB = 0;
  for (const r of b.filter(isResult)) {
    const old = before.get(key(r));
    if (!old) {
      onlyB++;
      continue;
    }
    before.delete(key(r));
    // A zero median (a broken run) has no meaningful relative change.
    const change = old.median === 0 ? NaN : (r.median - old.median) / old.median;
    const better = r.higherIsBetter ? change : -change;
    rows.push([
      r.scenario,
      formatParams(r.params),
      r.metric === r.unit ? r.metric : `${r.metric} (${r.unit})`,
      formatNumber(old.median),
      formatNumber(r.median),
      Number.isNaN(change) ? "n/a" : `${change >= 0 ? "+" : ""}${(change * 100).toFixed(1)}%`,
      Number.isNaN(change) ? "n/a" : `${(r.median / old.median).toFixed(2)}×`,
      verdict(old, r, better),
      formatRatio(old.ratio),
      formatRatio(r.ratio),
    ]);
  }
  const [ma, mb] = [machineOf(a), machineOf(b)];
  const header = [
    `A: ${names[0]} — ${describeRun(ma)}`,
    `B: ${names[1]} — ${describeRun(mb)}`,
  ];
  if (ma.settings.quick !== mb.settings.quick) header.push("note: one run is quick and the other full: their figures differ by how they were measured, not only by the code");
  if (nodeFlagsNote(ma) !== nodeFlagsNote(mb)) header.push("note: the runs gave their processes different Node flags (HOPWIRE_BENCH_NODE_FLAGS)");
  if (ma.cpu !== mb.cpu || ma.cores !== mb.cores) header.push("note: different machines; compare the ratio columns, not the medians");
  const table = renderTextTable(
    ["scenario", "params", "metric", "median A", "median B", "change", "B/A", "", "ratio A", "ratio B"],
    rows,
    new Set([3, 4, 5, 6, 8, 9]),
  );
  const missing = [
    ...(before.size ? [`${before.size} figure(s) only in A`] : []),
    ...(onlyB ? [`${onlyB} figure(s) only in B`] : []),
  ];
  const legend = `better/worse: the median moved by more than ${MIN_CHANGE * 100} % and no repetition of one run falls within the other's min–max; ~: moved as much, within the repetitions' spread (noise until repeated).`;
  return [...header, "", table, "", legend, ...(missing.length ? ["", missing.join("; ")] : [])].join("\n");
}
