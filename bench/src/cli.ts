#!/usr/bin/env node
// `npm run bench -- [options]`: runs the scenarios, prints a table, writes results JSON
// and (for a full run of the whole suite) docs/BENCHMARKS.md with its chart.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, Option } from "commander";
import "./scenarios/index.js";
import { allScenarios, type Scenario } from "./scenario.js";
import { FULL, QUICK, SMOKE, collect, parseCount, parseProvider, parseSeconds, parseSize, warmupFor } from "./options.js";
import { matchScenarios, planCases, smokePicks } from "./selection.js";
import { withChecks } from "./scenarios/check/doubling.js";
import { WARM_CHECKS } from "./scenarios/check/warm-check.js";
import { WINDOW_CHECKS } from "./scenarios/check/window-check.js";
import { runCases } from "./runner.js";
import { Progress } from "./progress.js";
import { machineRecord } from "./machine.js";
import { benchNodeFlags } from "./proc/node-flags.js";
import { readResults, type BenchRecord } from "./results.js";
import { renderConsoleTable } from "./report/table.js";
import { renderComparison } from "./report/compare.js";
import { renderTargetsText } from "./report/targets.js";
import { writeDocs, type ScenarioInfo } from "./report/markdown.js";
import { formatSize } from "./format.js";

const RESULTS_DIR = fileURLToPath(new URL("../results/", import.meta.url));
const DOCS_DIR = fileURLToPath(new URL("../../docs/", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/**
 * Where the user ran the command: `npm run` starts it in the repository's root, so a relative
 * path the user typed (`--json mine.json` from docs/) is resolved against npm's INIT_CWD, as
 * the user meant it, not against the root (where it wrote files nobody asked for).
 */
const USER_DIR = process.env.INIT_CWD ?? process.cwd();
const fromUser = (file: string): string => resolve(USER_DIR, file);
/** Exit code of a bad option, value or input file: nothing was run. */
const USAGE_EXIT = 2;

interface Opts {
  scenario?: string[];
  size?: number[];
  duration?: number;
  warmup?: number;
  reps?: number;
  cryptoThreads?: number[];
  provider?: ReturnType<typeof parseProvider>[];
  count?: number[];
  json?: string;
  quick?: boolean;
  smoke?: boolean;
  list?: boolean;
  compare?: string[];
  writeDocs?: boolean;
  docsFrom?: string;
  docsDir?: string;
  targets?: string;
  windowCheck?: boolean;
  warmCheck?: boolean;
}

const program = new Command("hopwire-bench")
  .description("Hopwire benchmark harness: every figure with a baseline measured in the same run.")
  .option("-s, --scenario <pattern>", "scenarios to run: substring or glob over names; repeatable or comma list (default: all)", collect(String))
  .option("--size <bytes,...>", `message sizes, e.g. 64,1KiB,16KiB (default: ${FULL.sizes.map(formatSize).join(", ")}; quick: ${QUICK.sizes.map(formatSize).join(", ")})`, collect(parseSize))
  .option("-d, --duration <s>", `measured seconds per repetition (default: ${FULL.durationS}; quick: ${QUICK.durationS})`, parseSeconds)
  .option("--warmup <s>", "seconds discarded at the start of each repetition (default: duration/5 within 0.05–0.5)", parseSeconds)
  .option("-r, --reps <n>", `repetitions per case (default: ${FULL.reps}, minimum ${FULL.minReps}; quick: ${QUICK.reps}, minimum ${QUICK.minReps})`, parseCount(1, 1000))
  .option("--crypto-threads <n,...>", `crypto threads for secure-channel scenarios, 0 = inline (default: ${FULL.cryptoThreads.join(",")}; quick: ${QUICK.cryptoThreads.join(",")})`, collect(parseCount(0, 64)))
  .option("--provider <name,...>", `crypto providers: node, noble; repeatable (default: ${FULL.providers.join(",")}; quick: ${QUICK.providers.join(",")})`, collect(parseProvider))
  .option("--count <n,...>", "for scenarios that accept a count (channels, handshakes at once); default: each scenario's own", collect(parseCount(1, 100_000)))
  .option("--json <file>", "also write the results JSON here (always written to bench/results/latest.json, or latest-quick.json with --quick, latest-smoke.json with --smoke)")
  .option("--window-check", "also run check/window-* for every selected throughput scenario: its figure at its in-flight window W and at 2W (throughput-bound when 2W/1W ≤ 1.1)")
  .option("--warm-check", "also run check/warm-* for the selected one-way throughput scenarios it covers (WARM_CHECKED): the figure after the steady warm-up and after twice it (warm when 2warm/warm ≤ 1.1; --duration ≥ 0.5 s)")
  .option("-q, --quick", "short repetitions, fewer of them, fewer sizes: every scenario in a few minutes (figures not to be quoted)")
  .option("--smoke", "one scenario per family (with its baselines), one size, 1 × 0.05 s: does every family still run? (seconds; figures meaningless)")
  .option("-l, --list", "list scenarios with their parameters and baselines, then exit")
  .option("--compare <files...>", "compare two results files: --compare a.json b.json")
  .addOption(new Option("--write-docs", "regenerate docs/BENCHMARKS.md and docs/bench-throughput.svg (default: on for a full, unfiltered run)"))
  .addOption(new Option("--no-write-docs", "do not regenerate the docs"))
  .option("--docs-from <file>", "regenerate the docs from an existing results file, then exit")
  .option("--docs-dir <dir>", "where --docs-from and --write-docs write BENCHMARKS.md and its charts (default: the repository's docs/)")
  .option("--targets <file>", "check the data plane's targets against a results file (met or missed, size by size), then exit")
  .showHelpAfterError("(run with --help for usage)")
  // Usage errors exit 2, as the hopwire CLI's and the soak's do: exit 1 means a case failed,
  // and a script running the bench must tell "nothing ran" from "a case failed". --help exits 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : USAGE_EXIT));

function scenarioInfo(s: Scenario): ScenarioInfo {
  const baseline = typeof s.baseline === "string" ? s.baseline : s.baseline ? "(depends on params)" : undefined;
  return baseline === undefined
    ? { name: s.name, description: s.description, params: s.params }
    : { name: s.name, description: s.description, params: s.params, baseline };
}

function listScenarios(): string {
  return allScenarios()
    .map((s) => {
      const i = scenarioInfo(s);
      return `${s.name}\n    params: ${i.params.join(", ") || "-"}${i.baseline ? `   baseline: ${i.baseline}` : ""}\n    ${s.description}`;
    })
    .join("\n");
}

/** Paths under the working directory print relative, others absolute. */
const shown = (f: string): string => {
  const r = relative(process.cwd(), f);
  return r && !r.startsWith("..") ? r : f;
};

/** Where the docs go: --docs-dir (from where the user typed it), else the repository's docs/. */
const docsDir = (o: Opts): string => (o.docsDir === undefined ? DOCS_DIR : fromUser(o.docsDir));

/** A results file named on the command line: one that cannot be read is a usage error, not a failed run. */
function readInput(file: string): BenchRecord[] {
  try {
    return readResults(fromUser(file));
  } catch (e) {
    return program.error(`error: ${(e as Error).message}`);
  }
}

function writeJson(file: string, records: BenchRecord[]): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(records, null, 2) + "\n");
}

