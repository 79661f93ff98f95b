// CPU time of a process's threads from /proc/<pid>/task/*/schedstat (nanoseconds on a CPU):
// exact, per thread, and readable from another process, where process.cpuUsage() is neither.
import { readdirSync, readFileSync } from "node:fs";

/** Nanoseconds on a CPU so far: the process's main thread, and all its other threads together. */
export function threadCpuNs(pid: number = process.pid): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      if (Number(tid) === pid) main += ns;
      else others += ns;
    } catch {
      // a thread that ended meanwhile
    }
  }
  return { main, others };
}
