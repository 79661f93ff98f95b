// backpressure/slow-consumer's arithmetic (backpressure.ts) on hand-made samples, and the
// time-series chart (series-svg.ts): goodput after the warm-up, RSS growth from the
// post-warm-up level, queued = sent − delivered, series starting at the sender's first sample.
import { describe, expect, it } from "vitest";
import type * as BpMod from "../src/backpressure.js";
import type * as SvgMod from "../src/report/series-svg.js";
import type { Sample } from "../src/sampler.js";

const dist = (m: string): string => new URL(`../dist/${m}.js`, import.meta.url).href;
const { slowConsumerFigures } = (await import(dist("backpressure"))) as typeof BpMod;
const { renderSeriesSvg, niceStep } = (await import(dist("report/series-svg"))) as typeof SvgMod;

const MiB = 2 ** 20;

describe("slowConsumerFigures", () => {
  // Receiver from t = 9.5 s, sender from 10 s; 100 msg/s delivered; receiver RSS +10 MiB/s after the warm-up.
  const receiver: Sample[] = [9500, 10000, 11000, 12000, 13000].map((t) => [t, (50 + Math.max(0, t - 11000) / 100) * MiB, Math.max(0, (t - 10000) / 10)]);
  const sender: Sample[] = [10000, 11000, 12000, 13000].map((t) => [t, 60 * MiB, (t - 10000) * 2]);
  const f = slowConsumerFigures(receiver, sender, 1000);
  const m = Object.fromEntries(f.metrics.map((x) => [x.name, x.value]));

  it("measures goodput and growth after the warm-up", () => {
    expect(m.goodput).toBeCloseTo(100);
    expect(m["rss growth:receiver"]).toBeCloseTo(20);
    expect(m["rss growth:sender"]).toBe(0);
    expect(m["rss end:receiver"]).toBeCloseTo(70);
    expect(m.queued).toBe(6000 - 300);
  });

  it("charts from the sender's first sample", () => {
    for (const s of f.series) expect(Math.min(...s.points.map((p) => p[0]))).toBeGreaterThanOrEqual(0);
    expect(f.series.find((s) => s.unit === "msg/s")!.points.map((p) => p[1])).toEqual([0, 100, 100, 100]);
  });

  it("refuses a run too short to measure", () => {
    expect(() => slowConsumerFigures(receiver.slice(0, 1), sender, 1000)).toThrow(/too few samples/);
  });
});

describe("renderSeriesSvg", () => {
  it("draws one polyline per series inside the plot, with round grid steps", () => {
    const svg = renderSeriesSvg("t", "MiB", [
      { name: "a", unit: "MiB", points: [[0, 1], [1, 70]] },
      { name: "b", unit: "MiB", points: [[0, 5], [2, 5]] },
    ]);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).not.toMatch(/points="[^"]*-\d/); // nothing left of or below the axes
    expect(niceStep(70)).toBe(20);
    expect(niceStep(0)).toBe(1);
  });
});
