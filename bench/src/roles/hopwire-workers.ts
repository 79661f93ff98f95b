// Hopwire workers the benchmark roles start. They are exported classes with
// `static module = import.meta.url`, so a node can load them on a thread or a pool slot
// (this file must not call runBenchChild: a worker thread imports it).
//
// Counting by ticks. A source sends its data messages, then a small "tick" (a msgpack
// number) to the same sink; the sink answers each tick along the tick's return route.
// Messages from one sender to one worker are handled in order on every placement
// (docs/architecture.md), so when tick n comes back, every data message sent before it
// has been handled by the sink. The source counts handled messages from the ticks, on its
// own clock. The ticks are marks, not a stop-and-wait protocol: the window of unanswered
// ticks only bounds memory until the runtime's own backpressure (send resolving once the
// first hop has room) is there, and it is deep enough not to throttle the sender
// (check/window-* runs it at 1x and 2x and shows the figure does not move).
import { performance } from "node:perf_hooks";
import { threadId } from "node:worker_threads";
import { route, type Context, type Route, type Routed, type Worker } from "@hopwire/runtime";
import { blastWarmedUp, WARM_TICKS } from "./blast-shape.js";
import { SLOW_MS } from "./slow-consumer-shape.js";
import { busyBetween, busyMark, type BusyMark } from "../busy.js";
import { startProfileIfAsked, type RunningProfile } from "../proc/profile.js";

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
  /** Ticks answered before the measured window may open (default WARM_TICKS). */
  warmTicks?: number;
}

/** Handled messages over the measured window, on the source's clock. */
export interface BlastResult {
  messages: number;
  seconds: number;
  /** Event-loop utilisation of the source's and the sink's threads over the window (busy.ts). */
  busySource: number;
  busySink: number;
  /** Ids of the threads whose sink answered ticks in the window (a pool's slots that did work). */
  sinkThreads: number[];
}

/** A sink's answer to tick `t`: the tick, the sink thread's busy mark when it answered, and that thread's id. */
export type TickAnswer = [t: number, sink: BusyMark, thread: number];

const noop = (): void => {};
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The source of the runtime scenarios: on a BlastPlan it sends `perTick` messages and a
 * tick per turn of the event loop (the runtime coalesces a turn's sends into one batch per
 * thread), awaits the turn's last send (which, once the runtime has backpressure, resolves
 * only when the sink's mailbox has room), and goes on while fewer than `window` ticks are
 * unanswered. When the measured window is over it answers the plan's sender with a
 * BlastResult. Marks are placed from tick answers, never from timers (a busy port starves
 * the timers phase).
 */
export class Blaster implements Worker {
  static readonly module = import.meta.url;
  #plan: BlastPlan | undefined;
  #replyTo: Route | undefined;
  /** Data messages sent before tick i, by i % length. */
  #sentBefore = new Float64Array(0);
  #ticks = 0;
  #answered = 0;
  #t0 = 0;
  #start: { count: number; t: number; source: BusyMark; sink: BusyMark } | undefined;
  #done = false;
  readonly #sinkThreads = new Set<number>();
  /** Wakes the pump when a tick comes back and the window was full. */
  #wake: (() => void) | undefined;
  /** Data messages handled so far, as of the last answered tick (a role on the same thread may read it). */
  handled = 0;
  /** Ticks answered so far. */
  get answered(): number {
    return this.#answered;
  }
  /** Threads whose sink answered ticks (all of them, warm-up included). */
  readonly sinkThreadsSeen = new Set<number>();

  /** Ends the pump at its next turn, without a BlastResult (a role that measures across several Blasters). */
  stop(): void {
    this.#done = true;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  handleMessage(ctx: Context, msg: Routed): void {
    const body = msg.body;
    if (Array.isArray(body)) return this.#onTick(ctx, body as TickAnswer);
    const plan = body as BlastPlan;
    this.#plan = plan;
    this.#sentBefore = new Float64Array(Math.max(1024, 2 * plan.window));
    this.#replyTo = msg.returnRoute;
    this.#t0 = performance.now();
    void this.#pump(ctx, plan);
  }

  /** One tick's worth of messages per turn, while the window has room. */
  async #pump(ctx: Context, plan: BlastPlan): Promise<void> {
    const to = route(plan.to);
    const payload = new Uint8Array(plan.size).fill(0x5a);
    let sent = 0;
    while (!this.#done) {
      if (this.#ticks - this.#answered >= plan.window) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      try {
        // trySend: no promise per message; one the hop refuses waits in send, in order.
        for (let i = 0; i < plan.perTick; i++) if (!ctx.trySend(to, payload)) void ctx.send(to, payload).catch(noop);
      } catch {
        return; // the node is stopping: the run is over
      }
      sent += plan.perTick;
      this.#sentBefore[this.#ticks % this.#sentBefore.length] = sent;
      await ctx.send(to, this.#ticks++).catch(noop);
      await nextTurn();
    }
  }

