/**
 * How far the streams of one inlet or outlet may grow their windows beyond `windowBytes`,
 * all together: a stream grows only while the budget has room, and gives its growth back
 * when it ends. So a client that drains fast (its stream grows) and then stops reading can
 * make the node hold at most the budget beyond the streams' base windows, whatever the
 * number of streams.
 */
export class WindowGrowth {
  #left: number;

  constructor(readonly budgetBytes: number) {
    this.#left = budgetBytes;
  }

  /** Bytes of growth still available. */
  get left(): number {
    return this.#left;
  }

  /** Takes `bytes` of growth if the budget has them; false (and nothing taken) if not. */
  take(bytes: number): boolean {
    if (bytes > this.#left) return false;
    this.#left -= bytes;
    return true;
  }

  /** Gives back growth a stream took (it ended). */
  give(bytes: number): void {
    this.#left = Math.min(this.budgetBytes, this.#left + bytes);
  }
}
