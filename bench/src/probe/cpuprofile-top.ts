// Summarises a .cpuprofile: self time per function (top N) and the share of idle, GC and
// native work. `node bench/dist/probe/cpuprofile-top.js FILE [N]`.
import { readFileSync } from "node:fs";
import { frameName, type CpuProfile } from "./frame-name.js";

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: cpuprofile-top FILE [N]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const key = frameName(byId.get(id)!.callFrame);
  selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
  total += dt;
});
const idle = selfUs.get("(idle)") ?? 0;
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${((100 * idle) / total).toFixed(1)} % idle`);
const rows = [...selfUs].filter(([key]) => key !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 40));
for (const [key, us] of rows) {
  console.log(`${((100 * us) / (total - idle)).toFixed(1).padStart(5)} %  ${key}`);
}

// With a third argument, the call paths (up to 6 frames) that lead to that function's self time.
const callersOf = process.argv[4];
if (callersOf) {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const paths = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    if (byId.get(id)!.callFrame.functionName !== callersOf) return;
    const names: string[] = [];
    for (let at: number | undefined = parent.get(id); at !== undefined && names.length < Number(process.env.DEPTH ?? 6); at = parent.get(at)) {
      names.push(byId.get(at)!.callFrame.functionName || "(anonymous)");
    }
    const key = names.join(" < ");
    paths.set(key, (paths.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  console.log(`\ncallers of ${callersOf}:`);
  for (const [key, us] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${(us / 1000).toFixed(1).padStart(8)} ms  ${key}`);
}
