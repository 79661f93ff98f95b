import type { Address } from "../address/address.js";
import type { Context } from "../context/context.js";
import type { Logger } from "../logging/logger.js";
import type { Processor } from "../worker/worker.js";
import { stopWithin } from "./main-worker-host.js";
import { ProcessorRunner } from "./runners.js";
import type { WorkerHandle } from "./worker-handle.js";

/**
 * Runs a processor's loop on the main thread. Each `process` call is awaited; the loop
 * yields to the event loop between calls so a busy processor cannot starve I/O.
 */
export class MainProcessorHost implements WorkerHandle {
  readonly placement = "main" as const;
  readonly #runner: ProcessorRunner;
  #stopped = false;

  constructor(
    readonly addresses: readonly Address[],
    readonly processor: Processor,
    readonly context: Context,
    readonly log: Logger,
    readonly onStop: (host: MainProcessorHost, reason?: Error) => void,
    /** How long stop() waits for the `process` call in progress and `shutdown` (NodeOptions.shutdownTimeout). */
    readonly shutdownTimeout: number,
    /** Also told when the processor's own code throws (node events and warnings). */
    onError: (what: string, error: unknown) => void = () => {},
    /** Told when its stop outlasted `shutdownTimeout` (the node's "shutdown-timeout" warning), with what was done about it. */
    readonly onShutdownOverran: (outcome: string) => void = () => {},
  ) {
    this.#runner = new ProcessorRunner(
      processor,
      context,
      (what, error) => {
        this.log.warn(`processor ${this.addresses[0]!.toString()} failed in ${what}`, error);
        onError(what, error);
      },
      () => void this.stop(),
    );
  }

  async start(): Promise<void> {
    await this.#runner.initialize();
    this.#runner.run();
  }

  async stop(reason?: Error, stopBegan?: number): Promise<void> {
    const turn = Date.now();
    const busySince = this.#runner.busySince;
    if (!this.#stopped) {
      this.#stopped = true;
      this.onStop(this, reason);
    }
    await stopWithin(this.#runner, { timeout: this.shutdownTimeout, stopBegan, busySince, turn }, this.log, `processor ${this.addresses[0]!.toString()}`, this.onShutdownOverran);
  }
}
