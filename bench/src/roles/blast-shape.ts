// The Blaster's window (hopwire-workers.ts), apart so that the harness can name it in
// descriptions without loading a role or the runtime.
import { warmedUp } from "../warm-count.js";

/**
 * Ticks the Blaster keeps unanswered at most. Eight (the first version: 512 KiB in flight at
 * 16 KiB) made main->thread wait on tick answers — a thread round trip behind the sink's
 * batch — every few hundred KiB; check/window-runtime-* shows this depth does not.
 */
export const WINDOW_TICKS = 64;
/** Ticks answered before the measured window may open (on top of the warm-up time). */
export const WARM_TICKS = 64;

/** About 64 KiB of payload per tick (between 8 and 1024 messages) and WINDOW_TICKS × windowScale ticks unanswered at most. */
export function blastShape(size: number, windowScale = 1): { perTick: number; window: number } {
  return {
    perTick: Math.max(8, Math.min(1024, Math.floor((64 * 1024) / size))),
    window: Math.max(1, Math.round(WINDOW_TICKS * windowScale)),
  };
}

/** A full run's warm count (warm-count.ts) in ticks of `perTick` messages, WARM_TICKS at least. */
export const warmTicksFor = (warmMessages: number, perTick: number): number => Math.max(WARM_TICKS, Math.ceil(warmMessages / perTick));

/**
 * Whether the Blaster's measured window may open: its warm-up time passed and `warmTicks`
 * answered (or the warm count's cap passed), and never before min(WARM_TICKS, warmTicks).
 */
export function blastWarmedUp(now: number, t0: number, warmupMs: number, answered: number, warmTicks: number): boolean {
  return answered >= Math.min(WARM_TICKS, warmTicks) && warmedUp(now, t0, warmupMs, answered, warmTicks);
}
