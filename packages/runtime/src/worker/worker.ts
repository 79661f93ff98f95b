import type { MailboxLimits } from "../router/mailbox-bound.js";
import type { AddressLike } from "../address/address.js";
import type { Context } from "../context/context.js";
import type { Routed } from "../message/routed.js";

/**
 * A worker: a stateful actor with one or more addresses. Messages to it are handled one at
 * a time, in order.
 */
export interface Worker<M = unknown> {
  /** Runs once before the first message (or process call). */
  initialize?(ctx: Context): void | Promise<void>;
  /** Handles one message; the next waits until the returned promise settles. */
  handleMessage(ctx: Context, message: Routed<M>): void | Promise<void>;
  /** Runs once when the worker is stopped or its node stops. */
  shutdown?(ctx: Context): void | Promise<void>;
}

/** A processor: a loop that runs `process` until it returns false or the processor stops. */
export interface Processor {
  /** Runs once before the first message (or process call). */
  initialize?(ctx: Context): void | Promise<void>;
  /** One step of the processor; return false to stop. */
  process(ctx: Context): boolean | Promise<boolean>;
  /** Runs once when the worker is stopped or its node stops. */
  shutdown?(ctx: Context): void | Promise<void>;
}

/**
 * A worker class that can be started off the main thread. The thread loads `module` (the
 * file that exports the class, usually `import.meta.url`) and finds the class by its name,
 * so the class must be exported from that module under its own name:
 *
 *   export class Echoer implements Worker {
 *     static readonly module = import.meta.url;
 *     async handleMessage(ctx: Context, msg: Routed<string>) { await ctx.send(msg.returnRoute, msg.body); }
 *   }
 */
export interface WorkerClass<W = Worker | Processor> {
  new (...args: any[]): W;
  readonly module?: string | URL;
  readonly name: string;
}

/**
 * Where a worker runs:
 * - "thread": its own worker_thread; state lives there (the default for worker classes);
 * - "pool": a slot of the node's shared piscina pool, for stateless workers;
 * - "main": the node's main thread, beside the router and the transports (explicit opt-in).
 */
export type Placement = "thread" | "pool" | "main";

/** Options of startWorker: placement (default "thread"), constructor arguments, aliases and mailbox bounds. */
export interface StartWorkerOptions {
  placement?: Placement;
  /** Constructor arguments (must be msgpack-encodable when the worker runs off the main thread). */
  args?: unknown[];
  /** Further addresses that also deliver to this worker. */
  aliases?: AddressLike[];
  /** How much may wait for this worker before its feeders wait (default: the node's `mailbox`). */
  mailbox?: MailboxLimits;
}

export function isWorkerClass(value: unknown): value is WorkerClass {
  return typeof value === "function";
}
