// Parent side of a bench process. Scenarios whose topology spans processes (client and
// server, a proxy, later initiator/middle/responder) spawn one BenchChild per process,
// wait for each one's "ready" (to learn its port), and collect each one's "result" with
// its peak RSS. A fresh process per repetition also makes maxRSS mean "this repetition".
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ChildMessage, ParentMessage } from "./protocol.js";
import { benchNodeFlags } from "./node-flags.js";

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

/** A role's process ended without a result: it reported an error, exited or was killed, timed out, or the run was aborted. */
export class RoleFailedError extends Error {
  override readonly name = "RoleFailedError";
  readonly #stderr: () => string;

  constructor(
    readonly role: string,
    readonly reason: string,
    /** The end of what the process has written to stderr so far: read again each time, so that once the process is gone it is the whole tail. */
    stderr: () => string,
    /** The harness killed it (another role failed, or the repetition was over): a consequence, not a cause. */
    readonly killedByHarness = false,
  ) {
    super();
    this.#stderr = stderr;
    // A getter, not the message made now: a role that reports an error goes on writing to stderr
    // until it exits, and withChildren waits for that before it reports.
    Object.defineProperty(this, "message", { get: () => `${role} process: ${reason}${this.stderrTail ? `\n${this.stderrTail}` : ""}`, configurable: true });
  }

  /** The end of what the process wrote to stderr (its own diagnostics, Node's report of an uncaught error). */
  get stderrTail(): string {
    return this.#stderr().trim();
  }
}

/** A repetition ended because roles failed; `failures` in the order the harness saw them, its own kills left out. */
export class RolesFailedError extends Error {
  override readonly name = "RolesFailedError";

  constructor(readonly failures: readonly RoleFailedError[]) {
    super(failures.map((f) => f.message).join("\n"));
  }

  /** The role that failed first. */
  get role(): string {
    return this.failures[0]!.role;
  }
}

export class BenchChild<Ready = unknown, Result = unknown> {
  readonly role: string;
  /** Resolves with the child's io.ready() data. */
  readonly ready: Promise<Ready>;
  /** Resolves with the child's result and peak RSS; rejects with a RoleFailedError on error, early exit, timeout or abort. */
  readonly result: Promise<ChildResult<Result>>;
  /** Resolves once the process has exited and its stderr is read. */
  readonly closed: Promise<void>;
  private readonly proc: ChildProcess;
  private stderrTail = "";
  private killed = false;

  constructor(options: SpawnOptions) {
    this.role = options.role;
    options.signal.throwIfAborted();
    this.proc = spawn(
      process.execPath,
      [...benchNodeFlags(), ...(options.execArgv ?? []), fileURLToPath(options.script), JSON.stringify(options.params)],
      // The role rides along so that a child can tell whether HOPWIRE_BENCH_PROFILE (or HOPWIRE_BENCH_FAIL) names it.
      { stdio: ["ignore", "inherit", "pipe", "ipc"], serialization: "json", env: { ...process.env, HOPWIRE_BENCH_ROLE: options.role } },
    );
    this.proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL);
    });
    this.closed = new Promise((resolve) => {
      this.proc.once("close", () => resolve());
      // A process that never started emits 'error' and may never emit 'close'.
      this.proc.once("error", () => this.proc.pid === undefined && resolve());
    });

    let resolveReady!: (d: Ready) => void;
    let rejectReady!: (e: Error) => void;
    this.ready = new Promise((res, rej) => ((resolveReady = res), (rejectReady = rej)));
    this.result = new Promise<ChildResult<Result>>((resolve, reject) => {
      let settled = false;
      const fail = (why: string, killedByHarness = false): void => {
        if (settled) return;
        settled = true;
        const err = new RoleFailedError(this.role, why, () => this.stderrTail, killedByHarness);
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
      // 'close' waits for stderr to drain, so the tail in the message is complete. A SIGKILL
      // after kill() is the harness's own; any other end is the process's.
      this.proc.on("close", (code, sig) => fail(`exited (${sig ?? `code ${code}`}) without a result`, this.killed && sig === "SIGKILL"));
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
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.killed = true;
    this.proc.kill("SIGKILL");
  }

  /**
   * Kills the process if it is still running and waits until it is gone ('close' waits for its
   * stdio too: roles start no processes of their own, so it comes with the exit).
   */
  async end(): Promise<void> {
    this.kill();
    await this.closed;
  }
}

export type SpawnChild = <R = unknown, S = unknown>(role: string, script: URL, params: unknown) => BenchChild<R, S>;

/**
 * The children of one repetition. The first role that fails on its own fails the whole
 * repetition at once (`firstFailure`), whatever the scenario is awaiting at that moment:
 * a scenario awaits one role's result at a time (often the sink's, which would otherwise
 * sit out its timeout after its sender died), so it cannot be the one to notice.
 */
class ChildGroup {
  readonly firstFailure: Promise<never>;
  private readonly children: BenchChild[] = [];
  private readonly failures: RoleFailedError[] = [];
  private rejectFirst!: (e: RoleFailedError) => void;
  private over = false;

  constructor(
    private readonly signal: AbortSignal,
    private readonly timeoutMs: number,
  ) {
    this.firstFailure = new Promise<never>((_, reject) => (this.rejectFirst = reject));
    this.firstFailure.catch(() => {}); // observed by withChildren's race, unless the body ended first
  }

  readonly spawn: SpawnChild = <R, S>(role: string, script: URL, params: unknown) => {
    // A body still running after its repetition failed must not start a process nobody would end.
    if (this.over) throw new Error(`${role} not started: the repetition is over`);
    const child = new BenchChild<R, S>({ role, script, params, signal: this.signal, timeoutMs: this.timeoutMs });
    this.children.push(child as BenchChild);
    child.result.catch((e: RoleFailedError) => this.failed(e));
    return child;
  };

  /** Kills every child still running and waits for all of them to exit. */
  async end(): Promise<void> {
    this.over = true;
    await Promise.all(this.children.map((c) => c.end()));
  }

  /** Every role that failed on its own (complete once end() has resolved), else `seen`. */
  error(seen: RoleFailedError): RolesFailedError {
    return new RolesFailedError(this.failures.length > 0 ? this.failures : [seen]);
  }

  private failed(e: RoleFailedError): void {
    if (e.killedByHarness) return;
    this.failures.push(e);
    this.rejectFirst(e);
  }
}

let spawnStandIn: SpawnChild | undefined;

/**
 * For tests of what a scenario hands its roles (bench/test/warm-wiring.test.ts): while set,
 * withChildren gives its body `standIn` and starts no process. undefined restores the real one.
 */
export function standInForSpawn(standIn: SpawnChild | undefined): void {
  spawnStandIn = standIn;
}

/**
 * Runs `body` with a spawner. The first role to fail (error, exit, signal, timeout) ends
 * the repetition at once with a RolesFailedError naming it and its error (with any other
 * role that failed on its own by then). Every child is killed and waited for when `body`
 * returns or throws, so a repetition leaves no process running.
 */
export async function withChildren<T>(signal: AbortSignal, timeoutMs: number, body: (spawnChild: SpawnChild) => Promise<T>): Promise<T> {
  if (spawnStandIn) return body(spawnStandIn);
  const group = new ChildGroup(signal, timeoutMs);
  try {
    return await Promise.race([body(group.spawn), group.firstFailure]);
  } catch (e) {
    if (!(e instanceof RoleFailedError)) throw e;
    await group.end(); // every failure seen, each with its whole stderr tail
    throw group.error(e);
  } finally {
    await group.end();
  }
}
