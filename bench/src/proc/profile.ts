// CPU profiles of bench children, for finding where a scenario's time goes:
//   HOPWIRE_BENCH_PROFILE=responder,middle HOPWIRE_BENCH_PROFILE_DIR=/tmp/prof \
//     node bench/dist/cli.js --scenario secure-channel/one-hop-throughput --size 1KiB
// writes <dir>/<role>-<pid>.cpuprofile per child whose role is listed ("all" = every child),
// and beside it <role>-<pid>.counts.json: the process's syscalls, context switches, page
// faults and CPU over the same span (divide by the messages for a per-message cost).
// Summarise a profile with `node bench/dist/probe/cpuprofile-top.js FILE`. Starting the
// profiler can freeze a Node 20 child for good (seen under load, about one start in five):
// V8's Profiler.start logs every compiled function while holding a lock, an allocation there
// triggers a mark-compact GC, and the GC waits on that same lock (gdb: CpuProfiler::
// StartProfiling → LogCompiledFunctions → … → Heap::MarkCompact → pthread_mutex_lock). Its
// peer then times it out. Not Hopwire's code; profile on a quiet machine and rerun a stuck run. Not --cpu-prof: the
// harness kills a child once it has its result, before Node would write the profile at exit.
import { Session } from "node:inspector/promises";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface RunningProfile {
  stop(): Promise<void>;
}

/** `role`: what HOPWIRE_BENCH_PROFILE names (default the process's HOPWIRE_BENCH_ROLE; a worker thread passes its own, e.g. "echo-thread"). */
export function startProfileIfAsked(role = process.env.HOPWIRE_BENCH_ROLE ?? "child"): RunningProfile | undefined {
  const wanted = process.env.HOPWIRE_BENCH_PROFILE?.split(",") ?? [];
  if (!wanted.includes(role) && !wanted.includes("all")) return undefined;
  const dir = process.env.HOPWIRE_BENCH_PROFILE_DIR ?? "bench/results/profiles";
  const before = processCounts();
  const session = new Session();
  session.connect();
  // HOPWIRE_BENCH_PROFILE_KIND=promoted samples allocations that outlived a scavenge and died in
  // a mark-compact (what makes old-generation garbage), as a .heapprofile, instead of CPU;
  // =allocated samples every allocation, those that die young included (what the scavenges cost).
  const kind = process.env.HOPWIRE_BENCH_PROFILE_KIND;
  const heap = kind === "promoted" || kind === "allocated";
  const started = heap
    ? session.post("HeapProfiler.enable").then(() =>
        session.post("HeapProfiler.startSampling", {
          samplingInterval: 4096,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: kind === "allocated",
        } as never),
      )
    : session
        .post("Profiler.enable")
        .then(() => session.post("Profiler.setSamplingInterval", { interval: 100 }))
        .then(() => session.post("Profiler.start"));
  return {
    async stop() {
      await started;
      mkdirSync(dir, { recursive: true });
      if (heap) {
        const { profile } = await session.post("HeapProfiler.stopSampling");
        writeFileSync(join(dir, `${role}-${process.pid}.heapprofile`), JSON.stringify(profile));
      } else {
        const { profile } = await session.post("Profiler.stop");
        writeFileSync(join(dir, `${role}-${process.pid}.cpuprofile`), JSON.stringify(profile));
      }
      const after = processCounts();
      const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
      writeFileSync(join(dir, `${role}-${process.pid}.counts.json`), JSON.stringify(delta, null, 1));
      session.disconnect();
    },
  };
}

/** Cumulative counters of this process (Linux /proc; zeros elsewhere). */
function processCounts(): Record<string, number> {
  const usage = process.resourceUsage();
  const counts: Record<string, number> = {
    userCpuUs: usage.userCPUTime,
    systemCpuUs: usage.systemCPUTime,
    minorFaults: usage.minorPageFault,
    voluntarySwitches: usage.voluntaryContextSwitches,
    involuntarySwitches: usage.involuntaryContextSwitches,
  };
  try {
    for (const line of readFileSync("/proc/self/io", "utf8").split("\n")) {
      const [key, value] = line.split(":");
      if (key === "syscr" || key === "syscw") counts[key] = Number(value);
    }
  } catch {
    // not Linux: CPU and faults only
  }
  return counts;
}