  #onTick(ctx: Context, [tick, sink, thread]: TickAnswer): void {
    if (this.#done) return;
    if (this.#start) this.#sinkThreads.add(thread);
    this.sinkThreadsSeen.add(thread);
    this.#answered = Math.max(this.#answered, tick + 1);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    const now = performance.now();
    const count = this.#sentBefore[tick % this.#sentBefore.length]!;
    this.handled = Math.max(this.handled, count);
    const plan = this.#plan!;
    if (!this.#start) {
      // Warm-up: by time and by traffic (a fresh thread needs a few windows to get up to speed, V8 a full run's warm count).
      if (blastWarmedUp(now, this.#t0, plan.warmupMs, this.#answered, plan.warmTicks ?? WARM_TICKS)) {
        this.#start = { count, t: now, source: busyMark(), sink };
      }
    } else if (now >= this.#start.t + plan.durationMs) {
      this.#done = true;
      const s = this.#start;
      const result: BlastResult = {
        messages: count - s.count,
        seconds: (now - s.t) / 1e3,
        busySource: busyBetween(s.source, busyMark()),
        busySink: busyBetween(s.sink, sink),
        sinkThreads: [...this.#sinkThreads],
      };
      void ctx.send(this.#replyTo!, result).catch(noop);
    }
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
    const answer: TickAnswer = [msg.body as number, busyMark(), threadId];
    return ctx.send(msg.returnRoute, answer);
  }
}

/** Rounds of CpuSink's hash per data message: ~0.1-0.3 ms of one core here, far above a message's routing cost. */
export const CPU_ROUNDS = 200_000;

/**
 * A stateless CPU-bound worker for the pool scaling scenario: for every data message it
 * hashes the payload CPU_ROUNDS times (plain JavaScript, so only the slot's own thread
 * works), and answers ticks like TickSink.
 */
export class CpuSink extends TickSink {
  static override readonly module = import.meta.url;
  /** Kept so the hash cannot be optimised away. */
  digest = 0;

  override handleMessage(ctx: Context, msg: Routed): void | Promise<void> {
    if (msg.payload.length > CONTROL_MAX) this.digest ^= spin(msg.payload, CPU_ROUNDS);
    return super.handleMessage(ctx, msg);
  }
}

/** FNV-1a over the bytes of `data`, `rounds` steps (cycling through the data). */
function spin(data: Uint8Array, rounds: number): number {
  let h = 0x811c9dc5;
  const n = data.length;
  for (let i = 0; i < rounds; i++) h = Math.imul(h ^ data[i % n]!, 0x01000193);
  return h;
}


/**
 * The slow consumer of backpressure/slow-consumer: handles one message per SLOW_MS (a
 * timer, so the thread is idle, not busy) and reports its running count to `args[0]` (a
 * "meter" on the node's main thread that the node samples; asking the worker instead would
 * queue behind its backlog).
 */
export class SlowWorker implements Worker {
  static readonly module = import.meta.url;
  #count = 0;
  readonly #meter: Route;

  constructor(meter: string) {
    this.#meter = route(meter);
  }

  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    if (msg.payload.length <= CONTROL_MAX) return;
    await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
    await ctx.send(this.#meter, ++this.#count);
  }
}

/** The seed's Echoer (examples/src/hello/echoer.ts) without its line per message. */
export class QuietEchoer implements Worker {
  static readonly module = import.meta.url;
  /** HOPWIRE_BENCH_ECHO_WINDOW="from,to": the messages (counted from 1) over which the echo's thread is profiled, if HOPWIRE_BENCH_PROFILE names "echo-thread". */
  readonly #window = profileWindow();
  #handled = 0;
  #profile: RunningProfile | undefined;

  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    if (this.#window !== undefined) this.#profileAt(++this.#handled, this.#window);
    await ctx.send(msg.returnRoute, msg.body);
  }

  #profileAt(handled: number, [from, to]: readonly [number, number]): void {
    if (handled === from) this.#profile = startProfileIfAsked("echo-thread");
    else if (handled === to) void this.#profile?.stop();
  }
}

function profileWindow(): readonly [number, number] | undefined {
  const window = process.env.HOPWIRE_BENCH_ECHO_WINDOW?.split(",").map(Number);
  return window?.length === 2 ? [window[0]!, window[1]!] : undefined;
}

/** What the initiator asks a ThreadStreamSender to do (tcp/one-hop-send-from-thread). */
export interface StreamOrder {
  /** The sink's route, as address strings. */
  to: string[];
  size: number;
  /** Sends per event-loop turn (~64 KiB of payload). */
  perTurn: number;
  /** A worker on the initiator's main thread that answers "go on?" with true until the run is over. */
  control: string;
}

/** How often a ThreadStreamSender asks whether to go on. */
const ASK_EVERY_MS = 50;

/**
 * The docs' streaming loop on a thread of its own: `ctx.trySend(to, payload)` (`await ctx.send` for
 * one it refuses) of a bytes body from one buffer, a turn at a time, nothing else (a send from a thread resolves once its
 * batch has room: the link's credit, which the main thread returns as the connection drains).
 * It asks its control every ASK_EVERY_MS whether to go on, and answers the order with the count.
 */
export class ThreadStreamSender implements Worker {
  static readonly module = import.meta.url;

  async handleMessage(ctx: Context, msg: Routed<StreamOrder>): Promise<void> {
    const { to, size, perTurn, control } = msg.body;
    const along = route(...to);
    const payload = new Uint8Array(size).fill(0xab);
    let sent = 0;
    let askAt = performance.now() + ASK_EVERY_MS;
    for (;;) {
      try {
        for (let k = 0; k < perTurn; k++, sent++) if (!ctx.trySend(along, payload)) await ctx.send(along, payload);
      } catch {
        break; // the path closed: the run is over
      }
      await new Promise((resolve) => setImmediate(resolve));
      if (performance.now() < askAt) continue;
      if (!(await ctx.sendAndReceive<boolean>(control, "go on?"))) break;
      askAt = performance.now() + ASK_EVERY_MS;
    }
    await ctx.send(msg.returnRoute, sent);
  }
}
