import { MAX_TIMEOUT_MS } from "@hopwire/runtime";

/** How overdue the Node timer must be to count as lost (see #lost). */
const LOST_TIMER_MS = 1000;

/** What LivenessTimers keeps: a channel end's liveness timer (channel-end.ts). */
export interface LivenessHolder {
  /** Where the holder's timer is in the heap, -1 while it has none: LivenessTimers keeps it. */
  livenessSlot: number;
  /** The timer is due (`due`, performance.now()): called once, after which it has none. */
  livenessDue(due: number): void;
}

/**
 * The liveness timers of this thread's channel ends, on one Node timer: a binary heap of the
 * ends by due time, and a timer for the earliest. A Node timer per end (its Timeout, the two
 * numbers it boxes, and the closure it calls) was ≈ 0.2 KiB of every idle channel, and it
 * made a new Timeout each time it re-armed; here an end costs a slot in two arrays, its due
 * time unboxed in an array of doubles. Like the end's own timer before, the Node timer is
 * unref'd: open channels do not keep a process alive.
 */
class LivenessTimers {
  /** The heap: the ends, and each one's due time at the same index (the earliest at 0). */
  readonly #holders: LivenessHolder[] = [];
  readonly #dues: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** When the Node timer fires (performance.now()), Infinity without one. */
  #timerDue = Number.POSITIVE_INFINITY;
  /** True while #fire calls the ends due: what they arm waits for the timer #fire sets last. */
  #firing = false;

  /** Calls `holder.livenessDue` at `due` (performance.now(), at least 1 ms ahead), in place of any timer it has. */
  arm(holder: LivenessHolder, due: number): void {
    this.cancel(holder);
    const at = this.#holders.length;
    this.#holders.push(holder);
    this.#dues.push(due);
    this.#up(at);
    // A new earliest, or a Node timer that cannot be trusted to fire: (re)schedule it.
    if (!this.#firing && (due < this.#timerDue || this.#holders[0] === holder || this.#lost())) this.#schedule(this.#dues[0]! - performance.now());
  }

  /** Cancels `holder`'s timer, if it has one. */
  cancel(holder: LivenessHolder): void {
    const at = holder.livenessSlot;
    if (at < 0) return;
    holder.livenessSlot = -1;
    const holders = this.#holders;
    const dues = this.#dues;
    const last = holders.length - 1;
    const moved = holders.pop()!;
    const movedDue = dues.pop()!;
    if (last === 0 && !this.#firing) this.#stopTimer();
    if (at === last) return;
    this.#place(at, moved, movedDue);
    this.#down(this.#up(at));
    // The Node timer may now fire before the earliest: it then finds nothing due and re-arms.
  }

  /** The Node timer fired: every end due by now, earliest first; then the timer for the next. */
  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#timerDue = Number.POSITIVE_INFINITY;
    const now = performance.now();
    const holders = this.#holders;
    const dues = this.#dues;
    this.#firing = true;
    try {
      // What an end arms while it runs is due after `now` (at least 1 ms ahead): the loop ends.
      while (holders.length > 0 && dues[0]! <= now) {
        const holder = holders[0]!;
        const due = dues[0]!;
        this.cancel(holder);
        holder.livenessDue(due);
      }
    } finally {
      this.#firing = false;
      if (holders.length > 0) this.#schedule(dues[0]! - performance.now());
    }
  };

  /**
   * Whether the Node timer should have fired long ago: one made under a test's fake timers
   * (vi.useFakeTimers, which fakes performance.now too) never fires once real ones are back,
   * and with it would go every end's liveness in the thread (a review's catch). A real one
   * that late is rescheduled harmlessly. So is one whenever an end becomes the earliest.
   */
  #lost(): boolean {
    return this.#timer !== undefined && this.#timerDue < performance.now() - LOST_TIMER_MS;
  }

  /** The Node timer, `delay` ms from now (at least 1, at most MAX_TIMEOUT_MS: a later one fires early and re-arms), in place of any other. */
  #schedule(delay: number): void {
    this.#stopTimer();
    const ms = Math.min(MAX_TIMEOUT_MS, Math.max(1, Math.ceil(delay)));
    this.#timerDue = performance.now() + ms;
    this.#timer = setTimeout(this.#fire, ms);
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Number.POSITIVE_INFINITY;
  }

  /** Moves the entry at `at` towards the root while it is due before its parent; returns where it ends. */
  #up(at: number): number {
    const holders = this.#holders;
    const dues = this.#dues;
    const holder = holders[at]!;
    const due = dues[at]!;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (dues[parent]! <= due) break;
      this.#place(at, holders[parent]!, dues[parent]!);
      at = parent;
    }
    this.#place(at, holder, due);
    return at;
  }

  /** Moves the entry at `at` towards the leaves while a child is due before it. */
  #down(at: number): void {
    const holders = this.#holders;
    const dues = this.#dues;
    const length = holders.length;
    const holder = holders[at]!;
    const due = dues[at]!;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= length) break;
      if (child + 1 < length && dues[child + 1]! < dues[child]!) child++;
      if (dues[child]! >= due) break;
      this.#place(at, holders[child]!, dues[child]!);
      at = child;
    }
    this.#place(at, holder, due);
  }

  /** Puts `holder`, due at `due`, at `at` in the heap. */
  #place(at: number, holder: LivenessHolder, due: number): void {
    this.#holders[at] = holder;
    this.#dues[at] = due;
    holder.livenessSlot = at;
  }
}

/** This thread's: its ends' timers (a Node timer is the thread's too). */
export const livenessTimers = new LivenessTimers();
