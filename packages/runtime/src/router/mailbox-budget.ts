/**
 * What a mailbox of a group may still hold once the group has spent its budget, at most:
 * enough for a channel whose peer reads to go on, a record's worth per turn, while the
 * budget is held by others.
 */
export const SPENT_BUDGET_ALLOWANCE = 16 * 1024;

/**
 * Bytes that a group of bounded mailboxes may hold together (MailboxBound's `budget`), on top
 * of each one's own limits. Within the budget it changes nothing. Once the group holds it all,
 * a mailbox is full while it holds its allowance (SPENT_BUDGET_ALLOWANCE, or an equal share of
 * the budget among the mailboxes holding anything, if less), and has room again under half
 * that, or once the group is back under half the budget. A mailbox holding nothing may always
 * take a message, so a newcomer is never refused for what the others hold (though `wouldFill`
 * says true for one of the allowance or more: a feeder that asks, as a drop send does, is
 * told it would fill it).
 *
 * Why: each of a node's secure channels may queue up to its own bound for a peer that
 * withholds credit, and a peer may open thousands of channels (16,384 per listener by
 * default, 4 MiB each: 64 GiB). With a budget shared by them, such peers pin at most the
 * budget and an allowance and a message per channel, while the channels that drain go on. An
 * equal share of the budget as the allowance was tried first: channels that filled one after
 * another kept what each took while the share shrank: up to the budget times the harmonic
 * number of the channels (3.4 with 16, ≈ 10 with 16,384).
 */
export class MailboxBudget {
  #bytes = 0;
  /** Mailboxes of the group holding anything now. */
  #holders = 0;
  /** Mailboxes full for the budget's sake: asked again once the group is back under half of it. */
  readonly #squeezed = new Set<() => void>();

  #maxBytes: number;

  constructor(
    maxBytes: number,
    /** Called each time the group comes to hold the whole budget (from under it). */
    readonly onSpent?: () => void,
  ) {
    this.#maxBytes = maxBytes;
  }

  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** A new budget: every mailbox it made full is asked again (a larger one may give them room now); one the group already holds is spent. */
  set maxBytes(value: number) {
    const wasSpent = this.#bytes >= this.#maxBytes;
    this.#maxBytes = value;
    if (!wasSpent && this.#bytes >= value) this.onSpent?.();
    if (this.#squeezed.size !== 0) this.#unsqueeze();
  }

  /** Bytes the group holds now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Mailboxes of the group holding anything now. */
  get holders(): number {
    return this.#holders;
  }

  /** A mailbox of the group went from holding `before` bytes to holding `after`. */
  changed(before: number, after: number): void {
    const was = this.#bytes;
    this.#bytes += after - before;
    if (before === 0 && after > 0) this.#holders++;
    else if (before > 0 && after === 0) this.#holders--;
    if (after > before && was < this.#maxBytes && this.#bytes >= this.#maxBytes) this.onSpent?.();
    if (this.#squeezed.size !== 0 && this.#bytes * 2 <= this.#maxBytes) this.#unsqueeze();
  }

  /** Whether a mailbox holding `own` bytes is full for the budget's sake: the group holds it all, and this one its allowance. */
  isOver(own: number): boolean {
    return this.#bytes >= this.#maxBytes && own >= this.#allowance(own);
  }

  /** Whether a mailbox holding `own` bytes that is full for the budget's sake has room again. */
  hasRoom(own: number): boolean {
    return this.#bytes * 2 <= this.#maxBytes || own * 2 <= this.#allowance(own);
  }

  /** Whether taking `bytes` more would make a mailbox holding `own` full for the budget's sake. */
  wouldFill(own: number, bytes: number): boolean {
    return this.#bytes + bytes >= this.#maxBytes && own + bytes >= this.#allowance(own);
  }

  /** `recheck` is called once the group is back under half the budget (unless `unsqueeze` said otherwise first). */
  squeeze(recheck: () => void): void {
    this.#squeezed.add(recheck);
  }

  /** `recheck` is no longer to be called (its mailbox has room again). */
  unsqueeze(recheck: () => void): void {
    this.#squeezed.delete(recheck);
  }

  /** SPENT_BUDGET_ALLOWANCE, or the budget over the mailboxes holding anything (one holding `own`, nothing, counted in) if less. */
  #allowance(own: number): number {
    return Math.min(SPENT_BUDGET_ALLOWANCE, this.#maxBytes / (this.#holders + (own === 0 ? 1 : 0)));
  }

  #unsqueeze(): void {
    const rechecks = [...this.#squeezed];
    this.#squeezed.clear();
    for (const recheck of rechecks) recheck();
  }
}
