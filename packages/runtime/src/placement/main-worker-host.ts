import type { Address } from "../address/address.js";
import type { Context } from "../context/context.js";
import { WorkerHandlerError } from "../errors/errors.js";
import type { Logger } from "../logging/logger.js";
import type { LocalMessage } from "../message/local-message.js";
import { Routed } from "../message/routed.js";
import type { Mailbox } from "../router/mailbox.js";
import type { Worker } from "../worker/worker.js";
import type { WorkerHandle } from "./worker-handle.js";

/**
 * Runs a worker on the node's main thread: a FIFO queue drained one message at a time.
 * A handler that throws is logged; the worker keeps running.
 */
export class MainWorkerHost implements Mailbox, WorkerHandle {
  readonly placement = "main" as const;
  readonly #queue: LocalMessage[] = [];
  #head = 0;
  #draining = false;
  #ready = false;
  #stopped = false;
  #idle: Promise<void> = Promise.resolve();

  constructor(
    readonly addresses: readonly Address[],
    readonly worker: Worker,
    readonly context: Context,
    readonly log: Logger,
    readonly onStop: (host: MainWorkerHost, reason?: Error) => void,
  ) {}

  get address(): Address {
    return this.addresses[0]!;
  }

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

  #schedule(): void {
    if (this.#draining || !this.#ready || this.#head >= this.#queue.length) return;
    this.#draining = true;
    this.#idle = this.#drain();
  }

  async #drain(): Promise<void> {
    const queue = this.#queue;
    while (this.#head < queue.length && !this.#stopped) {
      const message = queue[this.#head]!;
      queue[this.#head++] = undefined as unknown as LocalMessage;
      try {
        const pending = this.worker.handleMessage(this.context, new Routed(message, this.address));
        if (pending) await pending;
      } catch (error) {
        this.log.warn(`worker ${this.address.toString()} failed to handle a message`, new WorkerHandlerError(undefined, { cause: error }), error);
      }
      if (this.#head > 1024 && this.#head * 2 > queue.length) {
        queue.splice(0, this.#head);
        this.#head = 0;
      }
    }
    this.#draining = false;
  }

  async stop(reason?: Error): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.onStop(this, reason);
    await this.#idle;
    this.#queue.length = 0;
    this.#head = 0;
    try {
      await this.worker.shutdown?.(this.context);
    } catch (error) {
      this.log.warn(`worker ${this.address.toString()} failed to shut down`, error);
    }
  }
}
