/**
 * A first-in first-out queue that keeps its array: a mailbox fills and empties every turn,
 * and an array that is spliced or reset when it empties is reallocated (and grown again) as
 * often, which a message stream pays for in scavenges. The array only grows, to the most
 * items ever queued at once; emptied slots are cleared so that nothing is kept alive.
 */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;
  #tail = 0;

  get length(): number {
    return this.#tail - this.#head;
  }

  push(item: T): void {
    const items = this.#items;
    if (this.#tail === items.length) {
      if (this.#head > 0 && this.#head * 2 >= items.length) this.#compact();
      else items.push(undefined);
    }
    items[this.#tail++] = item;
  }

  /** The oldest item, left in place; undefined when empty. */
  peek(): T | undefined {
    return this.#head === this.#tail ? undefined : this.#items[this.#head];
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.#head === this.#tail) return undefined;
    const items = this.#items;
    const item = items[this.#head];
    items[this.#head++] = undefined;
    if (this.#head === this.#tail) this.#head = this.#tail = 0;
    return item;
  }

  /** Removes and returns every item, oldest first. */
  takeAll(): T[] {
    const rest = this.#items.slice(this.#head, this.#tail) as T[];
    this.#items = [];
    this.#head = this.#tail = 0;
    return rest;
  }

  /** Moves the live items to the front of the array. */
  #compact(): void {
    const items = this.#items;
    const count = this.#tail - this.#head;
    items.copyWithin(0, this.#head, this.#tail);
    items.fill(undefined, count, this.#tail);
    this.#head = 0;
    this.#tail = count;
  }
}
