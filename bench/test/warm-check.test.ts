// The warm-up check (scenarios/check/warm-check.ts): it runs its target after the steady
// warm-up and after twice it (time, warm count and the count's cap), alternating the order,
// reports both rates and their ratio, and the report calls a figure that rose with the
// warm-up still warming up. Fake targets; the real ones are registered by name.
import { describe, expect, it } from "vitest";
import type * as WarmCheckMod from "../src/scenarios/check/warm-check.js";
import type * as DoublingMod from "../src/scenarios/check/doubling.js";
import type * as ScenarioMod from "../src/scenario.js";
import type * as SelectionMod from "../src/selection.js";
import type * as VerdictMod from "../src/report/window-verdicts.js";
import type * as TopologyMod from "../src/scenarios/tcp/hopwire-topology.js";
import type * as WarmMod from "../src/warm-count.js";
import type * as BlastMod from "../src/roles/blast-shape.js";
import type { ResultRecord } from "../src/results.js";
import type { RunParams, Scenario } from "../src/scenario.js";

const dist = (m: string): string => new URL(`../dist/${m}.js`, import.meta.url).href;
await import(dist("scenarios/index"));
const { registerWarmCheck, registerWarmChecks, WARM_CHECKED, WARM_CHECK_PREFIX, WARM_CHECKS } = (await import(dist("scenarios/check/warm-check"))) as typeof WarmCheckMod;
const { withChecks } = (await import(dist("scenarios/check/doubling"))) as typeof DoublingMod;
const { getScenario, allScenarios } = (await import(dist("scenario"))) as typeof ScenarioMod;
const { planCases } = (await import(dist("selection"))) as typeof SelectionMod;
const PARAM_VALUES: SelectionMod.ParamValues = { size: [64, 1024, 16384], cryptoThreads: [0, 1], provider: ["node", "noble"] };
const { warmVerdicts } = (await import(dist("report/window-verdicts"))) as typeof VerdictMod;
const { windowed, STEADY_WARMUP_MS } = (await import(dist("scenarios/tcp/hopwire-topology"))) as typeof TopologyMod;
const { warmedUp, warmCapMs, warmMessagesFor, WARM_COUNT_CAP_MS } = (await import(dist("warm-count"))) as typeof WarmMod;
const { blastWarmedUp, blastShape, warmTicksFor, WARM_TICKS } = (await import(dist("roles/blast-shape"))) as typeof BlastMod;

/** A target whose rate is what its warm-up makes it: `rate(scale)`. */
function fakeTarget(name: string, rate: (scale: number) => number, seen: RunParams[] = []): Scenario {
  return {
    name,
    description: "",
    params: ["size"],
    run: async (p) => {
      seen.push(p);
      return { metrics: [{ name: "msg/s", unit: "msg/s", value: rate(p.warmScale ?? 1), higherIsBetter: true }], processes: [{ role: "sink", maxRssBytes: 1 }] };
    },
  };
}

