// Hopwire workers the benchmark roles start. They are exported classes with
// `static module = import.meta.url`, so a node can load them on a thread or a pool slot
// (this file must not call runBenchChild: a worker thread imports it).
//
// Counting by ticks. A source sends its data messages, then a small "tick" (a msgpack
// number) to the same sink; the sink answers each tick along the tick's return route.
// Messages from one sender to one worker are handled in order on every placement
// (docs/architecture.md), so when tick n comes back, every data message sent before it
// has been handled by the sink. The source counts handled messages from the ticks, on its
// own clock, and keeps only a few ticks outstanding: that bounds the messages in flight
// (the runtime's mailboxes have no backpressure of their own).
import { performance } from "node:perf_hooks";
import { route, type Context, type Route, type Routed, type Worker } from "@hopwire/runtime";

/** Payloads this short are control messages (a msgpack number or a small map), never data. */
export const CONTROL_MAX = 48;

/** What the node asks a Blaster to do. */
export interface BlastPlan {
  /** The sink's address. */
  to: string;
  size: number;
  /** Data messages sent before each tick. */
  perTick: number;
  /** Ticks outstanding at most. */
  window: number;
  warmupMs: number;
  durationMs: number;
}

/** Handled messages over the measured window, on the source's clock. */
export interface BlastResult {
  messages: number;
  seconds: number;
}

const noop = (): void => {};

/**
 * The source of the runtime scenarios: on a BlastPlan it sends `perTick` messages and a
 * tick per turn of the event loop (so that the runtime's per-turn batches stay one tick
 * long and the sink works on one batch while the next is sent), as long as fewer than
 * `window` ticks are unanswered; then it waits for an answer. When the measured window is
 * over it answers the plan's sender with a BlastResult. Marks are placed from tick
 * answers, never from timers (a busy port starves the timers phase).
 */
export class Blaster implements Worker {
  static readonly module = import.meta.url;
  #plan: BlastPlan | undefined;
  #to: Route | undefined;
  #ctx: Context | undefined;
  #payload = new Uint8Array(0);
  #replyTo: Route | undefined;
  /** Data messages sent before tick i, by i % length. */
  readonly #sentBefore = new Float64Array(1024);
  #sent = 0;
  #ticks = 0;
  #answered = 0;
  #t0 = 0;
  #start: { count: number; t: number } | undefined;
  #done = false;
  /** A pump turn is scheduled (or running). */
  #pumping = false;

  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    const body = msg.body;
    if (typeof body === "number") return this.#onTick(ctx, body);
    const plan = body as BlastPlan;
    this.#plan = plan;
    this.#to = route(plan.to);
    this.#ctx = ctx;
    this.#payload = new Uint8Array(plan.size).fill(0x5a);
    this.#replyTo = msg.returnRoute;
    this.#t0 = performance.now();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#pumping || this.#done) return;
    this.#pumping = true;
    setImmediate(this.#pump);
  }

  /** One tick's worth of messages per turn, while the window has room. */
  readonly #pump = (): void => {
    this.#pumping = false;
    const plan = this.#plan!;
    if (this.#done || this.#ticks - this.#answered >= plan.window) return;
    const ctx = this.#ctx!;
    const to = this.#to!;
    for (let i = 0; i < plan.perTick; i++) void ctx.send(to, this.#payload).catch(noop);
    this.#sent += plan.perTick;
    this.#sentBefore[this.#ticks % this.#sentBefore.length] = this.#sent;
    void ctx.send(to, this.#ticks++).catch(noop);
    this.#schedule();
  };

  #onTick(ctx: Context, tick: number): void {
    if (this.#done) return;
    this.#answered = Math.max(this.#answered, tick + 1);
    const now = performance.now();
    const count = this.#sentBefore[tick % this.#sentBefore.length]!;
    const plan = this.#plan!;
    if (!this.#start) {
      if (now >= this.#t0 + plan.warmupMs) this.#start = { count, t: now };
    } else if (now >= this.#start.t + plan.durationMs) {
      this.#done = true;
      const result: BlastResult = { messages: count - this.#start.count, seconds: (now - this.#start.t) / 1e3 };
      void ctx.send(this.#replyTo!, result).catch(noop);
      return;
    }
    this.#schedule();
  }
}

/**
 * A sink that counts what it gets and answers ticks. Stateless as far as the figures go
 * (the tick carries everything), so the same class serves as a pool worker, whose
 * instances live per slot.
 */
export class TickSink implements Worker {
  static readonly module = import.meta.url;
  count = 0;

  handleMessage(ctx: Context, msg: Routed): void | Promise<void> {
    if (msg.payload.length > CONTROL_MAX) {
      this.count++;
      return;
    }
    return ctx.send(msg.returnRoute, msg.body);
  }
}

/** The seed's Echoer (examples/src/hello/echoer.ts) without its line per message. */
export class QuietEchoer implements Worker {
  static readonly module = import.meta.url;

  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    await ctx.send(msg.returnRoute, msg.body);
  }
}
