/**
 * How many of something each key holds (connections per host, channels per connection,
 * names per identity, streams per channel): a key is forgotten when its count falls to 0,
 * so the map stays as small as what is held — a bound against a peer must not itself grow
 * with every peer that ever came.
 */
export class KeyCounts {
  readonly #counts = new Map<string, number>();

  /** How many `key` holds (0 for a key never added, or all removed). */
  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** One more for `key`. */
  add(key: string): void {
    this.#counts.set(key, this.get(key) + 1);
  }

  /** One fewer for `key`; at 0 the key is forgotten. */
  remove(key: string): void {
    const left = this.get(key) - 1;
    if (left > 0) this.#counts.set(key, left);
    else this.#counts.delete(key);
  }

  /** Forgets every key. */
  clear(): void {
    this.#counts.clear();
  }
}