describe("warm check", () => {
  it("runs the target after its warm-up and after twice it, alternating the order, and reports the ratio", async () => {
    const seen: RunParams[] = [];
    // Still ramping: twice the warm-up reads 1.5× the rate.
    registerWarmCheck(fakeTarget("fake/ramping", (scale) => (scale === 2 ? 150 : 100), seen));
    const check = getScenario(`${WARM_CHECK_PREFIX}fake-ramping`)!;
    expect(check.params).toEqual(["size"]);
    const p = { size: 64, durationMs: 1000, warmupMs: 200 };
    const a = await check.run(p, new AbortController().signal);
    await check.run(p, new AbortController().signal);
    expect(seen.map((x) => x.warmScale)).toEqual([1, 2, 2, 1]);
    expect(seen.every((x) => x.size === 64 && x.durationMs === 1000 && x.warmupMs === 200)).toBe(true);
    const byName = Object.fromEntries(a.metrics.map((m) => [m.name, m.value]));
    expect(byName).toEqual({ "msg/s@warm": 100, "msg/s@2warm": 150, "2warm/warm": 1.5 });
    expect(a.processes.map((x) => x.role)).toEqual(["sink", "sink@2warm"]);
  });

  it("refuses a run too short for the steady warm-up, rather than compare two alike", async () => {
    registerWarmCheck(fakeTarget("fake/quick", () => 100));
    const check = getScenario(`${WARM_CHECK_PREFIX}fake-quick`)!;
    await expect(check.run({ size: 64, durationMs: 150, warmupMs: 50 }, new AbortController().signal)).rejects.toThrow(/needs --duration ≥ 0.5 s/);
  });

  it("doubles the steady warm-up's time and count in a full run, and neither in a quick one", () => {
    const full = { size: 64, durationMs: 1000, warmupMs: 200 };
    const once = windowed(full, 0.3, { steady: true });
    const twice = windowed({ ...full, warmScale: 2 }, 0.3, { steady: true });
    expect(once.warmupMs).toBe(STEADY_WARMUP_MS);
    expect(twice.warmupMs).toBe(2 * STEADY_WARMUP_MS);
    expect(once.warmMessages).toBe(warmMessagesFor(64));
    expect(twice.warmMessages).toBe(2 * warmMessagesFor(64));
    expect(twice.durationMs).toBe(once.durationMs);
    const quick = { size: 64, durationMs: 150, warmupMs: 50, warmScale: 2 };
    expect(windowed(quick, 0.3, { steady: true })).toMatchObject({ warmupMs: 50, warmMessages: 0 });
  });

  it("doubles the count's cap with the warm-up time", () => {
    expect(warmCapMs(STEADY_WARMUP_MS)).toBe(WARM_COUNT_CAP_MS);
    expect(warmCapMs(2 * STEADY_WARMUP_MS)).toBe(2 * WARM_COUNT_CAP_MS);
    expect(warmCapMs(50)).toBe(WARM_COUNT_CAP_MS); // --quick: as long as ever
    // A window whose count never arrives opens at the cap, and at twice it with twice the warm-up.
    expect(warmedUp(WARM_COUNT_CAP_MS, 0, STEADY_WARMUP_MS, 0, 1)).toBe(true);
    expect(warmedUp(WARM_COUNT_CAP_MS, 0, 2 * STEADY_WARMUP_MS, 0, 1)).toBe(false);
    expect(warmedUp(2 * WARM_COUNT_CAP_MS, 0, 2 * STEADY_WARMUP_MS, 0, 1)).toBe(true);
  });

  it("calls a ratio above the bound still warming up, at or below it warm", () => {
    const record = (scenario: string, metric: string, median: number): ResultRecord => ({
      type: "result", scenario, family: "check", params: { size: 64 }, metric, unit: "×", higherIsBetter: false,
      median, min: median, max: median, reps: 1, samples: [median], baseline: null, ratio: null,
    });
    const v = warmVerdicts([
      record(`${WARM_CHECK_PREFIX}a`, "2warm/warm", 1.04),
      record(`${WARM_CHECK_PREFIX}b`, "2warm/warm", 1.9),
      record(`${WARM_CHECK_PREFIX}b`, "msg/s@warm", 5),
      record("check/window-c", "2W/1W", 3),
    ]);
    expect(v.map((x) => [x.scenario, x.warm])).toEqual([[`${WARM_CHECK_PREFIX}a`, true], [`${WARM_CHECK_PREFIX}b`, false]]);
  });

  it("has a check for every one-way throughput scenario it names, added by --warm-check only", () => {
    for (const name of WARM_CHECKED) expect(getScenario(WARM_CHECKS.targets.get(name)!)?.name).toBe(`${WARM_CHECK_PREFIX}${name.replace("/", "-")}`);
    expect(() => registerWarmChecks(["no/such-scenario"])).toThrow(/no scenario no\/such-scenario/);
    const target = getScenario("tcp/one-hop-throughput")!;
    const check = getScenario(`${WARM_CHECK_PREFIX}tcp-one-hop-throughput`)!;
    const all = [target, check];
    expect(withChecks([target], all, [], [])).toEqual([target]);
    expect(withChecks([target], all, [], [WARM_CHECKS])).toEqual([target, check]);
  });

  it("plans a full and a quick run of every scenario with --warm-check, the scale/ checks at n = 1,000 (quick: 10)", () => {
    const scenarios = allScenarios();
    const checked = withChecks(scenarios, scenarios, [], [WARM_CHECKS]);
    for (const quick of [false, true]) {
      const cases = planCases(checked, { ...PARAM_VALUES, quick }, scenarios);
      const countsOf = (name: string): unknown[] => cases.filter((c) => c.scenario.name === name).map((c) => c.params.count);
      expect(countsOf(`${WARM_CHECK_PREFIX}scale-channels`)).toEqual([quick ? 10 : 1000]);
      expect(countsOf(`${WARM_CHECK_PREFIX}scale-raw-records`)).toEqual([quick ? 10 : 1000]);
    }
  });
});

describe("the Blaster's warm count (runtime/*)", () => {
  it("waits for the same payload in answered ticks as the one-way windows wait for in messages", () => {
    for (const size of [64, 1024, 16384]) {
      const { perTick } = blastShape(size);
      expect(warmTicksFor(warmMessagesFor(size), perTick) * perTick * size).toBeGreaterThanOrEqual(512 * 2 ** 20);
    }
    expect(warmTicksFor(0, 1024)).toBe(WARM_TICKS); // --quick: the ticks a window needs, no more
  });

  it("opens after its time and its ticks, or at the cap, never before WARM_TICKS", () => {
    const warmTicks = 8192;
    expect(blastWarmedUp(999, 0, 1000, warmTicks, warmTicks)).toBe(false);
    expect(blastWarmedUp(1000, 0, 1000, warmTicks - 1, warmTicks)).toBe(false);
    expect(blastWarmedUp(1000, 0, 1000, warmTicks, warmTicks)).toBe(true);
    expect(blastWarmedUp(WARM_COUNT_CAP_MS, 0, 1000, WARM_TICKS, warmTicks)).toBe(true);
    expect(blastWarmedUp(10 * WARM_COUNT_CAP_MS, 0, 1000, WARM_TICKS - 1, warmTicks)).toBe(false);
  });
});
