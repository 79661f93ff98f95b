// The harness's smoke test: `--quick` runs every scenario end to end (real sockets,
// threads, child processes) and the results file has the documented shape. Values are
// not checked — figures from a loaded CI machine mean nothing — only that each scenario
// that ran produced its figures and, where it declares one, its baseline's.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
// The compiled registry, the same code the CLI ran (npm test builds before vitest).
const REGISTRY = new URL("../dist/scenario.js", import.meta.url).href;
const SCENARIOS = new URL("../dist/scenarios/index.js", import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), "hopwire-bench-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Rec {
  type: string;
  scenario?: string;
  metric?: string;
  params?: Record<string, unknown>;
  median?: number;
  reps?: number;
  baseline?: { name: string; median: number } | null;
  higherIsBetter?: boolean;
  ratio?: number | null;
}

describe("bench --quick", () => {
  it("writes a machine record and, for every scenario that ran, its figures and its baseline's", async () => {
    const file = join(dir, "quick.json");
    // ≈1 min alone on 2 cores (with backpressure/*, whose runs last ≥ 2 s); the margin is for a CI run next to other suites.
    // Exit code 1 = some case failed (the JSON is still written and says which): checked below.
    await promisify(execFile)(process.execPath, [CLI, "--quick", "--json", file], { timeout: 280_000 }).catch((e: { code?: number }) => {
      if (e.code !== 1) throw e;
    });
    const records = JSON.parse(readFileSync(file, "utf8")) as Rec[];

    const machines = records.filter((r) => r.type === "machine");
    expect(machines).toHaveLength(1);
    expect(machines[0]).toMatchObject({ node: process.version, cores: expect.any(Number), cpu: expect.any(String) });

    expect(records.filter((r) => r.type === "failed")).toEqual([]);
    const results = records.filter((r) => r.type === "result");
    const ran = new Set(results.map((r) => r.scenario));
    expect(ran.size).toBeGreaterThan(0);
    for (const r of results) {
      expect(Number.isFinite(r.median), `${r.scenario} ${r.metric}`).toBe(true);
      expect(r.reps).toBeGreaterThanOrEqual(2);
    }
    for (const scenario of ran) {
      const mine = results.filter((r) => r.scenario === scenario);
      // A figure of its own, and the peak RSS of at least one process.
      expect(mine.some((r) => !r.metric!.startsWith("rss:")), scenario).toBe(true);
      expect(mine.some((r) => r.metric!.startsWith("rss:")), scenario).toBe(true);
    }
    // Every declared baseline was measured in the same run and paired, per case.
    const { getScenario, baselineNameFor } = (await import(REGISTRY)) as typeof import("../src/scenario.js");
    await import(SCENARIOS);
    for (const r of results) {
      const scenario = getScenario(r.scenario!);
      expect(scenario, r.scenario).toBeDefined();
      const baseline = baselineNameFor(scenario!, r.params!);
      // Peak RSS and busy:* describe this topology's own processes and threads: never paired.
      if (baseline === undefined || r.metric!.startsWith("rss:") || r.metric!.startsWith("busy:")) continue;
      expect(ran.has(baseline), `${baseline} (baseline of ${r.scenario}) ran`).toBe(true);
      expect(r.baseline?.name, `${r.scenario} ${r.metric}`).toBe(baseline);
      // A ratio divides by the baseline (higher is better) or by the figure (lower is better):
      // when that is 0 (an RSS growth of 0) there is none.
      const divisor = r.higherIsBetter ? r.baseline!.median : r.median;
      if (divisor === 0) expect(r.ratio, `${r.scenario} ${r.metric}`).toBeNull();
      else expect(r.ratio, `${r.scenario} ${r.metric}`).toEqual(expect.any(Number));
    }
  }, 300_000);
});
