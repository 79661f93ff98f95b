// The data plane's targets (issue 8), checked against one results file: each row says what the
// run measured, size by size, and whether it met the target. Ratios are the run's own (same
// run, same machine), so a row reads the same on a fast or a slow host; a figure the run did
// not measure is "not measured", never met.
import { formatNumber, formatSize } from "../format.js";
import { renderTextTable } from "./text-table.js";
import { describeRun, isResult, machineOf, type BenchRecord, type ResultRecord } from "../results.js";
import type { Params } from "../scenario.js";

/** One figure of a target: where it was measured, what it read, and whether it met its bound. */
export interface TargetCheck {
  /** "64 B", "n = 1,000", or "" for a target with one figure. */
  readonly label: string;
  /** How the figure reads, e.g. "0.83×", "1.37× slower", "161 µs vs 79 µs (2.03×)". */
  readonly shown: string;
  /** undefined: the run did not measure it. */
  readonly met: boolean | undefined;
}

export interface TargetRow {
  /** The target as the issue states it. */
  readonly target: string;
  /** Where its figures come from (scenario and metric). */
  readonly source: string;
  readonly checks: readonly TargetCheck[];
}

const SIZES = [64, 1024, 16384] as const;

type Find = (scenario: string, metric: string, params?: Params) => ResultRecord | undefined;

function finder(records: readonly BenchRecord[]): Find {
  const results = records.filter(isResult);
  return (scenario, metric, params = {}) =>
    results.find(
      (r) =>
        r.scenario === scenario &&
        r.metric === metric &&
        Object.entries(params).every(([k, v]) => (r.params as Record<string, unknown>)[k] === v),
    );
}

const NOT_MEASURED = "not measured";

const notMeasured = (label: string): TargetCheck => ({ label, shown: NOT_MEASURED, met: undefined });

/** One figure's check: "not measured" without a value, else the value as `show` says it, met when `meets` it. */
function check(label: string, value: number | undefined, show: (v: number) => string, meets: (v: number) => boolean): TargetCheck {
  return value === undefined ? notMeasured(label) : { label, shown: show(value), met: meets(value) };
}

const times = (v: number): string => `${v.toFixed(2)}×`;

/** A ratio (higher is better) against a bound per size. */
function ratioAtSizes(find: Find, scenario: string, metric: string, mins: readonly number[], params: Params = {}): TargetCheck[] {
  return SIZES.map((size, i) => check(formatSize(size), find(scenario, metric, { ...params, size })?.ratio ?? undefined, times, (r) => r >= mins[i]!));
}

/** A latency ratio (baseline / median) as a slowdown ("how many times slower"), if the run has it. */
function slowdownOf(find: Find, scenario: string, size: number): number | undefined {
  const ratio = find(scenario, "p50", { size })?.ratio ?? undefined;
  return ratio === undefined || ratio <= 0 ? undefined : 1 / ratio;
}

/**
 * A latency ratio (baseline / median) shown as "n× slower", against a largest slowdown; with
 * `floor`, a scenario read against the same baseline that does the same work in raw form, its
 * slowdown shown beside (not judged; where the floor itself misses the bound, no stack doing that work meets it here).
 */
function slowdownAtSizes(find: Find, scenario: string, maxSlowdown: number, floor?: string): TargetCheck[] {
  return SIZES.map((size) => {
    const raw = floor === undefined ? undefined : slowdownOf(find, floor, size);
    const show = (v: number): string => `${v.toFixed(2)}× slower${raw === undefined ? "" : ` (raw floor ${raw.toFixed(2)}×)`}`;
    return check(formatSize(size), slowdownOf(find, scenario, size), show, (v) => v <= maxSlowdown);
  });
}

/** The main-placed echo's round trip at most this many times framed TCP's (p50). */
const MAIN_ECHO_MAX_SLOWDOWN = 1.5;

/**
 * The thread-placed echo's p50 against the issue's bound, "≤ that plus one MessagePort
 * ping-pong", that being the main-placed echo's bound (1.5× framed TCP's p50): 1.5× framed TCP
 * plus one ping-pong, same run. Until session 48 this read "that" as framed TCP itself; the
 * ratio to framed TCP + one ping-pong is still shown.
 */
