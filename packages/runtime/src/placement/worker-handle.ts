import type { Address } from "../address/address.js";

/** A started worker or processor, whatever its placement, as the node tracks it. */
export interface WorkerHandle {
  readonly addresses: readonly Address[];
  readonly placement: "main" | "thread" | "pool";
  /** Stops accepting messages, runs `shutdown`, releases the worker's thread or slot. */
  stop(reason?: Error): Promise<void>;
}
