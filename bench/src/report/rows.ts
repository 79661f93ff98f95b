// The rows the console table and the Markdown report share: one row per figure, peak RSS
// of each process folded into one cell per case, so memory is visible without doubling
// the table.
import { caseKey, formatNumber, formatParams, formatRatio } from "../format.js";
import type { BenchRecord, ResultRecord } from "../results.js";

export const HEADERS = ["scenario", "params", "metric", "median", "min–max", "baseline median", "ratio", "peak RSS MiB"] as const;
export type Row = string[];

/** Repetitions further apart than this are flagged: read such a median with care. */
export const NOISY_SPREAD = 1.5;
const spread = (r: ResultRecord): string => {
  const noisy = r.min > 0 && r.max / r.min > NOISY_SPREAD;
  return `${formatNumber(r.min)}–${formatNumber(r.max)}${noisy ? " !" : ""}`;
};

function rssCell(records: readonly ResultRecord[]): string {
  return records
    .filter((r) => r.metric.startsWith("rss:"))
    .map((r) => `${r.metric.slice(4)} ${r.median.toFixed(0)}${r.unit === "MiB" ? "" : ` ${r.unit}`}`)
    .join(" · ");
}

/** Groups figures by case, in the order the cases ran. */
export function groupByCase(records: readonly BenchRecord[]): ResultRecord[][] {
  const groups = new Map<string, ResultRecord[]>();
  for (const r of records) {
    if (r.type !== "result") continue;
    const key = caseKey(r.scenario, r.params);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()];
}

export function rowsFor(records: readonly BenchRecord[]): Row[] {
  const rows: Row[] = [];
  for (const group of groupByCase(records)) {
    const figures = group.filter((r) => !r.metric.startsWith("rss:"));
    const rss = rssCell(group);
    figures.forEach((r, i) =>
      rows.push([
        i === 0 ? r.scenario : "",
        i === 0 ? formatParams(r.params) : "",
        r.metric === r.unit ? r.metric : `${r.metric} (${r.unit})`,
        formatNumber(r.median),
        spread(r),
        r.baseline ? `${formatNumber(r.baseline.median)} ${r.baseline.name.replace(/^baseline\//, "")}` : "",
        formatRatio(r.ratio),
        i === 0 ? rss : "",
      ]),
    );
  }
  return rows;
}

/** Non-result records worth a line under the table. */
export function notesFor(records: readonly BenchRecord[]): string[] {
  return records.flatMap((r) =>
    r.type === "skipped"
      ? [`skipped ${r.scenario} (${formatParams(r.params)}): ${r.reason}`]
      : r.type === "failed"
        ? [`FAILED ${r.scenario} (${formatParams(r.params)}): ${r.error.split("\n")[0]}`]
        : [],
  );
}
