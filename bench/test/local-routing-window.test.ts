// runtime/* are read against baseline/messageport-batched, so both must measure the same
// share of --duration after the same warm-up (at least 1 s in a full run). The baseline
// used to take the CLI's 0.2 s warm-up and a 1 s window, and caught its own first second.
// The declared windows (what docs/BENCHMARKS.md prints) are compared here, and the
// baseline is run once for real (a child process, a worker thread) with its new window.
import { describe, expect, it } from "vitest";
import type * as ScenarioMod from "../src/scenario.js";

const dist = (m: string): string => new URL(`../dist/${m}.js`, import.meta.url).href;
await import(dist("scenarios/index"));
const { allScenarios, getScenario } = (await import(dist("scenario"))) as typeof ScenarioMod;

/** The sentence a description ends with that says which window a repetition measures. */
const windowOf = (description: string): string | undefined => /Measures [^.]*per repetition\./.exec(description)?.[0];

describe("baseline/messageport-batched's window", () => {
  const baseline = getScenario("baseline/messageport-batched")!;
  const readAgainstIt = allScenarios().filter((s) => s.baseline === baseline.name);

  it("is the window of every scenario read against it, the steady warm-up included", () => {
    // runtime/main->main crosses no thread: a crossing is no baseline for it.
    expect(readAgainstIt.map((s) => s.name)).toEqual(["runtime/main->thread", "runtime/thread->thread", "runtime/pool"]);
    expect(getScenario("runtime/main->main")!.baseline).toBeUndefined();
    const window = windowOf(baseline.description);
    expect(window).toMatch(/at least 1 s in a full run/);
    for (const s of readAgainstIt) expect(windowOf(s.description), s.name).toBe(window);
  });

  it("still measures with it (a short, quick-run repetition)", async () => {
    const m = await baseline.run({ size: 64, durationMs: 200, warmupMs: 200 }, new AbortController().signal);
    const rate = m.metrics.find((x) => x.name === "msg/s");
    expect(rate?.value).toBeGreaterThan(0);
    expect(m.processes.map((p) => p.role)).toEqual(["process"]);
  });
});
