import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

/**
 * A child process of a multi-process test, in its own process group so that `killAll`
 * ends it and anything it started, whatever state the test left it in.
 */
export interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  /** Every stdout line so far, and when each arrived (Date.now()). */
  readonly lines: string[];
  readonly stamps: number[];
  /** Resolves with the first stdout line (seen or to come) that matches; rejects if the child exits first. */
  line(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Like `line`, for lines still to come only. */
  nextLine(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Writes a line to the child's stdin. */
  tell(line: string): void;
  readonly exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();

export function startChild(script: string, args: string[] = []): Child {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["pipe", "pipe", "pipe"], detached: true });
  running.add(child);
  const lines: string[] = [];
  const stamps: number[] = [];
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const reader = createInterface({ input: child.stdout });
  // "exit" may come before the last lines are read: a line is missing only once stdout closed too.
  const readAll = new Promise<void>((resolve) => reader.once("close", resolve));
  reader.on("line", (line) => {
    lines.push(line);
    stamps.push(Date.now());
    for (const w of waiters.splice(0)) {
      const m = line.match(w.pattern);
      if (m) w.resolve(m);
      else waiters.push(w);
    }
  });
  const exited = once(child, "exit").then(([code]) => {
    running.delete(child);
    return code as number | null;
  });
  return {
    process: child,
    lines,
    stamps,
    exited,
    tell: (line) => void child.stdin.write(line + "\n"),
    line(pattern) {
      for (const l of lines) {
        const m = l.match(pattern);
        if (m) return Promise.resolve(m);
      }
      return this.nextLine(pattern);
    },
    nextLine(pattern) {
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        // Its last stdout lines too: a fixture that fails says why there (e.g. FAILED <code>).
        void Promise.all([exited, readAll]).then(([code]) => reject(new Error(`${script} exited (${code}) before printing ${pattern}: ${lines.slice(-5).join(" | ")} ${stderr.slice(-2000)}`)));
      });
    },
  };
}

/** Kills every child still running, with its process group (call it in a `finally`). */
export function killAll(): void {
  for (const child of running) killGroup(child);
  running.clear();
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

/** How a process run by `runToExit` ended, and everything it printed. */
export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** It had not exited after `timeoutMs`, and was killed. */
  readonly timedOut: boolean;
}

/**
 * Runs `node ...args` (or `command ...args`) to its exit, in its own process group: killed
 * with everything it started if it outlives `timeoutMs`, and what it left behind is killed
 * when it exits (or by `killAll` if the test ends first).
 */
export async function runToExit(
  args: string[],
  options: { timeoutMs: number; command?: string; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<Finished> {
  const child = spawn(options.command ?? process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const closed = once(child, "close");
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, options.timeoutMs);
  try {
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    // Its pipes close once every process holding them is gone, and then all output is read.
    killGroup(child);
    await closed;
    return { code, signal, stdout, stderr, timedOut };
  } finally {
    clearTimeout(timer);
    killGroup(child);
    running.delete(child);
  }
}

/** The port of "host:port". */
export function portOf(address: string): string {
  return address.slice(address.lastIndexOf(":") + 1);
}

/**
 * How much a child's RSS grew after `from` (Date.now()): the largest `RSS <bytes>` sample
 * it printed after that time, minus the first one. Throws if it printed none after `from`
 * (call `nextLine(/^RSS /)` first when the run may have been shorter than the warm-up).
 */
export function rssGrowthAfter(child: Child, from: number): { base: number; max: number; growth: number } {
  const samples = child.lines.flatMap((l, i) => (l.startsWith("RSS ") && child.stamps[i]! >= from ? [Number(l.slice(4))] : []));
  if (samples.length === 0) throw new Error("no RSS sample after the warm-up");
  const base = samples[0]!;
  const max = Math.max(...samples);
  return { base, max, growth: max - base };
}
