/** Something with a deadline: `expire` runs once if it is still pending when the deadline passes. */
export interface Expiring {
  /** Date.now() at which it expires. */
  readonly deadline: number;
  /** False once it settled otherwise: the deadline is then ignored. */
  readonly pending: boolean;
  expire(): void;
}

/** Settled entries tolerated before the list is compacted (beyond twice the pending ones). */
const COMPACT_SLACK = 64;

/**
 * One timer for many deadlines (every sendAndReceive of a node has one). A Node timer per
 * call costs a Timeout, a timer list created and dropped (one call waits at a time) and
 * two ref toggles; here a call costs a push, and settling costs nothing: settled entries
 * are dropped when the timer fires or when they outnumber the pending ones.
 *
 * The timer keeps the process alive while anything is pending, as a per-call timer would,
 * and only then: with nothing pending it is unref'd, not cleared, so the next call re-refs
 * it instead of creating one.
 */
export class Deadlines {
  #entries: Expiring[] = [];
  /** Entries added and not yet known to be settled (an upper bound of the pending ones). */
  #live = 0;
  #timer: NodeJS.Timeout | undefined;
  /** When the timer fires (Infinity: not armed). */
  #armedFor = Number.POSITIVE_INFINITY;
  #refed = false;

  /** Watches `entry` until its deadline; call `settled()` when it settles before. */
  add(entry: Expiring): void {
    this.#entries.push(entry);
    this.#live++;
    if (!this.#refed && this.#timer !== undefined) {
      this.#timer.ref();
      this.#refed = true;
    }
    if (entry.deadline < this.#armedFor) this.#arm(entry.deadline);
  }

  /** An entry settled before its deadline. */
  settled(): void {
    if (--this.#live > 0) {
      if (this.#entries.length > 2 * this.#live + COMPACT_SLACK) this.#compact();
      return;
    }
    this.#live = 0;
    // Nothing is pending: the timer must not hold the process open (a per-call timer would have been cleared).
    this.#entries = [];
    if (this.#refed && this.#timer !== undefined) {
      this.#timer.unref();
      this.#refed = false;
    }
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, at - Date.now()));
    this.#refed = true;
  }

  #compact(): void {
    this.#entries = this.#entries.filter((e) => e.pending);
    this.#live = this.#entries.length;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const due: Expiring[] = [];
    const keep: Expiring[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const e of this.#entries) {
      if (!e.pending) continue;
      if (e.deadline <= now) due.push(e);
      else {
        keep.push(e);
        if (e.deadline < next) next = e.deadline;
      }
    }
    this.#entries = keep;
    this.#live = keep.length;
    this.#refed = false;
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    // Expiring settles the entry, which calls settled(): the list is already without it.
    for (const e of due) {
      this.#live++;
      e.expire();
    }
  };
}
