// Line charts of samples over time (Measurement.series, e.g. backpressure/*: RSS and goodput
// of each process during one repetition). One chart per unit, linear axes from 0, so a
// flat line reads as "bounded" and a ramp as "growing" at a glance.
import { formatNumber } from "../format.js";
import type { TimeSeries } from "../scenario.js";

const W = 640;
const H = 300;
const PLOT = { left: 64, top: 40, right: 440, bottom: 256 };
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const f = (n: number): string => n.toFixed(1);

/** A round step (1, 2, 5 × 10^n) giving about `count` grid lines up to `max`. */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
}

/** One chart: every series of one unit against seconds. */
export function renderSeriesSvg(title: string, unit: string, series: readonly TimeSeries[]): string {
  const points = series.flatMap((s) => s.points);
  const xMax = Math.max(1e-9, ...points.map((p) => p[0]));
  const yStep = niceStep(Math.max(0, ...points.map((p) => p[1])));
  const yMax = Math.max(yStep, Math.ceil(Math.max(0, ...points.map((p) => p[1])) / yStep) * yStep);
  const sx = (x: number): number => PLOT.left + (x / xMax) * (PLOT.right - PLOT.left);
  const sy = (y: number): number => PLOT.bottom - (y / yMax) * (PLOT.bottom - PLOT.top);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${PLOT.left}" y="24" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${f(sy(y))}" y2="${f(sy(y))}" stroke="#eee"/>`);
    out.push(`<text x="${PLOT.left - 6}" y="${f(sy(y))}" dy="4" text-anchor="end" fill="#555">${esc(formatNumber(y))}</text>`);
  }
  const xStep = niceStep(xMax);
  for (let x = 0; x <= xMax + 1e-9; x += xStep) {
    out.push(`<text x="${f(sx(x))}" y="${PLOT.bottom + 16}" text-anchor="middle" fill="#555">${esc(formatNumber(x))}</text>`);
  }
  out.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#888"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 36}" text-anchor="middle">seconds</text>`,
    `<text transform="translate(16 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(unit)}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${s.points.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(" ")}"/>`);
    const ly = PLOT.top + 8 + i * 18;
    out.push(`<line x1="${PLOT.right + 14}" x2="${PLOT.right + 34}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${PLOT.right + 40}" y="${ly}" dy="4">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}

/** The series of one case grouped by unit: one chart each. */
export function chartsByUnit(series: readonly TimeSeries[]): { unit: string; series: TimeSeries[] }[] {
  const byUnit = new Map<string, TimeSeries[]>();
  for (const s of series) byUnit.set(s.unit, [...(byUnit.get(s.unit) ?? []), s]);
  return [...byUnit].map(([unit, list]) => ({ unit, series: list }));
}
