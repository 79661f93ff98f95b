import type { ThreadSettings } from "./protocol.js";

/** The worker a pool task is for: enough for any slot to make its own instance. */
export interface PoolWorkerSpec {
  /** Unique per started pool worker (a restarted worker gets a fresh instance). */
  id: string;
  module: string;
  name: string;
  args: Uint8Array;
  address: string;
  settings: ThreadSettings;
}

/**
 * A task of the node's pool. The result is a transferred batch of frames (or null): the
 * envelopes the worker sent (FRAME_ENVELOPE, from its address) and operations
 * (`addConsumer`, `handlerError`, `loadFailed`) in the order they happened.
 */
export type PoolTask =
  /** Make (or find) this slot's instance: constructor and initialize. */
  | { t: "load"; spec: PoolWorkerSpec }
  /** Handle batches of envelopes, in order. */
  | { t: "run"; spec: PoolWorkerSpec; batches: ArrayBuffer[]; lanes?: number[] }
  /** Run shutdown on this slot's instance (if any) and forget it. */
  | { t: "shutdown"; spec: PoolWorkerSpec };
