import { AbortError, InvalidOptionError, TimeoutError } from "../errors/errors.js";
import { describeValue } from "./describe-type.js";
import { onAbort } from "./abort-listeners.js";

/** How long a wait lasts: a timeout in ms and/or an AbortSignal. */
export interface WaitOptions {
  /** Milliseconds; undefined or Infinity waits forever. */
  timeout?: number;
  signal?: AbortSignal;
}

/**
 * Runs `start` with resolve/reject callbacks and settles on the first of: the operation,
 * the timeout, the abort signal. `cleanup` runs exactly once, whatever happened, and every
 * listener and timer is removed in one place. A `signal` that is not an AbortSignal, or a
 * `timeout` that is not a number, rejects with an InvalidOptionError naming it before `start`
 * runs (and leaves nothing armed).
 */
export function waitFor<T>(
  start: (resolve: (value: T) => void, reject: (error: unknown) => void) => void,
  /**
   * `what` names the wait in its TimeoutError or AbortError; a function is called only then.
   * `timeoutHint` follows it in a TimeoutError only: the likely cause of a wait that ran out,
   * which an abort (the caller's own doing) says nothing about.
   */
  options: WaitOptions & { what: string | (() => string); timeoutHint?: () => string; cleanup?: () => void },
): Promise<T> {
  const { signal, timeout } = options;
  const what = (): string => (typeof options.what === "function" ? options.what() : options.what);
  const timedOutWhat = (): string => what() + (options.timeoutHint?.() ?? "");
  // Checked before anything is armed: a string as `signal` once threw in addEventListener
  // after the timer was set, and that timer's cleanup then threw uncaught (the process died).
  const invalid = invalidWaitOption(signal, timeout);
  if (invalid !== undefined || signal?.aborted) {
    options.cleanup?.();
    return Promise.reject(invalid ?? new AbortError(`${what()} was aborted`, { cause: signal?.reason }));
  }
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let stopListening: (() => void) | undefined;
    const aborted = (): void => finish(() => reject(new AbortError(`${what()} was aborted`, { cause: signal?.reason })));
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      stopListening?.();
      try {
        options.cleanup?.();
      } catch (error) {
        // Thrown in a timer or an abort listener it would be uncaught: it settles the wait instead.
        reject(error);
        return;
      }
      settle();
    };
    try {
      // The listener first, then the timer: whatever throws here, finish removes what was set.
      if (signal !== undefined) stopListening = onAbort(signal, aborted);
      if (timeout !== undefined && Number.isFinite(timeout)) {
        timer = setTimeout(() => finish(() => reject(new TimeoutError(`${timedOutWhat()} timed out after ${timeout} ms`))), timeout);
      }
      start(
        (value) => finish(() => resolve(value)),
        (error) => finish(() => reject(error)),
      );
    } catch (error) {
      finish(() => reject(error));
    }
  });
}

/**
 * The InvalidOptionError for a `signal` that is not an AbortSignal or a `timeout` that is not
 * a number (either may be undefined), as the option checks phrase it; undefined if both are fine.
 */
function invalidWaitOption(signal: unknown, timeout: unknown): InvalidOptionError | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return new InvalidOptionError(`waitFor options: signal must be an AbortSignal, got ${describeValue(signal)}`, { option: "signal" });
  }
  if (timeout !== undefined && typeof timeout !== "number") {
    return new InvalidOptionError(`waitFor options: timeout must be a number of milliseconds, or Infinity for none; got ${describeValue(timeout)}`, { option: "timeout" });
  }
  return undefined;
}

/**
 * Resolves true if `promise` settled (either way) within `ms`, false otherwise. The timer holds
 * the process: a stop that waits on code which holds nothing (a pending promise on the main
 * thread) must still end.
 */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const settled = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}

/**
 * Waits for a worker's stop, `stopped` (its handler in progress, then its `shutdown`), with the
 * handler's end, `settled`, on the way; true if it ended in time. The whole stop has
 * `timeout` (NodeOptions.shutdownTimeout) from the worker's turn, `turn`, as a stop always had.
 * The handler alone is counted from when it began (`busySince`), but not from before the node's
 * stop reached the workers (`stopBegan`): workers stop one after another, so a handler that
 * hung while the workers after it stopped has used up its time already, and n hung handlers
 * take about one timeout, not n. A handler that ends in time leaves `shutdown` the rest of the
 * worker's own timeout, however long others' shutdowns took before its turn. With no
 * `stopBegan` (`stopWorker`) or no handler in progress, the rule is the old one. Times are
 * `Date.now()`, comparable across a process's threads.
 */
export async function stopsWithin(
  settled: Promise<unknown>,
  stopped: Promise<unknown>,
  timeout: number,
  stopBegan: number | undefined,
  busySince: number | undefined,
  turn: number,
): Promise<boolean> {
  const handlerUntil = stopBegan === undefined || busySince === undefined ? turn + timeout : Math.max(stopBegan, Math.min(busySince, turn)) + timeout;
  if (!(await settlesWithin(Promise.race([settled, stopped]), Math.min(handlerUntil, turn + timeout) - Date.now()))) return false;
  return settlesWithin(stopped, turn + timeout - Date.now());
}
