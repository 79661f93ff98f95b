import { checkOptionKeys, checkTimeoutOption, InvalidOptionError, optionKeys } from "@hopwire/runtime";

/** How a RemoteRelay waits between attempts to reach its relay node. */
export interface BackoffOptions {
  /** The first wait, in ms (default 250). */
  initialMs?: number;
  /** The longest wait, in ms (default 10 000). */
  maxMs?: number;
}

/** Default first wait between reconnection attempts, in ms. */
export const DEFAULT_BACKOFF_INITIAL_MS = 250;
/** Default longest wait between reconnection attempts, in ms. */
export const DEFAULT_BACKOFF_MAX_MS = 10_000;

/**
 * The wait before attempt `attempt` (0 for the first retry): doubling from `initialMs` up
 * to `maxMs`, with "equal jitter" (half fixed, half random) so that many registrants cut
 * off at once do not all come back in the same instant.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
  const max = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Checks backoff options up front, naming the bad one. */
export function checkBackoff(options: BackoffOptions | undefined): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object") throw new InvalidOptionError("backoff must be an object such as { initialMs: 250 }", { option: "backoff" });
  checkOptionKeys(options, BACKOFF_OPTIONS, "backoff", "backoff");
  for (const key of ["initialMs", "maxMs"] as const) {
    // A timer's delay: Infinity (or past MAX_TIMEOUT_MS) would fire at once.
    if (options[key] !== undefined) checkTimeoutOption(options[key], `backoff.${key}`, "remote relay options", { infinity: false });
  }
}

const BACKOFF_OPTIONS = optionKeys<BackoffOptions>({ initialMs: true, maxMs: true });
