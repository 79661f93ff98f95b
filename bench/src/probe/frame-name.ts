/** A profile node's call frame, as V8's CPU and heap profiles both write it. */
export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** "function path:line", the path cut to the repository's packages/, bench/ or node_modules/. */
export function frameName(frame: CallFrame): string {
  const where = frame.url ? `${frame.url.replace(/^.*\/(packages|bench|node_modules)\//, "$1/")}:${frame.lineNumber + 1}` : "";
  return `${frame.functionName || "(anonymous)"} ${where}`.trim();
}

/** A .cpuprofile's node, as V8 writes it (the fields the probes read). */
export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** A .cpuprofile, as V8 writes it (the fields the probes read): `startTime` and each sample's delta in µs. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}
