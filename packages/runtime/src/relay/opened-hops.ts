/** How long the Relay worker waits before it looks again for a next hop's flow it did not find (ms). */
export const FLOW_RETRY_MS = 100;

/** Previous hops remembered while their flows are not open yet: past this many, the oldest are forgotten. */
const MAX_WAITING = 1024;
/**
 * Previous hops remembered as open: past this many, the oldest is forgotten (it is opened
 * again, idempotently, if it speaks again). A relay node's previous hops are its accepted
 * connections, one new address each: unbounded, the set grew by one entry per connection.
 */
const MAX_OPENED = 4096;

/**
 * Which previous hops the Relay worker has opened the flow controls for. A hop counts as
 * open only once the next hop's flow was found: a next hop that is a reconnecting connection
 * is not a producer until its new socket is attached, and a relay that gave up on a previous
 * hop then would leave it unable to hear replies for good. Until then it is looked up again
 * at most every FLOW_RETRY_MS: from a worker thread a lookup is a round trip to the main
 * thread, and a next hop may never be a producer (a local worker: ten lookups a second).
 * (`startRelay`'s mailbox, on the main thread, asks the router whether the hop is there.)
 */
export class OpenedHops {
  readonly #opened = new Set<string>();
  /** Previous hops whose next-hop flow was missing, and when to look again (performance.now()). */
  readonly #retryAt = new Map<string, number>();

  /** Hops remembered as open (at most MAX_OPENED). */
  get openCount(): number {
    return this.#opened.size;
  }

  /** True if the flows for `key` still need opening and it is time to try (no clock read once they are open). */
  shouldTry(key: string): boolean {
    if (this.#opened.has(key)) return false;
    const at = this.#retryAt.get(key);
    return at === undefined || performance.now() >= at;
  }

  /** Records the outcome of a try: open for good, or to try again after FLOW_RETRY_MS. */
  tried(key: string, nextFlowFound: boolean): void {
    if (nextFlowFound) {
      if (this.#opened.size >= MAX_OPENED) this.#opened.delete(this.#opened.values().next().value!);
      this.#opened.add(key);
      this.#retryAt.delete(key);
      return;
    }
    if (this.#retryAt.size >= MAX_WAITING && !this.#retryAt.has(key)) {
      // Bounded: a relay fed from many previous hops at once forgets the oldest waits (they are looked up again at once).
      this.#retryAt.delete(this.#retryAt.keys().next().value!);
    }
    this.#retryAt.set(key, performance.now() + FLOW_RETRY_MS);
  }
}
