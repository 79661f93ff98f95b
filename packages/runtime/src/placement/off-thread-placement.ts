import type { Address } from "../address/address.js";
import type { WorkerClass } from "../worker/worker.js";
import type { WorkerHandle } from "./worker-handle.js";

/** Starts workers away from the main thread ("thread" or "pool") for one node. */
export interface OffThreadPlacement {
  start(request: {
    addresses: readonly Address[];
    workerClass: WorkerClass;
    args: readonly unknown[];
    kind: "worker" | "processor";
  }): Promise<WorkerHandle>;
  /** Terminates every thread (or the pool) this placement started. */
  close(): Promise<void>;
}
