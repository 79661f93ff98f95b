/**
 * Who waits for a full mailbox to have room (`Mailbox.onRoom`). Each waiter is called once,
 * on a microtask, never inside the call that made room: that call belongs to whoever
 * consumed, in the middle of its own work (an encryptor that took a record's messages and
 * has not sealed them; a writer inside a flush), and a waiter run there would feed it again
 * before it finished — what it fed could overtake what was being consumed.
 */
export class RoomWaiters {
  /** Made on the first wait: most mailboxes (every idle channel's encryptor) never fill. */
  #waiters: Set<() => void> | undefined;

  /**
   * Calls `callback` at the next `wake()` — or on a microtask now, when `full` is false.
   * Returns a function that cancels the call. The same callback given twice is called twice.
   */
  add(callback: () => void, full: boolean): () => void {
    if (!full) {
      queueMicrotask(callback);
      return noop;
    }
    const entry = (): void => callback();
    const waiters = (this.#waiters ??= new Set());
    waiters.add(entry);
    return () => waiters.delete(entry);
  }

  /** There is room (or the mailbox went away): every waiter so far is called, on a microtask. */
  wake(): void {
    if (this.#waiters === undefined || this.#waiters.size === 0) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    queueMicrotask(() => {
      for (const waiter of waiters) waiter();
    });
  }
}

const noop = (): void => {};
