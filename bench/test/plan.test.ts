// The harness's planning and pairing, with fake in-process scenarios (no sockets): the
// parameter product, baselines pulled in with projected params (including a baseline that
// depends on the provider), interleaved groups, ratio orientation, chart tags, and a
// failing case that does not stop the run.
import { describe, expect, it } from "vitest";
import type * as ScenarioMod from "../src/scenario.js";
import type * as SelectionMod from "../src/selection.js";
import type * as GroupsMod from "../src/groups.js";
import type * as RunnerMod from "../src/runner.js";
import type * as ProgressMod from "../src/progress.js";
import type { ResultRecord } from "../src/results.js";

// The compiled code, as the CLI runs it (npm test builds first).
const dist = (m: string): string => new URL(`../dist/${m}.js`, import.meta.url).href;
const { registerScenario, allScenarios } = (await import(dist("scenario"))) as typeof ScenarioMod;
const { matchScenarios, planCases, smokePicks } = (await import(dist("selection"))) as typeof SelectionMod;
const { groupCases } = (await import(dist("groups"))) as typeof GroupsMod;
const { runCases } = (await import(dist("runner"))) as typeof RunnerMod;
const { Progress } = (await import(dist("progress"))) as typeof ProgressMod;

const rss = [{ role: "process", maxRssBytes: 50 * 2 ** 20 }];
const base = registerScenario({
  name: "fake/base",
  description: "100 msg/s, p50 10 µs",
  params: ["size"],
  run: async () => ({
    metrics: [
      { name: "msg/s", unit: "msg/s", value: 100, higherIsBetter: true },
      { name: "p50", unit: "µs", value: 10, higherIsBetter: false },
    ],
    processes: rss,
  }),
});
const baseNoble = registerScenario({ ...base, name: "fake/base-noble" });
const channel = registerScenario({
  name: "fake/channel",
  description: "half the rate, twice the latency of its baseline",
  params: ["size", "cryptoThreads", "provider"],
  baseline: (p) => (p.provider === "noble" ? "fake/base-noble" : "fake/base"),
  chart: { series: (p) => `fake ${p.provider} ${p.cryptoThreads}` },
  run: async (p) => {
    if (p.size === 1024 && p.cryptoThreads === 1 && p.provider === "noble") throw new Error("boom");
    return {
      metrics: [
        { name: "msg/s", unit: "msg/s", value: 50, higherIsBetter: true },
        { name: "MB/s", unit: "MB/s", value: 1, higherIsBetter: true },
        { name: "p50", unit: "µs", value: 20, higherIsBetter: false },
      ],
      processes: rss,
    };
  },
});
const values = { size: [64, 1024], cryptoThreads: [0, 1], provider: ["node", "noble"] as ScenarioMod.Provider[] };
const quiet = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;

describe("scenario selection", () => {
  it("matches exact names, substrings and globs, and names the option when nothing matches", () => {
    const all = allScenarios();
    expect(matchScenarios(["fake/base"], all)).toEqual([base]);
    expect(matchScenarios(["FAKE/BASE"], all)).toEqual([base, baseNoble]);
    expect(matchScenarios(["fake/*"], all)).toEqual([base, baseNoble, channel]);
    expect(() => matchScenarios(["nope"], all)).toThrow(/--scenario/);
  });

  it("adds each case's baseline with the params the baseline accepts", () => {
    const cases = planCases([channel], values, allScenarios());
    expect(cases).toHaveLength(8 + 2 + 2);
    expect(cases.filter((c) => c.scenario === base).map((c) => c.params)).toEqual([{ size: 64 }, { size: 1024 }]);
    expect(cases.filter((c) => c.scenario === baseNoble)).toHaveLength(2);
  });

  it("interleaves a baseline with the cases compared with it", () => {
    const groups = groupCases(planCases([channel], values, allScenarios()));
    expect(groups).toHaveLength(4); // (base | base-noble) × size
    for (const g of groups) expect(g).toHaveLength(3);
  });
});

describe("--smoke picks", () => {
  const fake = (name: string, extra: Partial<ScenarioMod.Scenario> = {}): ScenarioMod.Scenario => ({ ...base, name, baseline: undefined, ...extra });
  it("one scenario per family: its smoke mark, else its first with a baseline, else its first; never a baseline or check", () => {
    const plain = fake("alpha/plain");
    const paired = fake("alpha/paired", { baseline: "baseline/x" });
    const marked = fake("beta/marked", { smoke: true });
    const betaFirst = fake("beta/first", { baseline: "baseline/x" });
    const lone = fake("gamma/lone");
    const picks = smokePicks([fake("baseline/x"), fake("check/window-x"), plain, paired, betaFirst, marked, lone]);
    expect(picks.map((s) => s.name)).toEqual(["alpha/paired", "beta/marked", "gamma/lone"]);
  });
});

describe("runCases", () => {
  it("pairs figures with their baseline, orients ratios, tags the chart and records failures", async () => {
    const cases = planCases([channel], values, allScenarios());
    const records = await runCases(cases, { reps: 3, durationMs: 1, warmupMs: 0 }, new Progress(cases.length, quiet), new AbortController().signal);
    const results = records.filter((r): r is ResultRecord => r.type === "result");
    const find = (provider: string, metric: string) =>
      results.find((r) => r.scenario === "fake/channel" && r.params.provider === provider && r.params.size === 64 && r.params.cryptoThreads === 0 && r.metric === metric)!;

    expect(find("node", "msg/s")).toMatchObject({ median: 50, reps: 3, baseline: { name: "fake/base", params: { size: 64 }, median: 100 }, ratio: 0.5 });
    expect(find("noble", "p50")).toMatchObject({ baseline: { name: "fake/base-noble", median: 10 }, ratio: 0.5 }); // latency: baseline / median
    expect(find("node", "MB/s")).toMatchObject({ baseline: null, ratio: null, chart: { series: "fake node 0", x: 64 } }); // the baseline has no MB/s
    expect(find("node", "rss:process")).toMatchObject({ unit: "MiB", median: 50, ratio: null });

    expect(records.filter((r) => r.type === "failed")).toEqual([
      { type: "failed", scenario: "fake/channel", params: { size: 1024, cryptoThreads: 1, provider: "noble" }, error: "boom" },
    ]);
    expect(results.filter((r) => r.metric === "msg/s")).toHaveLength(4 + 7);
  });
});