function threadEchoChecks(find: Find): TargetCheck[] {
  return SIZES.map((size) => {
    const label = formatSize(size);
    const echo = find("tcp/one-hop-rtt-thread-echo", "p50", { size })?.median;
    const tcp = find("baseline/tcp-framed-rtt", "p50", { size })?.median;
    const port = find("baseline/messageport-rtt", "p50", { size })?.median;
    if (echo === undefined || tcp === undefined || port === undefined) return notMeasured(label);
    const bound = MAIN_ECHO_MAX_SLOWDOWN * tcp + port;
    const sum = tcp + port;
    // Raw framed TCP with its echo on a thread: what the same path costs without Hopwire.
    const raw = find("baseline/tcp-framed-rtt-thread-echo", "p50", { size })?.median;
    const floor = raw === undefined ? "" : `; raw floor ${formatNumber(raw)} µs`;
    const shown = `${formatNumber(echo)} µs vs ${formatNumber(bound)} µs (${(echo / bound).toFixed(2)}×; ${(echo / sum).toFixed(2)}× framed TCP + one ping-pong${floor})`;
    return { label, shown, met: echo <= bound };
  });
}

function handshakeChecks(find: Find): TargetCheck[] {
  const r = find("secure-channel/handshakes", "hs/s", { provider: "node" });
  if (r === undefined || r.ratio === null) return [notMeasured("")];
  return [{ label: "", shown: `${formatNumber(r.median)}/s, ${r.ratio.toFixed(2)}×`, met: r.median >= 1000 && r.ratio >= 1 }];
}

function cryptoThreadChecks(find: Find): TargetCheck[] {
  const params = { size: 16384, provider: "node" as const };
  const inline = find("secure-channel/one-hop-throughput", "msg/s", { ...params, cryptoThreads: 0 })?.median;
  const threaded = find("secure-channel/one-hop-throughput", "msg/s", { ...params, cryptoThreads: 1 })?.median;
  const ratio = inline === undefined || threaded === undefined || inline <= 0 ? undefined : threaded / inline;
  return [check("16 KiB", ratio, times, (r) => r >= 1.3)];
}

/**
 * The rate at n = 1,000, with its floor beside it when the run measured one: scale/raw-records,
 * the same traffic as bare node:crypto records (a record per message, as there) with no framework.
 * A bound several times what the floor reads is out of reach of any stack that seals a record per message here.
 */
function manyChannelsRate(find: Find): TargetCheck {
  const floor = find("scale/raw-records", "msg/s", { count: 1000 })?.ratio ?? undefined;
  const show = (r: number): string => (floor === undefined ? times(r) : `${times(r)} (floor, bare node:crypto records: ${times(floor)})`);
  return check("rate at n = 1000", find("scale/channels", "msg/s", { count: 1000 })?.ratio ?? undefined, show, (r) => r >= 0.5);
}

function manyChannelsChecks(find: Find): TargetCheck[] {
  return [
    manyChannelsRate(find),
    ...[1000, 4000].map((count) =>
      check(`idle RSS at the margin at n = ${count}`, find("scale/channels", "rss:responder/ch idle, marginal", { count })?.median, (k) => `${k.toFixed(1)} KiB`, (k) => k <= 8),
    ),
  ];
}

function poolChecks(find: Find): TargetCheck[] {
  return [check("", find("runtime/pool-cpu-2-threads", "msg/s")?.ratio ?? undefined, times, (r) => r >= 1.7)];
}

/** The slow consumer's growth (MiB) after its warm-up, for each process: bounded means within 64 MiB. */
function slowConsumerChecks(find: Find): TargetCheck[] {
  return (["receiver", "sender"] as const).map((role) =>
    check(role, find("backpressure/slow-consumer", `rss growth:${role}`)?.median, (g) => `+${g.toFixed(2)} MiB`, (g) => g <= 64),
  );
}