async function run(o: Opts): Promise<number> {
  const smoke = o.smoke === true;
  // A smoke run is a quick run (quick counts, figures not to be quoted), only smaller.
  const quick = o.quick === true || smoke;
  const d = smoke ? SMOKE : quick ? QUICK : FULL;
  if (o.reps !== undefined && o.reps < d.minReps) {
    program.error(`error: option '--reps' must be at least ${d.minReps}${quick ? " with --quick" : " (fewer only with --quick or --smoke)"}; got ${o.reps}`);
  }
  const selected = (() => {
    try {
      const all = allScenarios();
      const asked = [...(o.windowCheck === true ? [WINDOW_CHECKS] : []), ...(o.warmCheck === true ? [WARM_CHECKS] : [])];
      const matched = withChecks(matchScenarios(o.scenario ?? [], all), all, o.scenario ?? [], asked);
      return smoke ? smokePicks(matched) : matched;
    } catch (e) {
      return program.error(`error: ${(e as Error).message}`);
    }
  })();
  const durationS = o.duration ?? d.durationS;
  const warmupS = o.warmup ?? warmupFor(durationS);
  const reps = o.reps ?? d.reps;
  const cases = planCases(
    selected,
    { size: o.size ?? d.sizes, cryptoThreads: o.cryptoThreads ?? d.cryptoThreads, provider: o.provider ?? d.providers, count: o.count, quick },
    allScenarios(),
  );

  const abort = new AbortController();
  // Either signal stops the run the same way: the runner tells every child to stop.
  process.once("SIGINT", () => abort.abort());
  process.once("SIGTERM", () => abort.abort());
  const nodeFlags = benchNodeFlags();
  const machine = machineRecord({ reps, durationS, warmupS, quick, ...(nodeFlags.length > 0 ? { nodeFlags } : {}) });
  process.stderr.write(`${cases.length} cases × ${reps} reps; --duration ${durationS} s, --warmup ${warmupS} s (each scenario measures its own share of them: see --list)\n`);
  let records: BenchRecord[];
  try {
    records = [machine, ...(await runCases(cases, { reps, durationMs: durationS * 1e3, warmupMs: warmupS * 1e3 }, new Progress(cases.length), abort.signal))];
  } catch (e) {
    if (abort.signal.aborted) {
      process.stderr.write("\ninterrupted; no results written\n");
      return 130;
    }
    throw e;
  }

  process.stdout.write(`\n${renderConsoleTable(records)}\n\n`);
  const latest = `${RESULTS_DIR}${smoke ? "latest-smoke.json" : quick ? "latest-quick.json" : "latest.json"}`;
  const json = o.json === undefined ? undefined : fromUser(o.json);
  const written = [latest, ...(json ? [json] : [])];
  for (const file of written) writeJson(file, records);
  const docsDefault = !quick && (o.scenario ?? []).length === 0;
  if (o.writeDocs ?? docsDefault) {
    // Name the copy that can be committed (--json) rather than bench/results/, which is not.
    written.push(...writeDocs(records, allScenarios().map(scenarioInfo), docsDir(o), relative(ROOT, json ?? latest)));
  }
  process.stderr.write(`wrote ${written.map(shown).join(", ")}\n`);
  return records.some((r) => r.type === "failed") ? 1 : 0;
}

async function main(): Promise<number> {
  program.parse();
  const o = program.opts<Opts>();
  const modes = [o.list, o.compare, o.docsFrom, o.targets].filter((x) => x !== undefined).length;
  if (modes > 1) program.error("error: options '--list', '--compare', '--docs-from' and '--targets' exclude each other");
  if (o.list) {
    process.stdout.write(listScenarios() + "\n");
    return 0;
  }
  if (o.compare) {
    if (o.compare.length !== 2) program.error(`error: option '--compare' takes exactly two files (a.json b.json); got ${o.compare.length}`);
    const [a, b] = o.compare as [string, string];
    process.stdout.write(renderComparison(readInput(a), readInput(b), [a, b]) + "\n");
    return 0;
  }
  if (o.targets) {
    process.stdout.write(renderTargetsText(readInput(o.targets)) + "\n");
    return 0;
  }
  if (o.docsFrom) {
    const files = writeDocs(readInput(o.docsFrom), allScenarios().map(scenarioInfo), docsDir(o), relative(ROOT, fromUser(o.docsFrom)));
    process.stderr.write(`wrote ${files.map(shown).join(", ")}\n`);
    return 0;
  }
  return run(o);
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`hopwire-bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
