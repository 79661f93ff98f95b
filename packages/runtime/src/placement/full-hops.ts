import type { Address } from "../address/address.js";
import type { LocalMessage } from "../message/local-message.js";
import type { Mailbox } from "../router/mailbox.js";
import type { Router } from "../router/router.js";
import { Fifo } from "../util/fifo.js";

/** A message of a thread's stream set aside because its first hop is full. */
export interface Parked {
  readonly message: LocalMessage;
  /** Its frame's size, as the link's credit counts it. */
  readonly size: number;
  /** For a sendAndReceive request: the key of the reply address registered for it. */
  readonly requestKey?: string;
}

/** A first hop of a thread's sends whose mailbox filled, and what of the thread's stream waits for it. */
interface FullHop<P extends Parked> {
  readonly hop: Address;
  /** Where the hop leads: a transport address's changes (a dial, then its connection) without an unregister. */
  mailbox: Mailbox;
  readonly parked: Fifo<P>;
  /** The bytes of `parked`. */
  parkedBytes: number;
  /** The thread was told (`hopFull`): it is told again when the hop has room. */
  announced: boolean;
  cancelRoom: () => void;
  readonly unwatch: () => void;
}

/** What the thread's host does for FullHops. */
export interface FullHopsHost<P extends Parked> {
  /** Routes a parked message (throws its routing error); returns the mailbox it went to. */
  route(parked: P): Mailbox | undefined;
  /** A parked message could not be routed when its turn came. */
  failed(parked: P, error: unknown): void;
  /** `key` passed the mark (`full`: the thread is to hold its sends to it), or has room again after it did (each once per mark). */
  notify(key: string, full: boolean): void;
  /** `key` is no longer full: nothing waits for it (reading that waited for it may go on). */
  released(key: string): void;
  /** The parked bytes went back under half the budget: reading the thread's stream may resume. */
  resume(): void;
}

/**
 * Per-destination queues in the main thread's reading of one thread's stream. When a send
 * of the thread fills its first hop's mailbox, that hop is marked full, and the thread's
 * frames for it that its host does not leave unread (a stream with nothing else behind it:
 * ThreadHost) are parked here, in order, while its frames for other hops are read on. Once
 * what is parked for a hop passes `announceBytes` (half the link's window), the thread is
 * told (its later sends to that hop wait on the thread, where their timeout and signal run),
 * and told again that it may send once under a quarter is left. Telling it at once would
 * stop a thread that streams to one worker each time that worker's mailbox fills, with most
 * of its window unused. Before, the main thread stopped reading the thread's whole stream at
 * a full mailbox, so one full channel held every other send of the thread.
 *
 * Parked frames are taken off the link's credit (the thread may send on to other hops), so
 * they count against a budget of their own: past it, reading waits (`holding`) until they are
 * back under half. What one hop parks is what was on its way when it filled: less than the
 * link's window and one frame. The budget, twice the window, is there for a thread that fills
 * several hops in turn.
 */
export class FullHops<P extends Parked = Parked> {
  readonly #hops = new Map<string, FullHop<P>>();
  #parkedBytes = 0;
  #holding = false;
  /** Stopping: parked messages go whatever is full. */
  #flushing = false;

  constructor(
    readonly router: Router,
    readonly budgetBytes: number,
    readonly announceBytes: number,
    readonly host: FullHopsHost<P>,
  ) {}

  /** How many hops are marked full (0 on the hot path: nothing to look up). */
  get size(): number {
    return this.#hops.size;
  }

  has(key: string): boolean {
    return this.#hops.has(key);
  }

  /** True while the parked bytes passed the budget: reading the thread's stream waits. */
  get holding(): boolean {
    return this.#holding;
  }

  /** Marks `hop`, whose mailbox a send of the thread just filled (or is about to fill), full. */
  mark(hop: Address, mailbox: Mailbox): void {
    const key = hop.key;
    if (this.#hops.has(key) || this.#flushing) return;
    const entry: FullHop<P> = {
      hop,
      mailbox,
      parked: new Fifo(),
      parkedBytes: 0,
      announced: false,
      cancelRoom: noop,
      // Its mailbox went away: what waits for it fails now (and the thread's sends to it go, to fail likewise).
      unwatch: this.router.watchHop(hop, () => this.#drain(entry, true)),
    };
    this.#hops.set(key, entry);
    this.#armRoom(entry);
  }

  /** Parks a message for a hop marked full; returns false when reading must now wait (`holding`). */
  park(key: string, parked: P): boolean {
    const entry = this.#hops.get(key)!;
    entry.parked.push(parked);
    entry.parkedBytes += parked.size;
    this.#parkedBytes += parked.size;
    this.#announceIf(entry);
    if (this.#parkedBytes > this.budgetBytes) this.#holding = true;
    return !this.#holding;
  }

  #announceIf(entry: FullHop<P>): void {
    if (entry.announced || entry.parkedBytes < this.announceBytes) return;
    entry.announced = true;
    this.host.notify(entry.hop.key, true);
  }

  /** Routes everything parked whatever is full, and marks nothing full from now on (the worker is stopping). */
  flush(): void {
    this.#flushing = true;
    for (const entry of [...this.#hops.values()]) this.#drain(entry, true);
  }

  /** Forgets every hop and what waits for it (the thread is gone). */
  clear(): void {
    for (const entry of this.#hops.values()) {
      entry.cancelRoom();
      entry.unwatch();
    }
    this.#hops.clear();
    this.#parkedBytes = 0;
    this.#holding = false;
  }

  #armRoom(entry: FullHop<P>): void {
    const onRoom = entry.mailbox.onRoom;
    entry.cancelRoom = onRoom === undefined ? noop : onRoom.call(entry.mailbox, () => this.#drain(entry, false));
    if (onRoom === undefined) queueMicrotask(() => this.#drain(entry, true));
  }

  /**
   * Routes what waits for `entry`'s hop while its mailbox has room (all of it when `all`),
   * in order; once none waits and there is room, the hop is no longer full for the thread.
   */
  #drain(entry: FullHop<P>, all: boolean): void {
    if (this.#hops.get(entry.hop.key) !== entry) return;
    entry.cancelRoom();
    for (;;) {
      if (!all && entry.mailbox.isFull === true) {
        this.#armRoom(entry);
        return this.#maybeResume();
      }
      const next = entry.parked.shift();
      if (next === undefined) break;
      this.#parkedBytes -= next.size;
      entry.parkedBytes -= next.size;
      try {
        const to = this.host.route(next);
        if (to !== undefined && to !== entry.mailbox && to.onRoom !== undefined) entry.mailbox = to;
      } catch (error) {
        this.host.failed(next, error);
      }
      // Under a quarter of the window left: the thread may send to the hop again (its frames park
      // behind these), so that what it sends is on its way before these run out.
      if (entry.announced && entry.parkedBytes * 2 < this.announceBytes) {
        entry.announced = false;
        this.host.notify(entry.hop.key, false);
      }
    }
    this.#hops.delete(entry.hop.key);
    entry.unwatch();
    if (entry.announced) this.host.notify(entry.hop.key, false);
    this.host.released(entry.hop.key);
    this.#maybeResume();
  }

  #maybeResume(): void {
    if (!this.#holding || this.#parkedBytes * 2 > this.budgetBytes) return;
    this.#holding = false;
    this.host.resume();
  }
}

const noop = (): void => {};
