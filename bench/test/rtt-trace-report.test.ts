// The round-trip trace's report (probe/rtt-trace-report.ts) on hand-made stamp files: stamps of
// several processes merged on their clock, cut into round trips at the initiator's request, and
// the median gap between each two events given for the order most round trips follow.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type * as ReportMod from "../src/probe/rtt-trace-report.js";
import type { TraceFile } from "../src/probe/rtt-trace.js";

const { traceReport, formatTraceReport } = (await import(new URL("../dist/probe/rtt-trace-report.js", import.meta.url).href)) as typeof ReportMod;

const DATA = 1;
const WRITE_START = 2;
const WRITE_END = 3;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function stampDir(files: Record<string, Omit<TraceFile, "truncated"> & { truncated?: boolean }>): string {
  const dir = mkdtempSync(join(tmpdir(), "trace-report-test-"));
  dirs.push(dir);
  for (const [name, file] of Object.entries(files)) writeFileSync(join(dir, name), JSON.stringify({ truncated: false, ...file }));
  return dir;
}

/**
 * A one-hop echo, round trip i starting at 1000·i µs: the initiator writes for 10 µs, the
 * responder reads `wire` µs later and answers `work` µs after that (writing 10 µs), and the
 * initiator reads the answer `wire` µs after.
 */
function oneHop(roundTrips: number, timing: (i: number) => { wire: number; work: number }): Record<string, Omit<TraceFile, "truncated">> {
  const init = { role: "initiator", thread: 0, events: [] as number[], times: [] as number[] };
  const resp = { role: "raw-echo", thread: 0, events: [] as number[], times: [] as number[] };
  for (let i = 0; i < roundTrips; i++) {
    const { wire, work } = timing(i);
    const t = 1000 * i;
    init.events.push(WRITE_START, WRITE_END);
    init.times.push(t, t + 10);
    resp.events.push(DATA, WRITE_START, WRITE_END);
    resp.times.push(t + 10 + wire, t + 10 + wire + work, t + 20 + wire + work);
    init.events.push(DATA);
    init.times.push(t + 20 + 2 * wire + work);
  }
  return { "initiator-1-0.json": init, "raw-echo-2-0.json": resp };
}

describe("the round-trip trace's report", () => {
  it("gives each step's median over the round trips after the warm-up, in the order they follow", () => {
    // The first 5 round trips are slow (the warm-up), the rest alternate 4 and 6 µs of work: an
    // even count of them, whose median is the mean of the middle two, 5.
    const dir = stampDir(oneHop(24, (i) => (i < 5 ? { wire: 100, work: 300 } : { wire: 7, work: i % 2 === 0 ? 4 : 6 })));
    const report = traceReport(dir, 5, "write");
    expect(report.roundTrips).toBe(18); // 19 after the warm-up; the last has no next request to end it
    expect(report.sequences).toHaveLength(1);
    const [only] = report.sequences;
    expect(only!.roundTrips).toBe(18);
    expect(only!.steps.map((s) => [s.from, s.to, s.medianUs])).toEqual([
      ["init:write>", "init:write<", 10],
      ["init:write<", "resp:data", 7],
      ["resp:data", "resp:write>", 5],
      ["resp:write>", "resp:write<", 10],
      ["resp:write<", "init:data", 7],
      ["init:data", "init:write>", 1000 - (20 + 14 + 5)],
    ]);
    expect(only!.medianUs).toBe(1000);
    expect(formatTraceReport(report)).toMatch(/^18 of 18 round trips in this order \(median 1000 µs\):\n {2}init:write> +→ init:write< +10 µs/);
  });

  it("counts each order of events apart, most followed first", () => {
    // From round trip 10 on, the responder answers before the initiator's write has returned.
    const files = oneHop(30, () => ({ wire: 2, work: 1 }));
    const init = files["initiator-1-0.json"]!;
    for (let i = 10; i < 30; i++) init.times[3 * i + 1] = 1000 * i + 100; // its write< after the answer's data
    const report = traceReport(stampDir(files), 0, "write");
    expect(report.sequences.map((s) => s.roundTrips)).toEqual([19, 10]);
    expect(report.sequences[0]!.steps.map((s) => s.to)).toEqual(["resp:data", "resp:write>", "resp:write<", "init:data", "init:write<", "init:write>"]);
  });

  it("says when nothing was traced, and when a process stopped stamping at its limit", () => {
    expect(formatTraceReport(traceReport(stampDir({}), 0, "write"))).toMatch(/^no round trips were traced/);
    const files = oneHop(10, () => ({ wire: 5, work: 5 }));
    const truncated = traceReport(stampDir({ ...files, "raw-echo-2-0.json": { ...files["raw-echo-2-0.json"]!, truncated: true } }), 0, "write");
    expect(truncated.truncated).toEqual(["raw-echo"]);
    expect(formatTraceReport(truncated)).toMatch(/^stamping stopped at its limit in raw-echo/);
  });
});
