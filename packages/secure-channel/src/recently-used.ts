/**
 * A map that keeps its `capacity` most recently used entries: a Map iterates in insertion
 * order, so a use moves the entry to the end and the first entry is the one to drop.
 */
export class RecentlyUsed<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(readonly capacity: number) {}

  /** The value of `key` (now the most recently used), if kept. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  /** Whether `key` is kept (without counting as a use). */
  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Keeps `value` for `key` as the most recently used, dropping the least recently used past capacity. */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, value);
  }
}
