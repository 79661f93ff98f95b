// The measured window of the scale/ one-way runs (scale/channels and the three it is read
// against or beside): in a full run the steady warm-up of the other throughput scenarios
// (windowed(): at least 1 s, and 512 MiB of their 1 KiB messages or the count's cap, 4 s),
// then --duration. Until session 51 these windows opened --warmup (0.2 s) after the first
// message, mid-ramp: at n = 1,000, scale/channels read 28.5 k msg/s there against 73.8 k
// after 4 s, and plain TCP 914 k against 1.88 M (docs/performance-log.md, "Session 51").
import type { RunParams } from "../../scenario.js";
import { warmCapMs } from "../../warm-count.js";
import { windowed } from "../tcp/hopwire-topology.js";
import { SCALE_SIZE } from "../../roles/scale-common.js";

/** What a scale/ sink's MessageWindow is given. */
export interface ScaleWindow {
  warmupMs: number;
  warmMessages: number;
  durationMs: number;
}

/** The window of a repetition with these parameters (check/warm-*'s warmScale included, through windowed()). */
export function scaleWindow(p: RunParams): ScaleWindow {
  const w = windowed({ ...p, size: SCALE_SIZE }, 1, { steady: true });
  return { warmupMs: w.warmupMs, warmMessages: w.warmMessages ?? 0, durationMs: w.durationMs };
}

/** A repetition's timeout: opening `count` channels (or connections), the warm-up up to its cap, the window, and slack. */
export const scaleTimeoutMs = (w: ScaleWindow, count: number): number => warmCapMs(w.warmupMs) + w.durationMs + 15_000 + count * 10;
