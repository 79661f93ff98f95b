// The checks' verdicts (scenarios/check/*), one line per case, for the report: whether
// doubling a scenario's in-flight window (check/window-*) or its warm-up (check/warm-*)
// raised its figure.
import { formatParams } from "../format.js";
import type { BenchRecord, ResultRecord } from "../results.js";
import { CHECK_PREFIX, WINDOW_BOUND } from "../scenarios/check/window-check.js";
import { WARM_BOUND, WARM_CHECK_PREFIX } from "../scenarios/check/warm-check.js";

export interface WindowVerdict {
  scenario: string;
  params: string;
  ratio: number;
  throughputBound: boolean;
}

export interface WarmVerdict {
  scenario: string;
  params: string;
  ratio: number;
  warm: boolean;
}

/** The medians of one check family's ratio metric. */
function checkRatios(records: readonly BenchRecord[], prefix: string, metric: string): { scenario: string; params: string; ratio: number }[] {
  return records
    .filter((r): r is ResultRecord => r.type === "result" && r.scenario.startsWith(prefix) && r.metric === metric)
    .map((r) => ({ scenario: r.scenario, params: formatParams(r.params), ratio: r.median }));
}

export const windowVerdicts = (records: readonly BenchRecord[]): WindowVerdict[] =>
  checkRatios(records, CHECK_PREFIX, "2W/1W").map((v) => ({ ...v, throughputBound: v.ratio <= WINDOW_BOUND }));

export const warmVerdicts = (records: readonly BenchRecord[]): WarmVerdict[] =>
  checkRatios(records, WARM_CHECK_PREFIX, "2warm/warm").map((v) => ({ ...v, warm: v.ratio <= WARM_BOUND }));

/** "throughput-bound" or why not, as the report prints it. */
export const verdictText = (v: WindowVerdict): string =>
  v.throughputBound ? "throughput-bound" : `window-bound: 2W raised the rate ${v.ratio.toFixed(2)}×`;

/** "warm" or why not, as the report prints it. */
export const warmVerdictText = (v: WarmVerdict): string => (v.warm ? "warm" : `still warming up: 2warm raised the rate ${v.ratio.toFixed(2)}×`);
