// --compare a.json b.json: the change of every figure present in both files, and of its
// ratio to the baseline. Changes are oriented like ratios: a positive "better" is an
// improvement whether the metric is a rate or a latency.
import { caseKey, formatNumber, formatParams, formatRatio } from "../format.js";
import { isResult, machineOf, type BenchRecord, type ResultRecord } from "../results.js";
import { renderTextTable } from "./text-table.js";

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
      better > 0.05 ? "better" : better < -0.05 ? "worse" : "",
      formatRatio(old.ratio),
      formatRatio(r.ratio),
    ]);
  }
  const [ma, mb] = [machineOf(a), machineOf(b)];
  const header = [
    `A: ${names[0]} — ${ma.date} · ${ma.node} · ${ma.cpu} · ${ma.cores} cores${ma.settings.quick ? " · quick" : ""}`,
    `B: ${names[1]} — ${mb.date} · ${mb.node} · ${mb.cpu} · ${mb.cores} cores${mb.settings.quick ? " · quick" : ""}`,
  ];
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
  return [...header, "", table, ...(missing.length ? ["", missing.join("; ")] : [])].join("\n");
}
