import { Worker as NodeWorker, type WorkerOptions } from "node:worker_threads";

/**
 * Flags of the parent's `process.execArgv` that a thread must not get: they concern the
 * main script or the whole process. Given to a thread, string-input flags make it refuse to
 * load any file ("--input-type can only be used with string input"), and the per-process
 * ones make `new Worker` throw ERR_WORKER_INVALID_EXEC_ARGV.
 */
const DROPPED = new Set([
  // the main script and how it is given
  "-e", "--eval", "-p", "--print", "--input-type", "-c", "--check", "-i", "--interactive",
  "--test", "--watch", "--watch-path", "--watch-preserve-output",
  // debugging and profiling of the process
  "--inspect", "--inspect-brk", "--inspect-port", "--inspect-wait", "--inspect-publish-uid", "--debug-port",
  "--cpu-prof", "--cpu-prof-dir", "--cpu-prof-name", "--cpu-prof-interval",
  "--heap-prof", "--heap-prof-dir", "--heap-prof-name", "--heap-prof-interval",
  "--prof", "--prof-process", "--title",
  // V8 and process options a worker refuses
  "--max-old-space-size", "--max-semi-space-size", "--stack-size", "--expose-gc", "--expose_gc",
  "--abort-on-uncaught-exception", "--jitless",
]);

/** Flags whose value may start with "-" (code). */
const CODE = new Set(["-e", "--eval", "-p", "--print"]);

/**
 * The execArgv a thread started by Hopwire gets: the parent's, so that loaders and module
 * flags (`--import tsx`, `--require`, `--loader`, `--conditions`, `--experimental-*`,
 * `--enable-source-maps`, ...) apply in worker threads too, minus what concerns only the
 * main script or the process (`--input-type`, `--eval`, `--print`, `--check`, `--test`,
 * `--watch*`, `--inspect*`, `--cpu-prof*`, `--heap-prof*`, `--prof`, `--title`, and the V8
 * options a worker refuses, such as `--max-old-space-size`, `--stack-size`, `--expose-gc`).
 * `--test-*` flags are dropped too.
 */
export function threadExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (DROPPED.has(name) || name.startsWith("--test-")) {
      // execArgv holds options only (never the script), so an argument after a flag that does
      // not start with "-" is that flag's value: it goes too. Code after --eval may start with "-".
      if (eq < 0 && i + 1 < argv.length && (CODE.has(name) || !argv[i + 1]!.startsWith("-"))) i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** The flags `new Worker` named as invalid in an ERR_WORKER_INVALID_EXEC_ARGV error, if it is one. */
export function invalidExecArgv(error: unknown): string[] | undefined {
  if ((error as { code?: unknown } | null)?.code !== "ERR_WORKER_INVALID_EXEC_ARGV") return undefined;
  const message = (error as Error).message;
  const colon = message.indexOf(":");
  if (colon < 0) return [];
  return message
    .slice(colon + 1)
    .split(",")
    .map((s) => s.trim().split(" ")[0]!)
    .filter((s) => s.startsWith("-"));
}

let learned: string[] | undefined;

/** `threadExecArgv()` minus any flag a `new Worker` of this process has refused so far. */
export function runtimeThreadExecArgv(): string[] {
  learned ??= threadExecArgv();
  return learned;
}

/**
 * Runs `start` with `runtimeThreadExecArgv()`. If Node refuses some of those flags (a
 * per-process option this list does not know: any V8 option, such as --stack-trace-limit,
 * --trace-gc or --single-threaded-gc, or --v8-pool-size), they are dropped for every later
 * thread and `start` runs once more. Every thread Hopwire starts (placement "thread", the
 * pool's slots, crypto threads) starts through it, so that none fails on such a flag.
 */
export function withThreadExecArgv<T>(start: (execArgv: string[]) => T): T {
  try {
    return start(runtimeThreadExecArgv());
  } catch (error) {
    const invalid = invalidExecArgv(error);
    if (!invalid || invalid.length === 0) throw error;
    const names = new Set(invalid.map((flag) => flag.split("=")[0]));
    learned = runtimeThreadExecArgv().filter((arg) => !names.has(arg.split("=")[0]));
    return start(learned);
  }
}

/** Starts a thread with `runtimeThreadExecArgv()`, learning which flags Node refuses (`withThreadExecArgv`). */
export function startThread(filename: string | URL, options: WorkerOptions): NodeWorker {
  return withThreadExecArgv((execArgv) => new NodeWorker(filename, { ...options, execArgv }));
}
