import type { Address } from "../address/address.js";
import type { ResolvedMailboxLimits } from "../router/mailbox-bound.js";
import type { WorkerClass } from "../worker/worker.js";
import type { WorkerHandle } from "./worker-handle.js";

/** What a placement is asked to start: a class (found again by its `module` and name), its arguments, its addresses. */
export interface PlacementRequest {
  addresses: readonly Address[];
  workerClass: WorkerClass;
  args: readonly unknown[];
  kind: "worker" | "processor";
  /** The worker's mailbox bound. */
  mailbox: ResolvedMailboxLimits;
}

/** Starts workers away from the main thread ("thread" or "pool") for one node. */
export interface OffThreadPlacement {
  start(request: PlacementRequest): Promise<WorkerHandle>;
  /** Terminates every thread (or the pool) this placement started. */
  close(): Promise<void>;
}
