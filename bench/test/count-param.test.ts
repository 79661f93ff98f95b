// The "count" parameter: values come from each scenario's own `counts` (full or quick),
// --count overrides them, the baseline gets count only if it accepts it, and cases that
// differ only in count are distinct (keys, labels).
import { describe, expect, it } from "vitest";
import type * as ScenarioMod from "../src/scenario.js";
import type * as SelectionMod from "../src/selection.js";
import type * as FormatMod from "../src/format.js";

const dist = (m: string): string => new URL(`../dist/${m}.js`, import.meta.url).href;
const { registerScenario, allScenarios } = (await import(dist("scenario"))) as typeof ScenarioMod;
const { planCases } = (await import(dist("selection"))) as typeof SelectionMod;
const { caseKey, formatParams } = (await import(dist("format"))) as typeof FormatMod;

const run = async () => ({ metrics: [], processes: [{ role: "p", maxRssBytes: 1 }] });
const perCount = registerScenario({ name: "fakecount/base", description: "-", params: ["count"], counts: { full: [7], quick: [7] }, run });
const flat = registerScenario({ name: "fakecount/flat", description: "-", params: [], run });
const scaled = registerScenario({
  name: "fakecount/scaled",
  description: "-",
  params: ["count"],
  counts: { full: [1, 10, 100], quick: [10] },
  baseline: "fakecount/flat",
  run,
});
const paired = registerScenario({ name: "fakecount/paired", description: "-", params: ["count"], counts: { full: [3], quick: [3] }, baseline: "fakecount/base", run });
const values = { size: [64], cryptoThreads: [0], provider: ["node" as const] };

describe("count parameter", () => {
  it("takes the scenario's own counts, full or quick, and --count over both", () => {
    const counts = (v: SelectionMod.ParamValues) => planCases([scaled], v, allScenarios()).filter((c) => c.scenario === scaled).map((c) => c.params.count);
    expect(counts(values)).toEqual([1, 10, 100]);
    expect(counts({ ...values, quick: true })).toEqual([10]);
    expect(counts({ ...values, quick: true, count: [5, 50] })).toEqual([5, 50]);
  });

  it("projects count onto the baseline only if the baseline accepts it", () => {
    const cases = planCases([scaled, paired], values, allScenarios());
    expect(cases.filter((c) => c.scenario === flat).map((c) => c.params)).toEqual([{}]);
    expect(cases.filter((c) => c.scenario === perCount).map((c) => c.params)).toEqual([{ count: 3 }]);
  });

  it("keeps keys of count-less cases unchanged and labels counts", () => {
    expect(caseKey("x/y", { size: 64 })).toBe('x/y [64,null,null]');
    expect(caseKey("x/y", { count: 10 })).not.toBe(caseKey("x/y", { count: 100 }));
    expect(formatParams({ count: 1000 })).toBe("n=1000");
  });

  it("refuses a scenario that accepts count without declaring counts", () => {
    const bad = registerScenario({ name: "fakecount/bad", description: "-", params: ["count"], run });
    expect(() => planCases([bad], values, allScenarios())).toThrow(/declares no counts/);
  });
});
