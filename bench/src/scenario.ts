// The scenario registry: what a benchmark is, and how the harness finds it.
//
// A scenario measures one repetition per `run()` call; the harness owns repetitions,
// warm-up, statistics and the pairing with a baseline measured in the same run, so that
// a scenario file holds only the code that moves bytes.

/** Crypto provider a secure-channel scenario runs with (design.md: node:crypto is the fast path, @noble the portable one). */
export type Provider = "node" | "noble";
export const PROVIDERS: readonly Provider[] = ["node", "noble"];

/** The parameters the CLI can vary. A scenario names the ones it accepts in `Scenario.params`. */
export interface Params {
  /** Payload bytes per message (the envelope or frame header is extra). */
  size?: number;
  /** Crypto threads a secure channel offloads AEAD to; 0 means inline on the I/O thread. */
  cryptoThreads?: number;
  provider?: Provider;
  /** How many of something run at once: channels, handshakes. Its values come from the scenario's `counts` (or --count). */
  count?: number;
}
export type ParamName = keyof Params;
export const PARAM_NAMES: readonly ParamName[] = ["size", "cryptoThreads", "provider", "count"];

/** What `run()` receives: the case's parameters plus the time budget of one repetition. */
export interface RunParams extends Params {
  /** Measured time of this repetition, after the warm-up. */
  durationMs: number;
  /** Time to run and discard before measuring (JIT, socket buffers, TCP window). */
  warmupMs: number;
  /**
   * One-way throughput windows: messages the receiver must also have counted before its
   * window opens (see warm-count.ts); set by windowed() where the steady warm-up applies.
   */
  warmMessages?: number;
  /**
   * The steady warm-up (time, warm count and its cap) × this, where it applies (windowed());
   * 1 when absent. check/warm-* runs its target at 1 and 2.
   */
  warmScale?: number;
}

/** One figure of one repetition. */
export interface Metric {
  /** Stable id, also the key that pairs a figure with its baseline: "msg/s", "MB/s", "rt/s", "p50", "p99". */
  name: string;
  unit: string;
  value: number;
  /** true for rates, false for latencies and memory: decides the direction of `ratio`. */
  higherIsBetter: boolean;
}

/** Peak resident set of one process of the topology, read inside that process (process.resourceUsage().maxRSS). */
export interface ProcessRss {
  /** "sink", "client", "proxy", "initiator", "middle", "responder"... */
  role: string;
  maxRssBytes: number;
}

/** Values over time within one repetition (RSS, goodput): drawn as a line chart in the docs. */
export interface TimeSeries {
  /** Line name, e.g. "receiver RSS". */
  name: string;
  unit: string;
  /** [seconds since the repetition's start, value]. */
  points: [number, number][];
}

/** One repetition's measurement. `processes` must name every process involved. */
export interface Measurement {
  metrics: Metric[];
  processes: ProcessRss[];
  /** Optional samples over time; the harness keeps the last repetition's. */
  series?: TimeSeries[];
}

/** Which records the throughput chart draws, and as which line. */
export interface ChartSpec {
  /** Line name, e.g. "node:tls", "hopwire inline", "hopwire 1 crypto thread". */
  series: string | ((params: Params) => string);
  /** The metric drawn on the y axis (x is always `params.size`). Default "MB/s". */
  metric?: string;
}

export interface Scenario {
  /** "<family>/<name>", e.g. "baseline/tcp-framed", "tcp/one-hop-throughput", "runtime/main->thread". */
  name: string;
  /** One or two sentences: what is measured and which processes/threads take part. */
  description: string;
  /** Parameters this scenario accepts; the harness runs one case per combination of the CLI's values. */
  params: readonly ParamName[];
  /**
   * The scenario this one is compared with. It is run in the same invocation with the same
   * parameters, restricted to those the baseline accepts, and `ratio` is computed per metric
   * of the same name. A function lets the baseline depend on the case (e.g. on the provider).
   */
  baseline?: string | ((params: Params) => string);
  /** Tags this scenario's records for docs/bench-throughput.svg. */
  chart?: ChartSpec;
  /**
   * The values of `count` this scenario runs with (a full run, and --quick) unless --count is
   * given. Required when `params` includes "count": what is counted differs per scenario.
   */
  counts?: { full: readonly number[]; quick: readonly number[] };
  /**
   * Returns why this scenario cannot run here (e.g. an optional peer stack is not installed),
   * or undefined when it can. Skipped scenarios are reported, not failed.
   */
  unavailable?: () => Promise<string | undefined>;
  /**
   * Marks the scenario that stands for its family in `--smoke` (one per family). Without a
   * mark, the family's first scenario that declares a baseline stands for it, else its first.
   */
  smoke?: boolean;
  /** One repetition. Must honour `signal` (abort = stop now, kill children) and finish in about warmupMs + durationMs. */
  run(params: RunParams, signal: AbortSignal): Promise<Measurement>;
}

const registry = new Map<string, Scenario>();

/** Adds a scenario; names are unique so that results files stay comparable. */
export function registerScenario(scenario: Scenario): Scenario {
  if (!/^[a-z0-9-]+\/\S+$/.test(scenario.name)) {
    throw new Error(`scenario name "${scenario.name}" must be "<family>/<name>" without spaces`);
  }
  if (registry.has(scenario.name)) throw new Error(`scenario "${scenario.name}" is registered twice`);
  registry.set(scenario.name, scenario);
  return scenario;
}

export function allScenarios(): Scenario[] {
  return [...registry.values()];
}

export function getScenario(name: string): Scenario | undefined {
  return registry.get(name);
}

/** "baseline/tcp-framed" → "baseline": the grouping used by the tables. */
export function familyOf(name: string): string {
  return name.slice(0, name.indexOf("/"));
}

/** The baseline's name for one case, or undefined. */
export function baselineNameFor(scenario: Scenario, params: Params): string | undefined {
  if (scenario.baseline === undefined) return undefined;
  return typeof scenario.baseline === "string" ? scenario.baseline : scenario.baseline(params);
}

/** Keeps only the parameters `scenario` accepts: how a case's params are handed to its baseline. */
export function projectParams(scenario: Scenario, params: Params): Params {
  const out: Params = {};
  for (const name of scenario.params) {
    if (params[name] !== undefined) (out as Record<string, unknown>)[name] = params[name];
  }
  return out;
}
