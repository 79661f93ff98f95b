// Waiting for a condition in a test: the condition is what is checked, the bound only ends a
// test that would otherwise hang (generous, as CI shares its machine).
import { performance } from "node:perf_hooks";

/**
 * Resolves once `condition()` holds, checking every millisecond or so; rejects after `ms`
 * with an error that names `what` was waited for.
 */
export async function eventually(condition: () => boolean, ms = 5_000, what = "condition"): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** One turn of the event loop (an immediate). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
