import type { Address } from "../address/address.js";
import { NodeStoppedError } from "../errors/errors.js";
import type { LocalMessage } from "../message/local-message.js";
import { Routed } from "../message/routed.js";
import type { Mailbox } from "../router/mailbox.js";
import { waitFor, type WaitOptions } from "../util/wait.js";

interface Waiter {
  resolve: (message: Routed) => void;
  reject: (error: unknown) => void;
}

/** The first backlog an inbox reports (a worker mailbox's default bound); then each doubling. */
export const INBOX_BACKLOG_MARK = 8192;

/** A mailbox that holds messages until someone calls `receive` (node and detached contexts). */
export class Inbox implements Mailbox {
  readonly #messages: LocalMessage[] = [];
  readonly #waiters: Waiter[] = [];
  #closed: Error | undefined;
  /** The backlog at which `onBacklog` is called next. */
  #backlogMark = INBOX_BACKLOG_MARK;

  constructor(
    readonly address: Address,
    /** See Mailbox.shortLived: true for sendAndReceive's reply address. */
    readonly shortLived = false,
    /**
     * Called when the messages nobody received reach INBOX_BACKLOG_MARK, then twice that, and so
     * on (again from the first mark once they fell under half of it): the inbox is unbounded.
     */
    readonly onBacklog?: (messages: number) => void,
  ) {}

  deliver(message: LocalMessage): void {
    if (this.#closed) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(new Routed(message, this.address));
    else if (this.#messages.push(message) >= this.#backlogMark) {
      this.#backlogMark *= 2;
      this.onBacklog?.(this.#messages.length);
    }
  }

  receive<T>(options: WaitOptions, what = "receive"): Promise<Routed<T>> {
    if (this.#closed) return Promise.reject(this.#closed);
    const queued = this.#messages.shift();
    if (this.#messages.length < INBOX_BACKLOG_MARK / 2) this.#backlogMark = INBOX_BACKLOG_MARK;
    if (queued) return Promise.resolve(new Routed<T>(queued, this.address));
    let entry: Waiter | undefined;
    return waitFor<Routed<T>>(
      (resolve, reject) => {
        entry = { resolve: resolve as (m: Routed) => void, reject };
        this.#waiters.push(entry);
      },
      {
        ...options,
        what,
        cleanup: () => {
          const i = entry ? this.#waiters.indexOf(entry) : -1;
          if (i >= 0) this.#waiters.splice(i, 1);
        },
      },
    );
  }

  close(reason: Error = new NodeStoppedError()): void {
    this.#closed = reason;
    this.#messages.length = 0;
    for (const w of this.#waiters.splice(0)) w.reject(reason);
  }
}
