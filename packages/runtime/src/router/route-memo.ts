import { LOCAL, type Address } from "../address/address.js";
import type { LocalMessage } from "../message/local-message.js";
import { deliverTo, type Mailbox } from "./mailbox.js";
import type { Router } from "./router.js";

/**
 * Next hops a memo remembers besides the last one. A sender that alternates (round-robin
 * over many channels, a connection carrying the records of many channels) would otherwise
 * miss on every message; past this many, the memo starts over (bounded memory).
 */
const MAX_REMEMBERED = 1024;

/**
 * One sender's memory of where its recent messages went. A stream's messages mostly share
 * their next hop (the same Address object: a connection's decoder hands back the same
 * routes for a repeated head, a relay rewrites each route once, a sender reuses its
 * message), and while the router's epoch stays the same, routing one of them again would
 * reach the same verdict: the same mailbox, the same flow control answer. Such a message
 * goes straight to that mailbox; anything else goes through `Router.route`, checks and
 * errors included. The last next hop is checked first, as the same object or as an equal
 * local address (the router decides by key, and requests with reply addresses of their own
 * come with freshly decoded routes whose first hop is still the same); other recent ones
 * (routed at least twice) are kept in a map by Address object, all of them dropped when the
 * epoch changes. A short-lived address (a reply address: Router.isShortLived) is never kept:
 * the router leaves the epoch as it is when one goes (Router.epoch), so a memo's sender key
 * is never one (Mailbox.shortLived, Router.register1).
 */
export class RouteMemo {
  #next: Address | undefined;
  /** #next's value (its key: only local hops are kept), for an equal hop in another object; undefined with no last hop. */
  #nextValue: string | undefined;
  #mailbox: Mailbox | undefined;
  #epoch = -1;
  /** Made when a second next hop is routed twice: a memo whose messages all take one hop (an idle channel's) never needs it. */
  #recent: Map<Address, Mailbox> | undefined;
  #recentEpoch = -1;
  /**
   * Next hops routed once: a hop joins #recent on its second routing, so that one-off hops
   * (every sendAndReceive's reply address) are not kept alive, nor fill the map. Weak: a
   * hop seen once and never again goes with its Address.
   */
  #seenOnce: WeakSet<Address> | undefined;
  /**
   * Hops added to #seenOnce since it was made: past four times `maxRemembered` it is made anew.
   * A weak set's table keeps the capacity its busiest moment gave it after its entries die, and a
   * peer chooses how many fresh hops a channel or connection routes (every head it sends decodes
   * to new Address objects): ≈ 2,400 of them left a channel end's memo ≈ 65 KiB of table.
   */
  #seenAdds = 0;
  /** The one next hop routed so far, while there has been only one (then #seenOnce takes over). */
  #onlyHop: Address | undefined;

  constructor(
    readonly router: Router,
    /** The address key the messages are routed as (undefined: not restricted). */
    readonly senderKey: string | undefined,
    /**
     * Next hops it remembers besides the last (1,024 by default: a connection carries many
     * channels). A secure channel end's messages go to a few workers: it remembers 16, so that
     * the hops its peer's heads decode to cannot pin ≈ 150 KiB per channel (session 56).
     */
    readonly maxRemembered = MAX_REMEMBERED,
  ) {}

  /**
   * As `router.route(message, senderKey, lent)`: delivers, returns the mailbox, throws its
   * errors. With `lent`, a mailbox that has `deliverLent` takes it that way (see Router's `deliveredLent`).
   */
  route(message: LocalMessage, lent = false): Mailbox | undefined {
    return this.#deliver(message, lent, true);
  }

  /** As `route`, with `Router.routeOrDrop`'s rule: what the router refuses a producer's message is dropped, undefined returned. */
  routeOrDrop(message: LocalMessage, lent = false): Mailbox | undefined {
    return this.#deliver(message, lent, false);
  }

