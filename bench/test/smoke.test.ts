// The harness's smoke test: `--smoke` runs one scenario of every family end to end (real
// sockets, threads, child processes) with its baselines, and the results file has the
// documented shape. Values are not checked — figures from a loaded CI machine mean
// nothing — only that every family ran, produced its figures, and was paired with its
// baseline's. A new family is covered as soon as it registers (smokePicks).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { killAll, startChild } from "../../test/support/children.js";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
// The compiled registry, the same code the CLI ran (npm test builds before vitest).
const REGISTRY = new URL("../dist/scenario.js", import.meta.url).href;
const SCENARIOS = new URL("../dist/scenarios/index.js", import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), "hopwire-bench-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Also after a test that timed out (its own `finally` never runs then).
afterEach(() => killAll());

interface Rec {
  type: string;
  scenario?: string;
  family?: string;
  metric?: string;
  params?: Record<string, unknown>;
  median?: number;
  reps?: number;
  baseline?: { name: string; median: number } | null;
  higherIsBetter?: boolean;
  ratio?: number | null;
  settings?: { quick: boolean };
}

/** Runs the CLI in its own process group: on a timeout or a failed assertion, killAll ends it and every bench child it started. */
async function runSmoke(file: string): Promise<{ code: number | null; stderr: string }> {
  const cli = startChild(CLI, ["--smoke", "--json", file]);
  let stderr = "";
  cli.process.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return { code: await cli.exited, stderr };
}

describe("bench --smoke", () => {
  it("runs one scenario of every family with its baselines and writes their figures, paired", async () => {
    const file = join(dir, "smoke.json");
    let records: Rec[];
    try {
      // Exit code 1 = some case failed (the JSON is still written and says which): checked below.
      const { code, stderr } = await runSmoke(file);
      expect([0, 1], stderr.slice(-4000)).toContain(code);
      records = JSON.parse(readFileSync(file, "utf8")) as Rec[];
    } finally {
      killAll();
    }

    const machines = records.filter((r) => r.type === "machine");
    expect(machines).toHaveLength(1);
    expect(machines[0]).toMatchObject({ node: process.version, cores: expect.any(Number), cpu: expect.any(String), settings: { quick: true } });

    expect(records.filter((r) => r.type === "failed")).toEqual([]);
    const results = records.filter((r) => r.type === "result");
    const ran = new Set(results.map((r) => r.scenario));
    for (const r of results) {
      expect(Number.isFinite(r.median), `${r.scenario} ${r.metric}`).toBe(true);
      expect(r.reps).toBeGreaterThanOrEqual(1);
    }
    for (const scenario of ran) {
      const mine = results.filter((r) => r.scenario === scenario);
      // A figure of its own, and the peak RSS of at least one process.
      expect(mine.some((r) => !r.metric!.startsWith("rss:")), scenario).toBe(true);
      expect(mine.some((r) => r.metric!.startsWith("rss:")), scenario).toBe(true);
    }

    const { familyOf, getScenario, baselineNameFor } = (await import(REGISTRY)) as typeof import("../src/scenario.js");
    await import(SCENARIOS);
    // Every family the CLI knows ran (or was reported unavailable), the baselines among them. The
    // names come from the CLI's own --list: this fork's registry may also hold other test files'
    // fake scenarios (files share a fork's modules, see vitest.config.ts).
    const skipped = new Set(records.filter((r) => r.type === "skipped").map((r) => familyOf(r.scenario!)));
    const listed = execFileSync(process.execPath, [CLI, "--list"], { encoding: "utf8" })
      .split("\n")
      .filter((line) => /^[a-z]/.test(line))
      .map((line) => line.trim());
    expect(listed.length).toBeGreaterThan(10);
    const families = new Set(listed.map(familyOf).filter((f) => f !== "check"));
    const ranFamilies = new Set([...ran].map((s) => familyOf(s!)));
    for (const family of families) expect(ranFamilies.has(family) || skipped.has(family), family).toBe(true);

    // Every declared baseline was measured in the same run and paired, per case.
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
  }, 180_000);
});
