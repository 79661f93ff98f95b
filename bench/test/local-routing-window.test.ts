// runtime/* (those that cross a thread) are read against baseline/messageport-frames, so both
// must measure the same share of --duration after the same warm-up (at least 1 s in a full
// run); baseline/messageport-batched, shown beside it, too. The batched baseline used to take
// the CLI's 0.2 s warm-up and a 1 s window, and caught its own first second. The declared
// windows (what docs/BENCHMARKS.md prints) are compared here, and both baselines are run once
// for real (a child process, a worker thread) with their window.
import { describe, expect, it } from "vitest";
import type * as ScenarioMod from "../src/scenario.js";

const dist = (m: string): string => new URL(`../dist/${m}.js`, import.meta.url).href;
await import(dist("scenarios/index"));
const { allScenarios, getScenario } = (await import(dist("scenario"))) as typeof ScenarioMod;

/** The sentence a description ends with that says which window a repetition measures. */
const windowOf = (description: string): string | undefined => /Measures [^.]*per repetition\./.exec(description)?.[0];

describe("the MessagePort baselines of runtime/*", () => {
  const frames = getScenario("baseline/messageport-frames")!;
  const batched = getScenario("baseline/messageport-batched")!;

  it("are read with the window of every scenario read against them, the steady warm-up included", () => {
    // runtime/main->main crosses no thread: a crossing is no baseline for it.
    const readAgainstIt = allScenarios().filter((s) => s.baseline === frames.name);
    expect(readAgainstIt.map((s) => s.name)).toEqual(["runtime/main->thread", "runtime/thread->thread", "runtime/pool", "runtime/thread->pool"]);
    expect(getScenario("runtime/main->main")!.baseline).toBeUndefined();
    const window = windowOf(frames.description);
    expect(window).toMatch(/at least 1 s in a full run/);
    expect(windowOf(batched.description)).toBe(window);
    for (const s of readAgainstIt) expect(windowOf(s.description), s.name).toBe(window);
  });

  for (const name of ["baseline/messageport-frames", "baseline/messageport-batched"]) {
    it(`${name} still measures with it, every message read whole (a short, quick-run repetition)`, async () => {
      const m = await getScenario(name)!.run({ size: 1024, durationMs: 200, warmupMs: 200 }, new AbortController().signal);
      const rate = m.metrics.find((x) => x.name === "msg/s")!.value;
      const bytes = m.metrics.find((x) => x.name === "MB/s")!.value;
      expect(rate).toBeGreaterThan(0);
      // The worker counts the payload bytes it read: 1 KiB a message.
      expect(bytes / rate).toBeCloseTo(1024 / 1e6, 6);
      expect(m.processes.map((p) => p.role)).toEqual(["process"]);
    });
  }
});
