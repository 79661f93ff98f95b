import { AbortError, TimeoutError } from "../errors/errors.js";

/** How long a wait lasts: a timeout in ms and/or an AbortSignal. */
export interface WaitOptions {
  /** Milliseconds; undefined or Infinity waits forever. */
  timeout?: number;
  signal?: AbortSignal;
}

/**
 * Runs `start` with resolve/reject callbacks and settles on the first of: the operation,
 * the timeout, the abort signal. `cleanup` runs exactly once, whatever happened, and every
 * listener and timer is removed in one place.
 */
export function waitFor<T>(
  start: (resolve: (value: T) => void, reject: (error: unknown) => void) => void,
  /** `what` names the wait in its TimeoutError or AbortError; a function is called only then. */
  options: WaitOptions & { what: string | (() => string); cleanup?: () => void },
): Promise<T> {
  const { signal, timeout } = options;
  const what = (): string => (typeof options.what === "function" ? options.what() : options.what);
  if (signal?.aborted) {
    options.cleanup?.();
    return Promise.reject(new AbortError(`${what()} was aborted`, { cause: signal.reason }));
  }
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => finish(() => reject(new AbortError(`${what()} was aborted`, { cause: signal?.reason })));
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      options.cleanup?.();
      settle();
    };
    if (timeout !== undefined && Number.isFinite(timeout)) {
      timer = setTimeout(() => finish(() => reject(new TimeoutError(`${what()} timed out after ${timeout} ms`))), timeout);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
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
