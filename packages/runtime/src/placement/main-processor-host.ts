import type { Address } from "../address/address.js";
import type { Context } from "../context/context.js";
import type { Logger } from "../logging/logger.js";
import type { Processor } from "../worker/worker.js";
import type { WorkerHandle } from "./worker-handle.js";

/**
 * Runs a processor's loop on the main thread. Each `process` call is awaited; the loop
 * yields to the event loop between calls so a busy processor cannot starve I/O.
 */
export class MainProcessorHost implements WorkerHandle {
  readonly placement = "main" as const;
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();

  constructor(
    readonly addresses: readonly Address[],
    readonly processor: Processor,
    readonly context: Context,
    readonly log: Logger,
    readonly onStop: (host: MainProcessorHost, reason?: Error) => void,
  ) {}

  async start(): Promise<void> {
    await this.processor.initialize?.(this.context);
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let more = false;
      try {
        more = await this.processor.process(this.context);
      } catch (error) {
        this.log.warn(`processor ${this.addresses[0]!.toString()} failed`, error);
        more = true;
      }
      if (!more) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (!this.#stopped) void this.stop();
  }

  async stop(reason?: Error): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.onStop(this, reason);
    try {
      await this.processor.shutdown?.(this.context);
    } catch (error) {
      this.log.warn(`processor ${this.addresses[0]!.toString()} failed to shut down`, error);
    }
  }
}
