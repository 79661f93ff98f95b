import type { Address } from "../address/address.js";
import type { LocalMessage } from "../message/local-message.js";
import type { Mailbox } from "./mailbox.js";
import type { Router } from "./router.js";

/**
 * One sender's memory of where its last message went. A stream's messages mostly share
 * their next hop (the same Address object: a connection's decoder hands back the same
 * routes for a repeated head, a relay rewrites each route once, a sender reuses its
 * message), and while the router's epoch stays the same, routing one of them again would
 * reach the same verdict: the same mailbox, the same flow control answer. Such a message
 * goes straight to that mailbox; anything else goes through `Router.route`, checks and
 * errors included.
 */
export class RouteMemo {
  #next: Address | undefined;
  #mailbox: Mailbox | undefined;
  #epoch = -1;

  constructor(
    readonly router: Router,
    /** The address key the messages are routed as (undefined: not restricted). */
    readonly senderKey: string | undefined,
  ) {}

  /** As `router.route(message, senderKey)`: delivers, returns the mailbox, throws its errors. */
  route(message: LocalMessage): Mailbox | undefined {
    const next = message.onwardRoute.at(0);
    const router = this.router;
    const epoch = router.epoch;
    if (next === this.#next && epoch === this.#epoch) {
      const mailbox = this.#mailbox!;
      mailbox.deliver(message, this.senderKey);
      return mailbox;
    }
    // The epoch as it was before routing: if routing changed something (a first send into a
    // producer makes the sender its consumer), the next message takes this path once more.
    const mailbox = router.route(message, this.senderKey);
    // Only local hops: a transport's own routing (a dial, a reconnect) is not the router's to keep.
    if (mailbox !== undefined && next!.isLocal) {
      this.#next = next;
      this.#mailbox = mailbox;
      this.#epoch = epoch;
    } else this.#next = undefined;
    return mailbox;
  }

  /** The mailbox a message to `next` would go to now, if this memo knows it (else undefined: ask the router). */
  peek(next: Address): Mailbox | undefined {
    return next === this.#next && this.router.epoch === this.#epoch ? this.#mailbox : undefined;
  }
}
