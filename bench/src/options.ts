// Parsing and validating CLI values. Every message names its option, and everything is
// checked before the first scenario starts: a typo must not surface after minutes of run.
import { InvalidArgumentError } from "commander";
import { MAX_FRAME } from "./net/frames.js";
import { PROVIDERS, type Provider } from "./scenario.js";

const list = (value: string): string[] => value.split(",").map((s) => s.trim()).filter(Boolean);

/** For repeatable comma-list options: `--x a,b --x c` → [a, b, c]. */
export const collect =
  <T>(parseOne: (s: string) => T) =>
  (value: string, previous: T[] | undefined): T[] => {
    const items = list(value);
    if (items.length === 0) throw new InvalidArgumentError("expected a comma-separated list");
    return [...(previous ?? []), ...items.map(parseOne)];
  };

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20 };

/** "64", "1k", "16KiB", "1MiB" → bytes (binary units: message sizes are powers of two). */
export function parseSize(s: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(s);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError(`"${s}" is not a size (e.g. 64, 1024, 16KiB)`);
  const bytes = Number(m[1]) * unit;
  if (bytes < 1 || bytes > MAX_FRAME) throw new InvalidArgumentError(`${s} is outside 1 B … 16 MiB (the maximum frame)`);
  return bytes;
}

export function parseCount(min: number, max: number) {
  return (s: string): number => {
    const n = Number(s);
    if (!/^\d+$/.test(s.trim()) || n < min || n > max) throw new InvalidArgumentError(`"${s}" must be an integer from ${min} to ${max}`);
    return n;
  };
}

export function parseSeconds(s: string): number {
  const n = Number(s);
  if (s.trim() === "" || !Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError(`"${s}" must be a number of seconds in (0, 3600]`);
  return n;
}

export function parseProvider(s: string): Provider {
  if (!(PROVIDERS as readonly string[]).includes(s)) throw new InvalidArgumentError(`"${s}" is not one of ${PROVIDERS.join(", ")}`);
  return s as Provider;
}

export interface Defaults {
  sizes: number[];
  cryptoThreads: number[];
  providers: Provider[];
  durationS: number;
  reps: number;
  minReps: number;
}

export const FULL: Defaults = { sizes: [64, 1024, 16384], cryptoThreads: [0, 1, 2], providers: ["node", "noble"], durationS: 1, reps: 5, minReps: 5 };
/** --quick: a smoke run of every scenario in well under a minute on 2 cores; its figures are not to be quoted. */
export const QUICK: Defaults = { sizes: [64, 16384], cryptoThreads: [0], providers: ["node"], durationS: 0.15, reps: 2, minReps: 2 };

/**
 * --smoke: one scenario per family (selection.ts smokePicks) with its baselines, one size,
 * one short repetition: proves every family still runs end to end and pairs with its
 * baselines, in seconds (most of it is starting child processes).
 */
export const SMOKE: Defaults = { sizes: [1024], cryptoThreads: [0], providers: ["node"], durationS: 0.05, reps: 1, minReps: 1 };

/** Warm-up discarded at the start of each repetition: a fifth of the duration, within [50 ms, 500 ms]. */
export const warmupFor = (durationS: number): number => Math.min(0.5, Math.max(0.05, durationS / 5));
