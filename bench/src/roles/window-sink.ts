// The counting sink of the one-way scenarios (hopwire-responder.ts), in a module of its own so
// that a node can also place it on a thread: this module must not start anything (a worker
// thread imports it).
import { performance } from "node:perf_hooks";
import { route, type Context, type Routed, type Worker } from "@hopwire/runtime";
import { busyBetween, busyMark, type BusyMark } from "../busy.js";
import { warmedUp } from "../warm-count.js";
import { CONTROL_MAX } from "./hopwire-workers.js";

/** A sink's measured window: data messages counted, over how long, and how busy the sink's thread was (0…1). */
export interface SinkWindow {
  messages: number;
  seconds: number;
  busy: number;
}

/** What a WindowSink on a thread sends its reporter: `"open"` when its window opens, then its SinkWindow. */
export type WindowReport = "open" | SinkWindow;

/**
 * Counts data messages over its own window (clock read every 16 messages): it opens warmupMs
 * after the first data message, once warmMessages have arrived (warm-count.ts), and lasts
 * durationMs. Placed "main", the node reads `done`; on a thread, it sends WindowReports to
 * the local address `reportTo`.
 */
export class WindowSink implements Worker {
  static readonly module = import.meta.url;
  count = 0;
  #first = -1;
  #start = -1;
  #m0 = 0;
  #finished = false;
  #busy0: BusyMark | undefined;
  readonly done: Promise<SinkWindow>;
  #resolve!: (r: SinkWindow) => void;

  constructor(
    private readonly warmupMs: number,
    private readonly durationMs: number,
    /** Messages that must have arrived too before the window opens (a relay thread takes ~1000 to get up to speed). */
    private readonly warmMessages: number,
    private readonly reportTo?: string,
  ) {
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  handleMessage(ctx: Context, msg: Routed): void {
    if (msg.payload.length <= CONTROL_MAX || this.#finished) return;
    const count = ++this.count;
    if ((count & 15) !== 1) return;
    const now = performance.now();
    if (this.#first < 0) this.#first = now;
    else if (this.#start < 0) {
      if (warmedUp(now, this.#first, this.warmupMs, count, this.warmMessages)) {
        this.#start = now;
        this.#m0 = count;
        this.#busy0 = busyMark();
        this.#report(ctx, "open");
      }
    } else if (now >= this.#start + this.durationMs) {
      this.#finished = true;
      const window = { messages: count - this.#m0, seconds: (now - this.#start) / 1e3, busy: busyBetween(this.#busy0!, busyMark()) };
      this.#resolve(window);
      this.#report(ctx, window);
    }
  }

  #report(ctx: Context, report: WindowReport): void {
    if (this.reportTo !== undefined) void ctx.send(route(this.reportTo), report).catch(() => {});
  }
}
