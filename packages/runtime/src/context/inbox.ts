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
/**
 * The most messages an inbox holds that no `receive` took (8 times a worker mailbox's default),
 * and the most payload bytes (16 times): past either, a message is dropped and counted. It was
 * unbounded, as the application's own; but the node's inbox is where replies to its sends
 * come, so a peer the node had sent to once could fill it without end (200,000 messages of
 * 200 B: 27 MiB of heap; an adversarial review, session 56).
 */
export const INBOX_MAX_MESSAGES = 65_536;
/** The most payload bytes an inbox holds that no `receive` took (see INBOX_MAX_MESSAGES). */
export const INBOX_MAX_BYTES = 64 * 1024 * 1024;

/** A mailbox that holds messages until someone calls `receive` (node and detached contexts). */
export class Inbox implements Mailbox {
  readonly #messages: LocalMessage[] = [];
  readonly #waiters: Waiter[] = [];
  #closed: Error | undefined;
  /** The backlog at which `onBacklog` is called next. */
  #backlogMark = INBOX_BACKLOG_MARK;
  /** Payload bytes of #messages. */
  #bytes = 0;
  /** Messages dropped since the inbox was made, its bounds being reached. */
  #dropped = 0;

  constructor(
    readonly address: Address,
    /** See Mailbox.shortLived: true for sendAndReceive's reply address. */
    readonly shortLived = false,
    /**
     * Called when the messages nobody received reach INBOX_BACKLOG_MARK, then twice that, and so
     * on (again from the first mark once they fell under half of it), with `dropped` 0; and for
     * every message dropped at the bounds (INBOX_MAX_MESSAGES, INBOX_MAX_BYTES), with the count
     * of those so far.
     */
    readonly onBacklog?: (messages: number, dropped: number) => void,
  ) {}

  /** Messages dropped since the inbox was made, because it held INBOX_MAX_MESSAGES or INBOX_MAX_BYTES that no `receive` took. */
  get dropped(): number {
    return this.#dropped;
  }

  deliver(message: LocalMessage): void {
    if (this.#closed) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve(new Routed(message, this.address));
      return;
    }
    const bytes = message.payloadLength; // not payload: that makes a view, or joins a payload in parts, per message
    if (this.#messages.length >= INBOX_MAX_MESSAGES || this.#bytes + bytes > INBOX_MAX_BYTES) {
      this.onBacklog?.(this.#messages.length, ++this.#dropped);
      return;
    }
    this.#bytes += bytes;
    if (this.#messages.push(message) >= this.#backlogMark) {
      this.#backlogMark *= 2;
      this.onBacklog?.(this.#messages.length, 0);
    }
  }

  receive<T>(options: WaitOptions, what = "receive"): Promise<Routed<T>> {
    if (this.#closed) return Promise.reject(this.#closed);
    const queued = this.#messages.shift();
    if (this.#messages.length < INBOX_BACKLOG_MARK / 2) this.#backlogMark = INBOX_BACKLOG_MARK;
    if (queued) {
      this.#bytes -= queued.payloadLength;
      return Promise.resolve(new Routed<T>(queued, this.address));
    }
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
    this.#bytes = 0;
    for (const w of this.#waiters.splice(0)) w.reject(reason);
  }
}
