import type { Address } from "../address/address.js";
import type { LocalMessage } from "../message/local-message.js";

/**
 * Where the router puts a message for a worker. `deliver` must be synchronous and keep
 * order: a main-thread queue, a batch bound for a thread's port, a pool task queue.
 * `senderKey` is the address key of the worker (or context) that routed the message, when
 * known: a pool mailbox keeps order per sender and runs different senders in parallel.
 */
export interface Mailbox {
  readonly address: Address;
  deliver(message: LocalMessage, senderKey?: string): void;
}
