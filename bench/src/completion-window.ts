import { performance } from "node:perf_hooks";

export interface CompletionWindow {
  warmupMs: number;
  durationMs: number;
  /** Operations kept in flight at once (default 8). */
  inFlight?: number;
  /**
   * Completions that must precede the window as well, whatever warmupMs says (default 0): V8
   * optimises by calls, not by time, and a handshake's code runs cold for its first hundreds.
   */
  warmCount?: number;
}

/**
 * Runs `once` over and over from `inFlight` loops and counts the completions inside a
 * window that opens once warmupMs has passed and warmCount operations have completed, and
 * lasts durationMs; the window itself is the time base, so operations still running at its
 * end do not stretch it.
 */
export async function countCompletions(once: () => Promise<void>, w: CompletionWindow): Promise<{ count: number; seconds: number }> {
  const t0 = performance.now();
  let start = -1;
  let end = Infinity;
  let count = 0;
  let warmed = 0;
  const warmCount = w.warmCount ?? 0;
  const loop = async (): Promise<void> => {
    for (;;) {
      await once();
      const now = performance.now();
      if (start < 0) {
        if (++warmed >= warmCount && now >= t0 + w.warmupMs) {
          start = now;
          end = now + w.durationMs;
        }
      } else if (now < end) count++;
      else return;
    }
  };
  await Promise.all(Array.from({ length: w.inFlight ?? 8 }, loop));
  return { count, seconds: w.durationMs / 1e3 };
}
