// --compare's verdicts (report/compare.ts) on hand-made results files: a median that moved by
// more than 5 % is called better or worse only when the two runs' repetitions do not
// overlap; inside each other's min–max it is "~" (session 22 → 24 on the shared machine:
// 295 of the 310 figures that moved by more than 5 % moved within the spread).
import { describe, expect, it } from "vitest";
import type * as CompareMod from "../src/report/compare.js";
import type * as MachineMod from "../src/machine.js";
import type { BenchRecord, ResultRecord } from "../src/results.js";

const dist = (m: string): string => new URL(`../dist/${m}.js`, import.meta.url).href;
const { renderComparison } = (await import(dist("report/compare"))) as typeof CompareMod;
const { machineRecord } = (await import(dist("machine"))) as typeof MachineMod;

function result(scenario: string, samples: number[], higherIsBetter = true): ResultRecord {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    type: "result",
    scenario,
    family: scenario.split("/")[0]!,
    params: { size: 64 },
    metric: "msg/s",
    unit: "msg/s",
    higherIsBetter,
    median: sorted[Math.floor(sorted.length / 2)]!,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    reps: samples.length,
    samples,
    baseline: null,
    ratio: null,
  };
}

const file = (...results: ResultRecord[]): BenchRecord[] => [machineRecord({ reps: 5, durationS: 1, warmupS: 0.2, quick: false }), ...results];

/** The verdict column of the row of `scenario`: the word after the B/A column ("1.50×"). */
function verdictOf(table: string, scenario: string): string {
  const row = table.split("\n").find((line) => line.startsWith(`${scenario} `))!;
  return row.split(/\s{2,}/)[7] ?? "";
}

describe("--compare", () => {
  const a = file(
    result("x/apart-up", [100, 101, 102, 103, 104]),
    result("x/overlap-up", [80, 90, 100, 110, 120]),
    result("x/apart-down", [100, 101, 102, 103, 104]),
    result("x/latency-apart", [100, 101, 102, 103, 104], false),
    result("x/same", [100, 101, 102, 103, 104]),
  );
  const b = file(
    result("x/apart-up", [150, 151, 152, 153, 154]),
    result("x/overlap-up", [100, 115, 125, 130, 140]),
    result("x/apart-down", [50, 51, 52, 53, 54]),
    result("x/latency-apart", [150, 151, 152, 153, 154], false),
    result("x/same", [100, 101, 102, 103, 104]),
  );
  const out = renderComparison(a, b, ["a.json", "b.json"]);

  it("calls a move beyond the other run's repetitions better or worse, oriented like ratios", () => {
    expect(verdictOf(out, "x/apart-up")).toBe("better");
    expect(verdictOf(out, "x/apart-down")).toBe("worse");
    expect(verdictOf(out, "x/latency-apart")).toBe("worse");
  });

  it("marks a move within the repetitions' spread ~, not better or worse", () => {
    expect(out).toMatch(/x\/overlap-up .* \+25\.0% +1\.25× +~/);
    expect(verdictOf(out, "x/overlap-up")).toBe("~");
  });

  it("leaves an unchanged figure unlabelled and says what the labels mean", () => {
    expect(out).toMatch(/x\/same .* \+0\.0% +1\.00×\s*$/m);
    expect(out).toContain("better/worse: the median moved by more than 5 %");
  });
});