  #deliver(message: LocalMessage, lent: boolean, throws: boolean): Mailbox | undefined {
    const next = message.onwardRoute.at(0);
    const epoch = this.router.epoch;
    // Kept this small so that it inlines into the hot paths that call it; the rest is #routeAgain.
    if (epoch === this.#epoch && this.#isLast(next)) {
      const mailbox = this.#mailbox!;
      deliverTo(mailbox, message, this.senderKey, lent);
      return mailbox;
    }
    return this.#routeAgain(message, next, epoch, lent, throws);
  }

  /**
   * Whether `next` is the last hop kept. With no last hop (#next undefined, as an empty
   * route's next is), the epoch is spoilt (#forgetLast), so the caller's check fails first.
   */
  #isLast(next: Address | undefined): boolean {
    return next === this.#next || (next !== undefined && next.type === LOCAL && next.value === this.#nextValue);
  }

  /**
   * As `route`, unless the next hop's mailbox is full and can say when it has room (`onRoom`):
   * then nothing is delivered and false is returned, for the sender to wait. One look-up for
   * both questions: a sender that asked first and routed after paid for two.
   */
  routeUnlessFull(message: LocalMessage): boolean {
    const next = message.onwardRoute.at(0);
    const epoch = this.router.epoch;
    if (epoch === this.#epoch && this.#isLast(next)) {
      const mailbox = this.#mailbox!;
      if (mailbox.isFull === true && mailbox.onRoom !== undefined) return false;
      mailbox.deliver(message, this.senderKey);
      return true;
    }
    // An empty route throws here, as routing it would.
    const hop = message.onwardRoute.next();
    const known = this.#peekRecent(hop, epoch) ?? this.router.mailboxOf(hop);
    if (known?.isFull === true && known.onRoom !== undefined) return false;
    this.#routeAgain(message, hop, epoch, false, true);
    return true;
  }

  /** No last hop (the epoch is spoilt as well, so that no fast path can match). */
  #forgetLast(): void {
    this.#next = undefined;
    this.#nextValue = undefined;
    this.#mailbox = undefined;
    this.#epoch = -1;
  }

  /** A next hop other than the last one: from the recent ones, or through the router. */
  #routeAgain(message: LocalMessage, next: Address | undefined, epoch: number, lent: boolean, throws: boolean): Mailbox | undefined {
    const known = next !== undefined && epoch === this.#recentEpoch ? this.#recent?.get(next) : undefined;
    if (known !== undefined) {
      deliverTo(known, message, this.senderKey, lent);
      this.#keepLast(next!, known, epoch);
      return known;
    }
    // The epoch as it was before routing: if routing changed something, the next message takes this path once more.
    const mailbox = throws ? this.router.route(message, this.senderKey, lent) : this.router.routeOrDrop(message, this.senderKey, lent);
    // Only local hops: a transport's own routing (a dial, a reconnect) is not the router's to keep.
    if (mailbox === undefined || !next!.isLocal) this.#forgetLast();
    else if (this.#keepable(next!.key, mailbox)) this.#remember(next!, mailbox, epoch);
    return mailbox;
  }

  /**
   * Whether the verdict that `key` goes to `mailbox` may be kept: not for a reply address (it
   * goes without a new epoch: Router.isShortLived), and only if the delivery left it where it
   * was (a delivery that unregistered a short-lived key took its mark with it).
   */
  #keepable(key: string, mailbox: Mailbox): boolean {
    return this.router.localMailbox(key) === mailbox && !this.router.isShortLived(key, mailbox);
  }

  #keepLast(next: Address, mailbox: Mailbox, epoch: number): void {
    this.#next = next;
    this.#nextValue = next.value;
    this.#mailbox = mailbox;
    this.#epoch = epoch;
  }

  /**
   * The mailbox a message to `next` would go to now, if this memo knows it, it copies lent
   * bytes before returning (Mailbox.copiesOnDeliver) and it has room; else undefined. A
   * sender may lend such a mailbox bytes it does not own: hand them to its `deliverBytes`
   * when it has one (a connection's and a channel's copy only there), else route a message
   * holding them (the same mailbox `route` would reach: a thread's or a pool's `deliver` copies).
   */
  copyingMailbox(next: Address | undefined): Mailbox | undefined {
    // An empty route has no next hop (#next is undefined too after a non-local one, but its epoch is spoilt: #forgetLast).
    if (next === undefined) return undefined;
    const mailbox = this.peek(next);
    return mailbox !== undefined && mailbox.copiesOnDeliver === true && mailbox.isFull !== true ? mailbox : undefined;
  }

  /** The mailbox a message to `next` would go to now, if this memo knows it (else undefined: ask the router). */
  peek(next: Address): Mailbox | undefined {
    const epoch = this.router.epoch;
    if (epoch === this.#epoch && this.#isLast(next)) return this.#mailbox;
    return this.#peekRecent(next, epoch);
  }

  #peekRecent(next: Address, epoch: number): Mailbox | undefined {
    return epoch === this.#recentEpoch ? this.#recent?.get(next) : undefined;
  }

  #remember(next: Address, mailbox: Mailbox, epoch: number): void {
    this.#keepLast(next, mailbox, epoch);
    if (this.#seenOnce === undefined) {
      // One hop so far (an idle channel's memo routes to its peer only): #next is all the
      // memory it needs. A second hop brings the set, with the first one in it as seen once.
      if (this.#onlyHop === undefined || this.#onlyHop === next) {
        this.#onlyHop = next;
        return;
      }
      this.#seenOnce = new WeakSet([this.#onlyHop]);
      this.#onlyHop = undefined;
    }
    const seenOnce = this.#seenOnce;
    if (!seenOnce.has(next)) {
      if (++this.#seenAdds > 4 * this.maxRemembered) {
        this.#seenOnce = new WeakSet([next]);
        this.#seenAdds = 1;
      } else seenOnce.add(next);
      return;
    }
    const recent = (this.#recent ??= new Map());
    if (epoch !== this.#recentEpoch || recent.size >= this.maxRemembered) {
      recent.clear();
      this.#recentEpoch = epoch;
    }
    recent.set(next, mailbox);
  }
}
