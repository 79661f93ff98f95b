// The results file: a JSON array of records. Result records are the figures; exactly one
// machine record says where they were measured. Ratios are only meaningful within one
// file (same run, same machine); comparing files compares medians.
import { readFileSync } from "node:fs";
import type { Params, TimeSeries } from "./scenario.js";

export interface MachineRecord {
  type: "machine";
  node: string;
  cpu: string;
  cores: number;
  /** Bytes. */
  totalMemory: number;
  platform: string;
  arch: string;
  /** ISO 8601, when the run started. */
  date: string;
  /** os.loadavg() when the run started: a loaded machine explains wide min–max spreads. */
  loadAverage: number[];
  /** How the run was made, so a file says whether it is a smoke run. */
  settings: { reps: number; durationS: number; warmupS: number; quick: boolean; nodeFlags?: string[] };
}

export interface ResultRecord {
  type: "result";
  scenario: string;
  /** "baseline", "runtime", "tcp", ...: the name's prefix; tables group by it. */
  family: string;
  params: Params;
  /** "msg/s", "MB/s", "rt/s", "p50", "p99", or "rss:<role>" (peak RSS of one process). */
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  median: number;
  min: number;
  max: number;
  /** Repetitions that produced this figure. */
  reps: number;
  /** Per-repetition values, in run order. */
  samples: number[];
  /** The same metric of the declared baseline, same params (restricted to the baseline's), same run. */
  baseline: { name: string; params: Params; median: number } | null;
  /**
   * Relative performance vs baseline: 1 = parity, < 1 = worse (median/baseline, or
   * baseline/median when lower is better). null without a baseline, and for rss:* figures
   * (the roles of two topologies are not the same processes).
   */
  ratio: number | null;
  /** Present on the records docs/bench-throughput.svg draws: one line per series, x = message size. */
  chart?: { series: string; x: number };
  /** Samples over time of the case's last repetition (backpressure/*), on its first record only. */
  series?: TimeSeries[];
}

/** A scenario (case) that could not run here, e.g. an optional stack is not installed. */
export interface SkippedRecord {
  type: "skipped";
  scenario: string;
  params: Params;
  reason: string;
}

/** A case whose repetition threw; the run goes on and exits non-zero. */
export interface FailedRecord {
  type: "failed";
  scenario: string;
  params: Params;
  error: string;
}

export type BenchRecord = MachineRecord | ResultRecord | SkippedRecord | FailedRecord;

export const isResult = (r: BenchRecord): r is ResultRecord => r.type === "result";
export const isMachine = (r: BenchRecord): r is MachineRecord => r.type === "machine";

/** Reads and checks a results file; the error names the file and what is wrong. */
export function readResults(file: string): BenchRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: cannot read results JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new Error(`${file}: expected a JSON array of records`);
  const records = parsed as BenchRecord[];
  const machines = records.filter((r) => r?.type === "machine").length;
  if (machines !== 1) throw new Error(`${file}: expected exactly one machine record, found ${machines}`);
  return records;
}

export function machineOf(records: readonly BenchRecord[]): MachineRecord {
  return records.find(isMachine)!;
}

/** One line on where and how a run was made, for the reports that read a file (--compare, --targets). */
export function describeRun(m: MachineRecord): string {
  const load = (m.loadAverage ?? []).map((x) => x.toFixed(2)).join(" ");
  const how = `${m.settings.reps} × ${m.settings.durationS} s`;
  const quick = m.settings.quick ? " · a quick or smoke run: short repetitions, figures not to be quoted" : "";
  return `${m.date} · ${m.node} · ${m.cpu} · ${m.cores} cores · load ${load} at start · ${how}${nodeFlagsNote(m)}${quick}`;
}

/** " · node flags: …" when the run gave its processes Node flags (HOPWIRE_BENCH_NODE_FLAGS), else "". */
export function nodeFlagsNote(m: MachineRecord): string {
  const flags = m.settings.nodeFlags ?? [];
  return flags.length === 0 ? "" : ` · node flags: ${flags.join(" ")}`;
}
