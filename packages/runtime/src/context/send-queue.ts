import { waitFor, type WaitOptions } from "../util/wait.js";

/**
 * Tells whether an item may go now. `undefined`: go. Otherwise a function that arms a
 * wake-up for when it may (called once, never synchronously) and returns a canceller.
 */
export type Gate<T> = (item: T) => ((wake: () => void) => () => void) | undefined;

interface Pending<T> {
  item: T;
  /** Settles with the write's outcome (a promise is adopted). */
  resolve: (value: void) => void;
  reject: (error: unknown) => void;
}

const RESOLVED = Promise.resolve();

/**
 * One sender's sends that wait for room, in order. A send goes at once while nothing of
 * this sender waits and its gate is open; otherwise it queues behind the others, so a
 * sender's messages never overtake each other. A send that times out or is aborted while
 * queued is removed: it was not sent.
 */
export class SendQueue<T> {
  readonly #queue: Pending<T>[] = [];
  #cancelWake: (() => void) | undefined;

  constructor(
    readonly gate: Gate<T>,
    /** Sends the item; throws its routing error, or returns a promise of its outcome. */
    readonly write: (item: T) => void | Promise<void>,
    /** Names a waiting item in a TimeoutError or AbortError (called only then). */
    readonly describe: (item: T) => string,
  ) {}

  /** Items waiting. */
  get length(): number {
    return this.#queue.length;
  }

  submit(item: T, options?: WaitOptions): Promise<void> {
    if (this.#queue.length === 0 && this.gate(item) === undefined) return this.write(item) ?? RESOLVED;
    let entry: Pending<T> | undefined;
    return waitFor<void>(
      (resolve, reject) => {
        entry = { item, resolve, reject };
        this.#queue.push(entry);
        if (this.#queue.length === 1) this.#pump();
      },
      {
        timeout: options?.timeout,
        signal: options?.signal,
        what: `${this.describe(item)} (waiting for room)`,
        cleanup: () => entry && this.#remove(entry),
      },
    );
  }

  /** Fails every waiting send with `error` (the sender stops). */
  failAll(error: unknown): void {
    this.#cancelWake?.();
    this.#cancelWake = undefined;
    for (const entry of this.#queue.splice(0)) entry.reject(error);
  }

  /** Re-checks the head now (e.g. after credit arrived without a wake-up armed). */
  poke(): void {
    if (this.#queue.length > 0 && this.#cancelWake === undefined) this.#pump();
  }

  #remove(entry: Pending<T>): void {
    const i = this.#queue.indexOf(entry);
    if (i < 0) return;
    this.#queue.splice(i, 1);
    if (i === 0) {
      this.#cancelWake?.();
      this.#cancelWake = undefined;
      this.#pump();
    }
  }

  readonly #pump = (): void => {
    this.#cancelWake = undefined;
    const queue = this.#queue;
    while (queue.length > 0) {
      const head = queue[0]!;
      const arm = this.gate(head.item);
      if (arm) {
        this.#cancelWake = arm(this.#pump);
        return;
      }
      queue.shift();
      try {
        head.resolve(this.write(head.item) as void);
      } catch (error) {
        head.reject(error);
      }
    }
  };
}
