import type { Logger } from "@hopwire/runtime";

/**
 * A warning that is logged at most once per interval: a flood of refusals (connections
 * over a cap, denied dials) must not become a flood of log lines. The next line logged
 * says how many were left out since the last one.
 */
export class RateLimitedWarning {
  #last = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(
    readonly log: Logger,
    readonly intervalMs = 1000,
  ) {}

  warn(message: string, ...details: unknown[]): void {
    const now = Date.now();
    if (now - this.#last < this.intervalMs) {
      this.#suppressed++;
      return;
    }
    const extra = this.#suppressed > 0 ? ` (and ${this.#suppressed} more like it since the last such line)` : "";
    this.#suppressed = 0;
    this.#last = now;
    this.log.warn(message + extra, ...details);
  }
}
