import type { Address } from "../address/address.js";
import type { Context } from "../context/context.js";
import type { LocalMessage } from "../message/local-message.js";
import { Routed } from "../message/routed.js";
import { Fifo } from "../util/fifo.js";
import type { Processor, Worker } from "../worker/worker.js";
import { deferred } from "../util/deferred.js";

/**
 * Called when a worker's own code throws: `what` is "handleMessage", "process" or "shutdown";
 * for "handleMessage", the message it was handling.
 */
export type ErrorReporter = (what: string, error: unknown, message?: LocalMessage) => void;

/**
 * The key of the first hop of `message`'s return route: where its sender waits for a reply.
 * When that is a request of this node's (a sendAndReceive on the main thread), the node fails
 * it at once with the handler's error instead of letting it time out (see NodeCore).
 */
export function replyKeyOf(message: LocalMessage | undefined): string | undefined {
  return message?.returnRoute.at(0)?.key;
}

/**
 * Called after each message was handled (or dropped by a stop), with whether the queue is
 * now empty: the mailbox's bound counts it as consumed.
 */
export type ConsumedReporter = (message: LocalMessage, idle: boolean) => void;

/**
 * Runs a worker wherever it lives (main thread or its own thread): a FIFO queue handled one
 * message at a time. A handler that throws is reported and the worker keeps running.
 */
export class WorkerRunner {
  readonly #queue = new Fifo<LocalMessage>();
  /** True from the first queued message until the queue is empty again (an async handler's wait included). */
  #draining = false;
  #ready = false;
  #stopped = false;
  /** Settles stop()'s wait once the drain in progress ends. */
  #onIdle: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  /** When the handler whose promise the loop waits for began (`Date.now()`); undefined when none. */
  #pendingSince: number | undefined;
  /** Resolved once a stop found no handler in progress (or waited for it): `shutdown` runs next. */
  readonly #settled = deferred<void>();

  constructor(
    readonly worker: Worker,
    readonly context: Context,
    /** The address messages are delivered to (the worker's primary address). */
    readonly destination: Address,
    readonly report: ErrorReporter,
    readonly consumed: ConsumedReporter = () => {},
  ) {}

  /** Runs `initialize`; messages delivered meanwhile wait. Throws what `initialize` threw. */
  async initialize(): Promise<void> {
    await this.worker.initialize?.(this.context);
    this.#ready = true;
    this.#schedule();
  }

  deliver(message: LocalMessage): void {
    if (this.#stopped) return;
    this.#queue.push(message);
    this.#schedule();
  }

  /** Starts draining on a microtask: never inside the deliverer's call (a handler that sends to itself must not recurse). */
  #schedule(): void {
    if (this.#draining || !this.#ready || this.#queue.length === 0) return;
    this.#draining = true;
    queueMicrotask(this.#drain);
  }

  /**
   * Handles queued messages one at a time, in order. Synchronous handlers run in one loop with
   * no promise of ours per message (a round trip's echo cost three before); a handler that
   * returns a promise suspends the loop until it settles.
   */
  readonly #drain = (): void => {
    const queue = this.#queue;
    while (queue.length > 0 && !this.#stopped) {
      const message = queue.shift()!;
      let pending: void | Promise<void> = undefined;
      try {
        pending = this.worker.handleMessage(this.context, new Routed(message, this.destination));
      } catch (error) {
        this.report("handleMessage", error, message);
      }
      if (pending) {
        this.#pendingSince = Date.now();
        // Closures passed as arguments, not named ones: the bundle keeps function names
        // (keepNames), which costs a named closure a defineProperty each time it is made.
        Promise.resolve(pending).then(
          () => this.#resume(message),
          (error: unknown) => {
            this.report("handleMessage", error, message);
            this.#resume(message);
          },
        );
        return;
      }
      this.consumed(message, queue.length === 0);
    }
    this.#draining = false;
    const onIdle = this.#onIdle;
    this.#onIdle = undefined;
    onIdle?.();
  };

  /** After a handler's promise settled: its message is consumed, and the loop goes on. */
  #resume(message: LocalMessage): void {
    this.#pendingSince = undefined;
    this.consumed(message, this.#queue.length === 0);
    this.#drain();
  }

  /** When the handler in progress began (`Date.now()`), if one is (its promise not settled yet). */
  get busySince(): number | undefined {
    return this.#pendingSince;
  }

  /** After `stop()`: resolves once no handler is in progress (its `shutdown` runs next). */
  get settled(): Promise<void> {
    return this.#settled.promise;
  }

  /** Stops taking messages, waits for the one being handled, drops the rest, runs `shutdown`. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    // A handler that called stop() from its synchronous part is still on the stack: its
    // drain ends (after its promise, if it returned one) and says so.
    if (this.#draining) await new Promise<void>((resolve) => (this.#onIdle = resolve));
    this.#settled.resolve();
    for (const message of this.#queue.takeAll()) this.consumed(message, true);
    try {
      await this.worker.shutdown?.(this.context);
    } catch (error) {
      this.report("shutdown", error);
    }
  }
}

/**
 * Runs a processor's loop wherever it lives: `process` is awaited call after call, with a
 * turn of the event loop in between (so a busy processor cannot starve the thread's I/O and
 * control messages), until it returns false or the processor stops.
 */
export class ProcessorRunner {
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;
  /** When the `process` call in progress began (`Date.now()`); undefined between calls. */
  #callSince: number | undefined;
  /** Resolved once a stop saw the loop end (`shutdown` runs next). */
  readonly #settled = deferred<void>();

  constructor(
    readonly processor: Processor,
    readonly context: Context,
    readonly report: ErrorReporter,
    /** Called when `process` returned false: the host should stop the processor. */
    readonly onFinished: () => void,
  ) {}

  initialize(): Promise<void> | void {
    return this.processor.initialize?.(this.context);
  }

  /** Starts the loop (after `initialize`). */
  run(): void {
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let more = false;
      this.#callSince = Date.now();
      try {
        more = await this.processor.process(this.context);
      } catch (error) {
        this.report("process", error);
        more = true;
      }
      this.#callSince = undefined;
      if (!more) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (!this.#stopped) this.onFinished();
  }

  /** When the `process` call in progress began (`Date.now()`), if one is. */
  get busySince(): number | undefined {
    return this.#callSince;
  }

  /** After `stop()`: resolves once no `process` call is in progress (its `shutdown` runs next). */
  get settled(): Promise<void> {
    return this.#settled.promise;
  }

  /** Ends the loop, waits for the `process` call in progress, runs `shutdown`. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    this.#settled.resolve();
    try {
      await this.processor.shutdown?.(this.context);
    } catch (error) {
      this.report("shutdown", error);
    }
  }
}
