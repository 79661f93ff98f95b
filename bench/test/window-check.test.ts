// The window check (scenarios/check/window-check.ts) with fake targets: it runs the target at
// scales 1 and 2 in every repetition, alternating the order, reports both rates and their
// ratio, and the report calls a figure that rose with the window window-bound. Also the
// busy-share arithmetic (busy.ts) it leans on.
import { describe, expect, it } from "vitest";
import type * as CheckMod from "../src/scenarios/check/window-check.js";
import type * as ScenarioMod from "../src/scenario.js";
import type * as VerdictMod from "../src/report/window-verdicts.js";
import type * as BusyMod from "../src/busy.js";
import type { ResultRecord } from "../src/results.js";

const dist = (m: string): string => new URL(`../dist/${m}.js`, import.meta.url).href;
const { registerWindowCheck, windowCheckMetrics, withWindowChecks, CHECK_PREFIX } = (await import(dist("scenarios/check/window-check"))) as typeof CheckMod;
const { getScenario } = (await import(dist("scenario"))) as typeof ScenarioMod;
const { windowVerdicts } = (await import(dist("report/window-verdicts"))) as typeof VerdictMod;
const { busyBetween } = (await import(dist("busy"))) as typeof BusyMod;

const measurement = (rate: number) => ({
  metrics: [
    { name: "msg/s", unit: "msg/s", value: rate, higherIsBetter: true },
    { name: "busy:sink", unit: "%", value: 50, higherIsBetter: true },
  ],
  processes: [{ role: "sink", maxRssBytes: 1 }],
});

describe("window check", () => {
  it("runs the target at 1W and 2W, alternating the order, and reports the ratio", async () => {
    const scales: number[] = [];
    // A latency-bound fake: its rate grows with the window.
    registerWindowCheck({ name: "fake/latency-bound", params: [], window: "n", runAt: async (_p, _s, scale) => (scales.push(scale), measurement(100 * scale)) });
    const check = getScenario(`${CHECK_PREFIX}fake-latency-bound`)!;
    const p = { durationMs: 1, warmupMs: 1 };
    const a = await check.run(p, new AbortController().signal);
    await check.run(p, new AbortController().signal);
    expect(scales).toEqual([1, 2, 2, 1]);
    const byName = Object.fromEntries(a.metrics.map((m) => [m.name, m.value]));
    expect(byName).toMatchObject({ "msg/s@1W": 100, "msg/s@2W": 200, "2W/1W": 2, "busy:sink@1W": 50 });
    expect(a.processes.map((x) => x.role)).toEqual(["sink", "sink@2W"]);
  });

  it("fails loudly when the target reports no rate", () => {
    const none = { metrics: [], processes: [] };
    expect(() => windowCheckMetrics(none, none)).toThrow(/msg\/s/);
  });

  it("calls a ratio above the bound window-bound, at or below it throughput-bound", () => {
    const record = (scenario: string, median: number): ResultRecord => ({
      type: "result", scenario, family: "check", params: { size: 64 }, metric: "2W/1W", unit: "×", higherIsBetter: false,
      median, min: median, max: median, reps: 1, samples: [median], baseline: null, ratio: null,
    });
    const v = windowVerdicts([record(`${CHECK_PREFIX}a`, 1.02), record(`${CHECK_PREFIX}b`, 1.6), record("runtime/x", 3)]);
    expect(v.map((x) => [x.scenario, x.throughputBound])).toEqual([[`${CHECK_PREFIX}a`, true], [`${CHECK_PREFIX}b`, false]]);
  });
});

describe("withWindowChecks", () => {
  const fake = (name: string) => ({ name, description: "", params: [], run: async () => ({ metrics: [], processes: [] }) });
  registerWindowCheck({ name: "fake/target", params: [], window: "n", runAt: async () => measurement(1) });
  const target = fake("fake/target");
  const other = fake("fake/other");
  const check = getScenario(`${CHECK_PREFIX}fake-target`)!;
  const all = [target, check, other];

  it("leaves the checks out by default, even when a pattern matched them", () => {
    expect(withWindowChecks([target, check], all, ["target"], false)).toEqual([target]);
  });
  it("adds the check of every selected target with --window-check", () => {
    expect(withWindowChecks([target, other], all, [], true)).toEqual([target, check, other]);
  });
  it("keeps checks a pattern names explicitly", () => {
    expect(withWindowChecks([check], all, ["check/"], false)).toEqual([check]);
  });
});

describe("busyBetween", () => {
  it("is the active share of the time between two marks", () => {
    expect(busyBetween({ idle: 10, active: 10 }, { idle: 40, active: 100 })).toBeCloseTo(0.75);
    expect(busyBetween({ idle: 1, active: 1 }, { idle: 1, active: 1 })).toBe(0);
  });
});
