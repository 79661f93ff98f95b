import type { Address } from "../address/address.js";
import type { LocalMessage } from "../message/local-message.js";

/**
 * Where the router puts a message for a worker. `deliver` must be synchronous and keep
 * order: a main-thread queue, a batch bound for a thread's port, a pool task queue.
 */
export interface Mailbox {
  readonly address: Address;
  deliver(message: LocalMessage): void;
}
