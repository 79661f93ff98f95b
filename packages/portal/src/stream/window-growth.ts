/**
 * How far the streams of one inlet or outlet may grow their windows beyond `windowBytes`,
 * all together: a stream grows only while the budget has room, and gives its growth back
 * when it ends. So a client that drains fast (its stream grows) and then stops reading can
 * make the node hold at most the budget beyond the streams' base windows, whatever the
 * number of streams.
 */
export class WindowGrowth {
  #left: number;

  /** With `parent`, growth is taken from both (an outlet's channel's share, within the outlet's budget). */
  constructor(
    readonly budgetBytes: number,
    readonly parent?: WindowGrowth,
  ) {
    this.#left = budgetBytes;
  }

  /** Bytes of growth taken now (and not given back). */
  get taken(): number {
    return this.budgetBytes - this.#left;
  }

  /** Bytes of growth still available. */
  get left(): number {
    return this.#left;
  }

  /** Takes `bytes` of growth if the budget has them; false (and nothing taken) if not. */
  take(bytes: number): boolean {
    if (bytes > this.#left) return false;
    if (this.parent !== undefined && !this.parent.take(bytes)) return false;
    this.#left -= bytes;
    return true;
  }

  /** Gives back growth a stream took (it ended). */
  give(bytes: number): void {
    const given = Math.min(bytes, this.budgetBytes - this.#left);
    this.#left += given;
    this.parent?.give(given);
  }
}
