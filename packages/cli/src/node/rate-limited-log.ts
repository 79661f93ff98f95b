import type { LineLog } from "./start-node.js";

/**
 * Lines about a recurring cause (e.g. an inlet's failed stream opens) at most once per
 * interval each: the first occurrence is logged at once; later ones within the interval are
 * counted, and when it ends one summary line says how many there were. Nothing is lost and
 * a flood of failures writes one line per cause per interval.
 */
export class RateLimitedLog {
  readonly #causes = new Map<string, { suppressed: number; summary: Summary; timer: NodeJS.Timeout; since: number }>();

  constructor(
    private readonly log: LineLog,
    readonly intervalMs: number,
  ) {}

  /**
   * Logs `line()` for `cause`, unless a line for it was logged within the interval; then it
   * is counted, and `summary(count, seconds)` is logged when the interval ends (`seconds` the
   * interval's), or at stop() (`seconds` how long it had been counting: a user trial read "in
   * 10 s" under lines 1.3 s apart).
   */
  report(cause: string, line: () => string, summary: Summary): void {
    const state = this.#causes.get(cause);
    if (state !== undefined) {
      state.suppressed++;
      state.summary = summary;
      return;
    }
    this.log(line());
    this.#causes.set(cause, { suppressed: 0, summary, timer: this.#endOfInterval(cause), since: performance.now() });
  }

  #endOfInterval(cause: string): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const state = this.#causes.get(cause)!;
      if (state.suppressed === 0) {
        this.#causes.delete(cause); // quiet for a whole interval: the next one is logged at once
        return;
      }
      this.log(state.summary(state.suppressed, this.intervalMs / 1000));
      state.suppressed = 0;
      state.since = performance.now();
      state.timer = this.#endOfInterval(cause); // still failing: the next summary in an interval
    }, this.intervalMs);
    timer.unref();
    return timer;
  }

  /** Logs the summaries of what was counted so far, and forgets every cause. */
  stop(): void {
    for (const { suppressed, summary, timer, since } of this.#causes.values()) {
      clearTimeout(timer);
      if (suppressed > 0) this.log(summary(suppressed, secondsSince(since)));
    }
    this.#causes.clear();
  }
}

/** A summary line for `count` lines counted in the last `seconds`. */
export type Summary = (count: number, seconds: number) => string;

/** Whole seconds since `since` (performance.now()), or tenths under 10 s: "in 1.3 s", "in 10 s". */
function secondsSince(since: number): number {
  const seconds = (performance.now() - since) / 1000;
  return seconds < 10 ? Math.round(seconds * 10) / 10 : Math.round(seconds);
}
