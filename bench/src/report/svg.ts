// docs/bench-throughput.svg: throughput (MB/s) against message size, one line per
// series, drawn from whichever records carry a `chart` tag — so a new series (a Hopwire
// configuration, libp2p) appears by tagging its scenario, with no change here. Both axes
// are logarithmic: sizes double, and the series span pure-JS AEAD to raw TCP (~100×).
import { formatNumber, formatSize } from "../format.js";
import { isResult, type BenchRecord } from "../results.js";

const W = 820;
const H = 460;
const PLOT = { left: 70, top: 48, right: 560, bottom: 400 };
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

/** Tick labels are round numbers (1, 2, 5 × 10^n): print them plainly, 2000 as "2 k". */
const tick = (v: number): string => (v >= 1e6 ? `${v / 1e6} M` : v >= 1e3 ? `${v / 1e3} k` : String(Number(v.toPrecision(2))));

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export function chartSeries(records: readonly BenchRecord[]): Series[] {
  const byName = new Map<string, Series>();
  for (const r of records) {
    if (!isResult(r) || !r.chart) continue;
    const s = byName.get(r.chart.series) ?? { name: r.chart.series, points: [] };
    s.points.push({ x: r.chart.x, y: r.median });
    byName.set(s.name, s);
  }
  for (const s of byName.values()) s.points.sort((a, b) => a.x - b.x);
  return [...byName.values()];
}

export function renderThroughputSvg(records: readonly BenchRecord[], title = "Throughput vs message size"): string {
  const series = chartSeries(records);
  const points = series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${PLOT.left}" y="28" font-size="16" font-weight="bold">${esc(title)}</text>`,
  ];
  if (points.length === 0) {
    out.push(`<text x="${PLOT.left}" y="${H / 2}">no records tagged for the chart</text>`, "</svg>");
    return out.join("\n");
  }
  const log2 = (v: number): number => Math.log2(v);
  let [x0, x1] = [Math.min(...points.map((p) => log2(p.x))), Math.max(...points.map((p) => log2(p.x)))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  const y0 = Math.floor(Math.log10(Math.min(...points.map((p) => p.y))));
  let y1 = Math.ceil(Math.log10(Math.max(...points.map((p) => p.y))));
  if (y1 === y0) y1 = y0 + 1;
  const sx = (x: number): number => PLOT.left + ((log2(x) - x0) / (x1 - x0)) * (PLOT.right - PLOT.left);
  const sy = (y: number): number => PLOT.bottom - ((Math.log10(y) - y0) / (y1 - y0)) * (PLOT.bottom - PLOT.top);
  const f = (n: number): string => n.toFixed(1);

  // Grid and y labels: decades bold, 2× and 5× light.
  for (let d = y0; d <= y1; d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (Math.log10(v) > y1) break;
      const y = f(sy(v));
      out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${y}" y2="${y}" stroke="${m === 1 ? "#ccc" : "#eee"}"/>`);
      out.push(`<text x="${PLOT.left - 6}" y="${y}" dy="4" text-anchor="end" fill="#555">${tick(v)}</text>`);
    }
  }
  // X ticks at the measured sizes.
  for (const x of [...new Set(points.map((p) => p.x))].sort((a, b) => a - b)) {
    const px = f(sx(x));
    out.push(`<line x1="${px}" x2="${px}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#eee"/>`);
    out.push(`<text x="${px}" y="${PLOT.bottom + 18}" text-anchor="middle" fill="#555">${esc(formatSize(x))}</text>`);
  }
  out.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#888"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 40}" text-anchor="middle">message size (log scale)</text>`,
    `<text transform="translate(18 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">MB/s, median (log scale)</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points.filter((p) => p.x > 0 && p.y > 0);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${f(sx(p.x))},${f(sy(p.y))}`).join(" ")}"/>`);
    for (const p of pts) {
      out.push(`<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="3.5" fill="${color}"><title>${esc(`${s.name}: ${formatSize(p.x)} → ${formatNumber(p.y)} MB/s`)}</title></circle>`);
    }
    const ly = PLOT.top + 8 + i * 20;
    out.push(`<line x1="${PLOT.right + 20}" x2="${PLOT.right + 44}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${PLOT.right + 50}" y="${ly}" dy="4">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}
