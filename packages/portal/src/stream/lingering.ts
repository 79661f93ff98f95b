import type { Address, Router } from "@hopwire/runtime";

/**
 * The finished streams of one inlet or outlet that still hold their address (see
 * PortalStream#unregister), at most `limit` of them: past it, the oldest leaves at once. A
 * peer that opens and closes streams as fast as it can thus leaves at most `limit` of them
 * behind, not every stream of the last few seconds (33k OPEN/s left 32k, ≈ 150 MB of heap).
 * One that leaves early is retired, not just unregistered, so that what its peer still
 * sends is refused as quietly as the router remembers it (its last few thousand retired addresses).
 */
export class Lingering {
  readonly #router: Router;
  readonly #limit: number;
  /** By address key, oldest first (a Map keeps insertion order). */
  readonly #entries = new Map<string, { address: Address; timer: NodeJS.Timeout }>();

  constructor(router: Router, limit: number) {
    this.#router = router;
    this.#limit = limit;
  }

  /** Finished streams holding their address now. */
  get size(): number {
    return this.#entries.size;
  }

  /** `address` leaves the router `ms` from now, or sooner if `limit` newer ones come first. */
  add(address: Address, ms: number): void {
    const key = address.key;
    const timer = setTimeout(() => {
      this.#entries.delete(key);
      this.#router.unregister([address]);
    }, ms).unref();
    this.#entries.set(key, { address, timer });
    if (this.#entries.size > this.#limit) this.#evictOldest();
  }

  #evictOldest(): void {
    const [key, oldest] = this.#entries.entries().next().value!;
    this.#entries.delete(key);
    clearTimeout(oldest.timer);
    this.#router.retire([oldest.address]);
  }
}
