// Parent side of a bench process. Scenarios whose topology spans processes (client and
// server, a proxy, later initiator/middle/responder) spawn one BenchChild per process,
// wait for each one's "ready" (to learn its port), and collect each one's "result" with
// its peak RSS. A fresh process per repetition also makes maxRSS mean "this repetition".
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ChildMessage, ParentMessage } from "./protocol.js";

export interface ChildResult<R> {
  data: R;
  maxRssBytes: number;
}

export interface SpawnOptions {
  /** Role in the topology, used in error messages and as the RSS metric's name. */
  role: string;
  /** The compiled bench script (a .js file that calls runBenchChild). */
  script: URL;
  params: unknown;
  signal: AbortSignal;
  /** Kill the child if it has not reported a result by then. */
  timeoutMs: number;
  execArgv?: string[];
}

const STDERR_TAIL = 4096;

export class BenchChild<Ready = unknown, Result = unknown> {
  readonly role: string;
  /** Resolves with the child's io.ready() data. */
  readonly ready: Promise<Ready>;
  /** Resolves with the child's result and peak RSS; rejects on error, early exit, timeout or abort. */
  readonly result: Promise<ChildResult<Result>>;
  private readonly proc: ChildProcess;
  private stderrTail = "";

  constructor(options: SpawnOptions) {
    this.role = options.role;
    options.signal.throwIfAborted();
    this.proc = spawn(
      process.execPath,
      [...(options.execArgv ?? []), fileURLToPath(options.script), JSON.stringify(options.params)],
      // The role rides along so that a child can tell whether HOPWIRE_BENCH_PROFILE names it.
      { stdio: ["ignore", "inherit", "pipe", "ipc"], serialization: "json", env: { ...process.env, HOPWIRE_BENCH_ROLE: options.role } },
    );
    this.proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL);
    });

    let resolveReady!: (d: Ready) => void;
    let rejectReady!: (e: Error) => void;
    this.ready = new Promise((res, rej) => ((resolveReady = res), (rejectReady = rej)));
    this.result = new Promise<ChildResult<Result>>((resolve, reject) => {
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        const err = new Error(`${this.role} process: ${why}${this.stderrTail ? `\n${this.stderrTail.trim()}` : ""}`);
        cleanup();
        this.kill();
        rejectReady(err);
        reject(err);
      };
      const onAbort = (): void => fail("aborted");
      const timer = setTimeout(() => fail(`no result after ${options.timeoutMs} ms`), options.timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        options.signal.removeEventListener("abort", onAbort);
      };
      options.signal.addEventListener("abort", onAbort, { once: true });
      this.proc.on("message", (m: ChildMessage) => {
        if (m.type === "ready") resolveReady(m.data as Ready);
        else if (m.type === "error") fail(m.stack ?? m.message);
        else if (m.type === "result" && !settled) {
          settled = true;
          cleanup();
          rejectReady(new Error(`${this.role} process finished before it was ready`));
          resolve({ data: m.data as Result, maxRssBytes: m.maxRssBytes });
        }
      });
      this.proc.on("error", (e) => fail(e.message));
      // 'close' waits for stderr to drain, so the tail in the message is complete.
      this.proc.on("close", (code, sig) => fail(`exited (${sig ?? `code ${code}`}) without a result`));
    });
    // Callers may await only one of the two; an unobserved rejection must not crash the harness.
    this.ready.catch(() => {});
    this.result.catch(() => {});
  }

  /** Asks the child to finish and report. */
  stop(): void {
    // The child may be exiting on its own (its peer is done): a failed send is no error here,
    // and without a callback it would be an 'error' event that fails the child.
    if (this.proc.connected) this.proc.send({ type: "stop" } satisfies ParentMessage, () => {});
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
  }
}

/**
 * Runs `body` with a spawner and guarantees that every child it spawned is killed when
 * it returns or throws, so a failed repetition cannot leave a process running.
 */
export async function withChildren<T>(
  signal: AbortSignal,
  timeoutMs: number,
  body: (spawnChild: <R = unknown, S = unknown>(role: string, script: URL, params: unknown) => BenchChild<R, S>) => Promise<T>,
): Promise<T> {
  const children: BenchChild<unknown, unknown>[] = [];
  try {
    return await body(<R, S>(role: string, script: URL, params: unknown) => {
      const child = new BenchChild<R, S>({ role, script, params, signal, timeoutMs });
      children.push(child as BenchChild<unknown, unknown>);
      return child;
    });
  } finally {
    for (const child of children) child.kill();
  }
}
