// The window checks' verdicts (scenarios/check/window-check.ts), one line per case, for the
// report: whether doubling a scenario's in-flight window raised its figure.
import { formatParams } from "../format.js";
import type { BenchRecord, ResultRecord } from "../results.js";
import { CHECK_PREFIX, WINDOW_BOUND } from "../scenarios/check/window-check.js";

export interface WindowVerdict {
  scenario: string;
  params: string;
  ratio: number;
  throughputBound: boolean;
}

export function windowVerdicts(records: readonly BenchRecord[]): WindowVerdict[] {
  return records
    .filter((r): r is ResultRecord => r.type === "result" && r.scenario.startsWith(CHECK_PREFIX) && r.metric === "2W/1W")
    .map((r) => ({ scenario: r.scenario, params: formatParams(r.params), ratio: r.median, throughputBound: r.median <= WINDOW_BOUND }));
}

/** "throughput-bound" or why not, as the report prints it. */
export const verdictText = (v: WindowVerdict): string =>
  v.throughputBound ? "throughput-bound" : `window-bound: 2W raised the rate ${v.ratio.toFixed(2)}×`;
