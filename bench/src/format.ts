// Number and parameter formatting shared by the progress lines, the console table and
// the Markdown report, so the three read alike.
import type { Params } from "./scenario.js";

export function formatSize(bytes: number): string {
  if (bytes >= 2 ** 20 && bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** Three significant digits with k/M/G, e.g. 1.24 M, 845 k, 12.3. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  const [div, suffix] = abs >= 1e9 ? [1e9, " G"] : abs >= 1e6 ? [1e6, " M"] : abs >= 1e4 ? [1e3, " k"] : [1, ""];
  const x = v / div;
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return `${x.toFixed(digits)}${suffix}`;
}

export function formatRatio(r: number | null): string {
  return r === null ? "" : `${r.toFixed(2)}×`;
}

export function formatParams(p: Params): string {
  const parts: string[] = [];
  if (p.size !== undefined) parts.push(formatSize(p.size));
  if (p.cryptoThreads !== undefined) parts.push(`${p.cryptoThreads} crypto thr`);
  if (p.provider !== undefined) parts.push(p.provider);
  if (p.count !== undefined) parts.push(`n=${p.count}`);
  return parts.join(", ") || "-";
}

/** A stable identity for (scenario, params): compare and baseline pairing key on it. */
export function caseKey(scenario: string, p: Params): string {
  // count is appended only when set, so the keys of older results files stay the same.
  const key = [p.size ?? null, p.cryptoThreads ?? null, p.provider ?? null, ...(p.count === undefined ? [] : [p.count])];
  return `${scenario} ${JSON.stringify(key)}`;
}
