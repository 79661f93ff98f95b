import { Fifo } from "../util/fifo.js";
import { waitFor, type WaitOptions } from "../util/wait.js";

/**
 * Tells whether an item may go now. `undefined`: go. Otherwise a function that arms a
 * wake-up for when it may (called once, never synchronously) and returns a canceller.
 */
export type Gate<T> = (item: T) => ((wake: () => void) => () => void) | undefined;

interface Pending<T> {
  item: T;
  /**
   * Written, failed, or given up (timed out, aborted): done with. One given up behind the
   * head stays in its lane, skipped when it comes to the head (no scan, no splice: a lane
   * may hold hundreds of thousands of sends).
   */
  taken?: boolean;
  /** Settles with the write's outcome (a promise is adopted). */
  resolve: (value: void) => void;
  reject: (error: unknown) => void;
}

/** The sends of one lane that wait, in order, and the wake-up armed for its head. */
interface Lane<T> {
  readonly key: string;
  readonly queue: Fifo<Pending<T>>;
  cancelWake: (() => void) | undefined;
}

const RESOLVED = Promise.resolve();

/** What `submit` returns for an item written at once (compare by identity to skip an await). */
export const SENT: Promise<void> = RESOLVED;
const ONE_LANE = "";

/**
 * One sender's sends that wait for room, in order per lane. A send goes at once while
 * nothing of its lane waits and its gate is open; otherwise it queues behind the others of
 * its lane, so a sender's messages on one lane never overtake each other. Lanes are the
 * sender's first hops (see `laneOf`): a send to a full channel or connection does not hold
 * up the same sender's sends elsewhere. A send that times out or is aborted while queued
 * is removed: it was not sent.
 */
export class SendQueue<T> {
  readonly #lanes = new Map<string, Lane<T>>();

  constructor(
    readonly gate: Gate<T>,
    /** Sends the item; throws its routing error, or returns a promise of its outcome. */
    readonly write: (item: T) => void | Promise<void>,
    /** Names a waiting item in a TimeoutError or AbortError (called only then). */
    readonly describe: (item: T) => string,
    /** The lane of an item (its first hop's key); absent: one lane for everything. */
    readonly laneOf: (item: T) => string = () => ONE_LANE,
    /**
     * Writes the item if its gate is open, in one step (true), or writes nothing (false: it
     * waits): the common case, nothing waiting, asks the gate and writes with one look-up.
     * Absent: the gate, then `write`.
     */
    readonly writeIfOpen?: (item: T) => boolean,
  ) {}

  /** True while no send waits (in any lane): a send submitted now goes at once if its gate is open. */
  get idle(): boolean {
    return this.#lanes.size === 0;
  }

  /** True while a send of lane `key` waits (for room in its first hop). */
  waitsIn(key: string): boolean {
    return this.#lanes.has(key);
  }

  /** Writes `item` now, or queues it; returns SENT when it was written at once (and its write returned nothing). */
  submit(item: T, options?: WaitOptions): Promise<void> {
    // The common case, nothing waiting anywhere, needs no lane key.
    const known = this.#lanes.size === 0 ? undefined : this.laneOf(item);
    if (known === undefined || !this.#lanes.has(known)) {
      if (this.writeIfOpen !== undefined) {
        if (this.writeIfOpen(item)) return RESOLVED;
      } else if (this.gate(item) === undefined) return this.write(item) ?? RESOLVED;
    }
    const key = known ?? this.laneOf(item);
    let entry: Pending<T> | undefined;
    return waitFor<void>(
      (resolve, reject) => {
        entry = { item, resolve, reject };
        let lane = this.#lanes.get(key);
        if (lane === undefined) this.#lanes.set(key, (lane = { key, queue: new Fifo(), cancelWake: undefined }));
        lane.queue.push(entry);
        if (lane.queue.length === 1) this.#pump(lane);
      },
      {
        timeout: options?.timeout,
        signal: options?.signal,
        // Named only if it times out or is aborted: a waiting send is common, its failure is not.
        what: () => `${this.describe(item)} (waiting for room)`,
        cleanup: () => entry && this.#remove(key, entry),
      },
    );
  }

  /**
   * Writes `item` now if `submit` would write it at once (nothing of its lane waits, its gate
   * is open): true. Otherwise writes nothing and returns false. Throws the write's error. For
   * items whose write settles at once (returns nothing): a promise it returned would be lost.
   */
  trySubmit(item: T): boolean {
    if (this.#lanes.size > 0 && this.#lanes.has(this.laneOf(item))) return false;
    if (this.writeIfOpen !== undefined) return this.writeIfOpen(item);
    if (this.gate(item) !== undefined) return false;
    void this.write(item);
    return true;
  }

  /** A waiting send that timed out or was aborted (or, already taken, any send: waitFor's cleanup). */
  #remove(key: string, entry: Pending<T>): void {
    if (entry.taken) return;
    entry.taken = true;
    const lane = this.#lanes.get(key);
    if (lane === undefined || lane.queue.peek() !== entry) return; // skipped when it comes to the head
    lane.queue.shift();
    lane.cancelWake?.();
    lane.cancelWake = undefined;
    this.#pump(lane);
  }

  #pump(lane: Lane<T>): void {
    lane.cancelWake = undefined;
    const queue = lane.queue;
    for (let head = queue.peek(); head !== undefined; head = queue.peek()) {
      if (head.taken) {
        queue.shift();
        continue;
      }
      const arm = this.gate(head.item);
      if (arm) {
        lane.cancelWake = arm(() => this.#pump(lane));
        return;
      }
      queue.shift();
      head.taken = true;
      try {
        head.resolve(this.write(head.item) as void);
      } catch (error) {
        head.reject(error);
      }
    }
    // An empty lane is forgotten, so that a later send to that hop goes at once again.
    if (this.#lanes.get(lane.key) === lane) this.#lanes.delete(lane.key);
  }
}
