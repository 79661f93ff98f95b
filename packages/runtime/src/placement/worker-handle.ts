import type { Address } from "../address/address.js";

/** A started worker or processor, whatever its placement, as the node tracks it. */
export interface WorkerHandle {
  readonly addresses: readonly Address[];
  readonly placement: "main" | "thread" | "pool";
  /**
   * Stops accepting messages, runs `shutdown`, releases the worker's thread or slot.
   * `stopBegan`: when the node's stop reached its workers (`Date.now()`), for a stop that is
   * part of it; the handler in progress then counts against `shutdownTimeout` from then on
   * (stopsWithin).
   */
  stop(reason?: Error, stopBegan?: number): Promise<void>;
}
