// Summarises a .heapprofile (HOPWIRE_BENCH_PROFILE_KIND=allocated or promoted): sampled bytes
// per allocating function (top N), and with a function name, the call paths into it
// (DEPTH frames, default 4). Divide by the messages of the profiled span for bytes per message.
//
//   node bench/dist/probe/heapprofile-top.js FILE [N] [function]
import { readFileSync } from "node:fs";
import { frameName, type CallFrame } from "./frame-name.js";

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

const [file, topArg, callersOf] = process.argv.slice(2);
if (!file) {
  console.error("usage: heapprofile-top FILE [N] [function]");
  process.exit(2);
}
const { head } = JSON.parse(readFileSync(file, "utf8")) as { head: HeapNode };

const selfBytes = new Map<string, number>();
const paths = new Map<string, number>();
let total = 0;
const depth = Number(process.env.DEPTH ?? 4);
(function walk(node: HeapNode, stack: string[]): void {
  const name = frameName(node.callFrame);
  if (node.selfSize > 0) {
    selfBytes.set(name, (selfBytes.get(name) ?? 0) + node.selfSize);
    total += node.selfSize;
    if (callersOf && node.callFrame.functionName === callersOf) {
      const path = stack.slice(-depth).reverse().join(" < ");
      paths.set(path, (paths.get(path) ?? 0) + node.selfSize);
    }
  }
  for (const child of node.children) walk(child, [...stack, node.callFrame.functionName || "(anonymous)"]);
})(head, []);

console.log(`${file}: ${(total / 1e6).toFixed(1)} MB sampled`);
for (const [name, bytes] of [...selfBytes].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 30))) {
  console.log(`${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${(bytes / 1e6).toFixed(1).padStart(7)} MB  ${name}`);
}
if (callersOf) {
  console.log(`\ncallers of ${callersOf}:`);
  for (const [path, bytes] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${(bytes / 1e6).toFixed(1).padStart(7)} MB  ${path}`);
}
