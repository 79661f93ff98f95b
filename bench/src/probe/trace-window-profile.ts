// Where one step of a round trip spends its CPU: the samples of a CPU profile that fall between
// two stamps of the same process or thread (rtt-trace.ts), e.g. from a thread's 'message' to its
// next post, counted by function (self, and inclusive of what it calls).
//
//   HOPWIRE_BENCH_PROFILE=echo-thread HOPWIRE_BENCH_PROFILE_DIR=/tmp/p \
//     node bench/dist/probe/rtt-cpu.js --case seed --trace 1 --trace-dir /tmp/t
//   node bench/dist/probe/trace-window-profile.js --profile /tmp/p/echo-thread-PID.cpuprofile \
//     --trace /tmp/t/seed-echo-thread.thread-PID-1.json --from message --to 'post>'
//
// A profile's sample times are V8's TimeTicks, CLOCK_MONOTONIC on Linux, as the stamps are. A
// profiler slows what it watches (on this host a round trip by a third or more): read the
// shares, not the times.
import { readFileSync } from "node:fs";
import { parseFlags } from "./flags.js";
import { TRACE_EVENT_NAMES, type TraceFile } from "./rtt-trace.js";
import { frameName, type CpuProfile, type ProfileNode } from "./frame-name.js";


const TOP = 30;

function eventNumber(name: string): number {
  const found = Object.entries(TRACE_EVENT_NAMES).find(([, n]) => n === name);
  if (found === undefined) throw new Error(`--from and --to name events: ${Object.values(TRACE_EVENT_NAMES).join(", ")}`);
  return Number(found[0]);
}

/** [start, end] of each window: a `from` stamp to the next `to` stamp. */
function windowsOf(trace: TraceFile, from: number, to: number): [number, number][] {
  const windows: [number, number][] = [];
  let open = -1;
  trace.events.forEach((event, i) => {
    if (event === from && open < 0) open = trace.times[i]!;
    else if (event === to && open >= 0) {
      windows.push([open, trace.times[i]!]);
      open = -1;
    }
  });
  return windows;
}

/** Whether `t` falls in one of `windows` (in order, not overlapping): a binary search. */
function insideAny(windows: readonly [number, number][], t: number): boolean {
  let lo = 0;
  let hi = windows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [start, end] = windows[mid]!;
    if (t < start) hi = mid - 1;
    else if (t > end) lo = mid + 1;
    else return true;
  }
  return false;
}


function main(): void {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.profile === undefined || flags.trace === undefined) {
    console.error("usage: trace-window-profile.js --profile FILE.cpuprofile --trace STAMPS.json --from EVENT --to EVENT");
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(flags.profile, "utf8")) as CpuProfile;
  const trace = JSON.parse(readFileSync(flags.trace, "utf8")) as TraceFile;
  const windows = windowsOf(trace, eventNumber(flags.from ?? "data"), eventNumber(flags.to ?? "write>"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let t = profile.startTime; // µs, the stamps' clock
  let busy = 0;
  let inside = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!; // not always increasing: V8 may record a sample a little out of order
    const node = byId.get(profile.samples[i]!)!;
    if (node.callFrame.functionName === "(idle)") continue;
    busy++;
    if (!insideAny(windows, t)) continue;
    inside++;
    self.set(frameName(node.callFrame), (self.get(frameName(node.callFrame)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parentOf.get(id)) {
      const name = frameName(byId.get(id)!.callFrame);
      if (seen.has(name)) continue; // a recursive frame counts once per sample
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
    }
  }
  const meanUs = windows.reduce((sum, [a, b]) => sum + b - a, 0) / Math.max(1, windows.length);
  console.log(`${windows.length} windows of ${meanUs.toFixed(1)} µs on average; ${inside} of ${busy} busy samples fall inside`);
  const top = (counts: Map<string, number>): string =>
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([name, n]) => `${((100 * n) / Math.max(1, inside)).toFixed(1).padStart(5)} %  ${name}`)
      .join("\n");
  console.log(`-- self\n${top(self)}\n-- inclusive\n${top(inclusive)}`);
}

main();