/** Every target of the data plane, checked against `records` (one run). */
export function targetRows(records: readonly BenchRecord[]): TargetRow[] {
  const find = finder(records);
  return [
    { target: "main→thread ≥ 0.5× bare frames across a MessagePort", source: "runtime/main->thread against baseline/messageport-frames, msg/s", checks: ratioAtSizes(find, "runtime/main->thread", "msg/s", [0.5, 0.5, 0.5]) },
    { target: "one TCP hop ≥ 0.8× framed TCP", source: "tcp/one-hop-throughput, msg/s", checks: ratioAtSizes(find, "tcp/one-hop-throughput", "msg/s", [0.8, 0.8, 0.8]) },
    { target: "relay ≥ 0.3× / 0.8× / 0.8× the framed proxy", source: "tcp/relay-throughput, msg/s", checks: ratioAtSizes(find, "tcp/relay-throughput", "msg/s", [0.3, 0.8, 0.8]) },
    {
      target: "secure channel ≥ 0.5× / 1.0× / 1.0× node:tls",
      source: "secure-channel/one-hop-throughput (inline, node), msg/s",
      checks: ratioAtSizes(find, "secure-channel/one-hop-throughput", "msg/s", [0.5, 1, 1], { cryptoThreads: 0, provider: "node" }),
    },
    { target: "round trip, echo on the main thread, ≤ 1.5× framed TCP", source: "tcp/one-hop-rtt, p50", checks: slowdownAtSizes(find, "tcp/one-hop-rtt", MAIN_ECHO_MAX_SLOWDOWN) },
    {
      target: "round trip, echo on a thread, ≤ 1.5× framed TCP + one MessagePort ping-pong",
      source: "tcp/one-hop-rtt-thread-echo against baseline/tcp-framed-rtt + baseline/messageport-rtt, p50",
      checks: threadEchoChecks(find),
    },
    {
      target: "seed echo ≤ 2× the two-hop proxy",
      source: "secure-channel/seed-echo-rtt (raw floor: baseline/seed-floor-rtt), p50",
      checks: slowdownAtSizes(find, "secure-channel/seed-echo-rtt", 2, "baseline/seed-floor-rtt"),
    },
    { target: "handshakes ≥ 1,000/s and ≥ 1.0× mutual TLS", source: "secure-channel/handshakes (node), hs/s", checks: handshakeChecks(find) },
    { target: "1 crypto thread ≥ 1.3× inline", source: "secure-channel/one-hop-throughput, 1 crypto thread / inline, msg/s", checks: cryptoThreadChecks(find) },
    {
      target: "1,000 channels ≥ 0.5× plain TCP, ≤ 8 KiB RSS per idle channel",
      source: "scale/channels: msg/s (floor: scale/raw-records); rss:responder/ch idle, marginal",
      checks: manyChannelsChecks(find),
    },
    { target: "pool, 2 threads ≥ 1.7× one", source: "runtime/pool-cpu-2-threads, msg/s", checks: poolChecks(find) },
    { target: "slow consumer: RSS within 64 MiB of its post-warm-up level", source: "backpressure/slow-consumer, rss growth", checks: slowConsumerChecks(find) },
  ];
}

/** One row's verdict: met, missed, partly ("missed: 1 KiB; met: 64 B, 16 KiB"), or not measured. */
export function verdictOf(row: TargetRow): string {
  const measured = row.checks.filter((c) => c.met !== undefined);
  if (measured.length === 0) return NOT_MEASURED;
  const met = measured.filter((c) => c.met);
  const suffix = measured.length < row.checks.length ? " (part not measured)" : "";
  if (met.length === measured.length) return `met${suffix}`;
  if (met.length === 0) return `missed${suffix}`;
  // The misses first: "met at …" alone read as a pass when most checks failed.
  const missed = measured.filter((c) => !c.met);
  return `missed: ${missed.map((c) => c.label).join(", ")}; met: ${met.map((c) => c.label).join(", ")}${suffix}`;
}

/** "64 B 0.83×, 1 KiB 0.41× (missed)": each check, a missed one marked. */
export function checksText(row: TargetRow): string {
  return row.checks.map((c) => `${c.label ? `${c.label} ` : ""}${c.shown}${c.met === false ? " (missed)" : ""}`).join("; ");
}

/** The targets as a terminal table (`npm run bench -- --targets FILE`), under a line on the run. */
export function renderTargetsText(records: readonly BenchRecord[]): string {
  const rows = targetRows(records).map((t) => [t.target, checksText(t), verdictOf(t), t.source]);
  return [`run: ${describeRun(machineOf(records))}`, "", renderTextTable(["target", "figures", "verdict", "from"], rows, new Set())].join("\n");
}
