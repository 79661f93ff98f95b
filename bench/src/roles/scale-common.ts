// Shared by the scale/ roles: the counting sink worker, a forced GC for memory readings,
// and the percentile helper of the handshake bursts. (No runBenchChild here: a module
// that a role imports, nothing more.)
import { performance } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Context, Routed, Worker } from "@hopwire/runtime";
import { warmedUp } from "../warm-count.js";

/** The payload of scale/channels: 1 KiB, as the brief's "1 KiB messages". */
export const SCALE_SIZE = 1024;

/**
 * The responder's worker the initiator of scale/channels asks (straight over TCP, no channel)
 * once half its channels are open: it reads memory, then replies, and the initiator opens the rest.
 */
export const HALFWAY_ADDRESS = "halfway";

/** How many channels are opened before the halfway reading: half, when there are at least two. */
export const halfOf = (count: number): number => (count >= 2 ? Math.floor(count / 2) : 0);

/** What the sink reports: delivered messages over its own window (as sink.ts). */
export interface WindowCount {
  messages: number;
  payloadBytes: number;
  seconds: number;
  /** Messages that arrived before the window opened (its warm-up), the first included. */
  before: number;
}

/**
 * Counts messages over a window, as sink.ts times itself: it opens warmupMs after the first
 * message, once `warmMessages` have arrived too (or the count's cap passed: warm-count.ts), and
 * lasts durationMs, read per message (performance.now() each, on both sides of a comparison).
 * `done` resolves with the window's figures; later messages are not counted.
 */
export class MessageWindow {
  readonly done: Promise<WindowCount>;
  /** Called once, before the first message is counted (the responder reads memory there). */
  onFirst: (() => void) | undefined;
  #resolve!: (r: WindowCount) => void;
  #messages = 0;
  #first = -1;
  #start = -1;
  #m0 = 0;
  #finished = false;

  constructor(
    private readonly size: number,
    private readonly warmupMs: number,
    private readonly durationMs: number,
    private readonly warmMessages = 0,
  ) {
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  count(): void {
    if (this.#finished) return;
    const now = performance.now();
    if (this.#first < 0) {
      this.onFirst?.();
      this.#first = performance.now();
    } else if (this.#start < 0) {
      if (warmedUp(now, this.#first, this.warmupMs, this.#messages, this.warmMessages)) {
        this.#start = now;
        this.#m0 = this.#messages;
      }
    } else if (now >= this.#start + this.durationMs) {
      this.#finished = true;
      const messages = this.#messages - this.#m0;
      this.#resolve({ messages, payloadBytes: messages * this.size, seconds: (now - this.#start) / 1e3, before: this.#m0 });
      return;
    }
    this.#messages++;
  }
}

/**
 * The sink of scale/channels, on the responder's main thread (placement "main"): a
 * MessageWindow over the messages it is handed. Running beside the router and the channels,
 * it adds no thread hop, and a busy main thread stops reading the socket, so TCP flow
 * control is the backpressure all the way back to the initiator.
 */
export class CountingSink extends MessageWindow implements Worker {
  handleMessage(_ctx: Context, _msg: Routed): void {
    this.count();
  }
}

let gcFn: (() => void) | undefined;
/** A full GC, so that two memory readings compare live memory (V8's flag, set at run time). */
export function forceGc(): void {
  if (!gcFn) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
}

/** Resident set now, after a full GC. */
export function settledRss(): number {
  forceGc();
  return process.memoryUsage.rss();
}

/**
 * Resident bytes of V8's young generation (its semi-spaces) now. V8 grows it, up to 2 x 16
 * MiB on Node 20, when a process allocates fast, and keeps it: a fixed cost of a busy
 * process, which per-channel figures at a given count would otherwise spread over the
 * channels. Physical, not `space_size`: the capacity reaches its maximum early (by 500 of
 * 1,000 channels) while its pages become resident as allocation first reaches them, so the
 * resident set went on growing by ≈ 15 KiB per channel opened after the capacity stopped.
 */
export function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.physical_space_size ?? 0;
}

/** Peak resident set since the process started (what the harness reports per process). */
export const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

/** p-th percentile (nearest rank) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error("percentile of no values");
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** What a handshake burst reports (Hopwire channels or TLS connections). */
export interface BurstResult {
  count: number;
  /** From the first start to the last completion. */
  totalMs: number;
  /** Start-to-completion of each handshake, ms: the spread of a burst. */
  p50Ms: number;
  p99Ms: number;
  failures: number;
  /** The first failure's message, if any. */
  firstError?: string;
}
