// The report of `rtt-cpu.js --trace 1`: the stamps of every process and thread (rtt-trace.ts)
// merged on their shared clock and cut into round trips at the initiator's request, then,
// for the orders of events that most round trips follow, the median time between each two
// consecutive events. A gap inside one process is its own work (a handler, a system call);
// a gap from one process to another is the wire and the wake-up of the second.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TRACE_EVENT_NAMES, TraceEvent, type TraceFile } from "./rtt-trace.js";
import { median } from "../stats.js";

interface Stamp {
  us: number;
  what: string;
  /** The event, when the initiator's main thread took it (where round trips are cut); else 0. */
  initiatorEvent: number;
}

/** A role as the report names it: who it is in the topology, not how the probe started it. */
function placeOf(role: string): string {
  if (role.startsWith("initiator")) return role.replace("initiator", "init");
  if (role === "hw-middle" || role === "raw-proxy") return "middle";
  if (role === "mp-echo") return "thread";
  return role.endsWith(".thread") ? "resp.thread" : "resp";
}

function read(dir: string, truncated: string[]): Stamp[] {
  const stamps: Stamp[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".json")) continue;
    const file = JSON.parse(readFileSync(join(dir, name), "utf8")) as TraceFile;
    if (file.truncated) truncated.push(file.role);
    const place = placeOf(file.role);
    const isInitiator = place === "init";
    for (let i = 0; i < file.events.length; i++) {
      const event = file.events[i]!;
      stamps.push({ us: file.times[i]!, what: `${place}:${TRACE_EVENT_NAMES[event]}`, initiatorEvent: isInitiator ? event : 0 });
    }
  }
  return stamps.sort((a, b) => a.us - b.us);
}

export interface TraceSequence {
  /** Round trips that went through exactly these events, in this order. */
  roundTrips: number;
  /** Each step: from → to, the median gap (µs) and the median time since the round trip began. */
  steps: { from: string; to: string; medianUs: number; sinceStartUs: number }[];
  /** Median of these round trips, first stamp to the next round trip's first stamp. */
  medianUs: number;
}

export interface TraceReport {
  roundTrips: number;
  sequences: TraceSequence[];
  /** Processes or threads whose stamping stopped at its limit (their later round trips are missing). */
  truncated: string[];
}

const tenth = (us: number): number => Math.round(us * 10) / 10;

/**
 * The `top` most followed orders of events over the round trips after the first `skip` (the
 * warm-up's). A round trip runs from the initiator's request to its next one: its socket
 * write, or (`request` "post") its post to a thread, in the MessagePort case.
 */
export function traceReport(dir: string, skip: number, request: "write" | "post", top = 2): TraceReport {
  const truncated: string[] = [];
  const stamps = read(dir, truncated);
  const cutAt = request === "write" ? TraceEvent.WriteStart : TraceEvent.PostStart;
  const starts: number[] = [];
  stamps.forEach((s, i) => {
    if (s.initiatorEvent === cutAt) starts.push(i);
  });
  const byOrder = new Map<string, number[][]>();
  let roundTrips = 0;
  for (let r = skip; r < starts.length - 1; r++) {
    const slice = stamps.slice(starts[r], starts[r + 1]! + 1);
    const key = slice.map((s) => s.what).join(" ");
    let runs = byOrder.get(key);
    if (runs === undefined) byOrder.set(key, (runs = []));
    runs.push(slice.map((s) => s.us));
    roundTrips++;
  }
  const sequences = [...byOrder.entries()]
    .sort((a, b) => b[1].length - a[1].length)
    .slice(0, top)
    .map(([key, runs]): TraceSequence => {
      const names = key.split(" ");
      const steps = names.slice(1).map((to, i) => ({
        from: names[i]!,
        to,
        medianUs: tenth(median(runs.map((t) => t[i + 1]! - t[i]!))),
        sinceStartUs: tenth(median(runs.map((t) => t[i + 1]! - t[0]!))),
      }));
      return { roundTrips: runs.length, steps, medianUs: tenth(median(runs.map((t) => t[t.length - 1]! - t[0]!))) };
    });
  return { roundTrips, sequences, truncated };
}

/** The report as lines of text, one step a line. */
export function formatTraceReport(report: TraceReport): string {
  // No stamps from the initiator past the warm-up: the preload did not load, or the run was shorter than --warm.
  if (report.roundTrips === 0) return "no round trips were traced (the initiator stamped none after the warm-up)";
  const lines: string[] = [];
  if (report.truncated.length > 0) lines.push(`stamping stopped at its limit in ${report.truncated.join(", ")}: the last round trips are missing`);
  for (const s of report.sequences) {
    lines.push(`${s.roundTrips} of ${report.roundTrips} round trips in this order (median ${s.medianUs} µs):`);
    for (const step of s.steps) {
      lines.push(`  ${step.from.padEnd(20)} → ${step.to.padEnd(20)} ${String(step.medianUs).padStart(7)} µs  (at ${step.sinceStartUs})`);
    }
  }
  return lines.join("\n");
}
