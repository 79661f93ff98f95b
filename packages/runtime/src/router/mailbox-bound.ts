import { describeType } from "../util/describe-type.js";
import { InvalidOptionError } from "../errors/errors.js";
import { checkOptionKeys, checkPositiveInteger, optionKeys, orDefault } from "../options/plain-options.js";
import { RoomWaiters } from "./room-waiters.js";

/** How much a bounded mailbox may hold before its feeders wait. */
export interface MailboxLimits {
  /** Messages queued and not yet handled (default 8192). */
  maxMessages?: number;
  /**
   * Bytes queued and not yet handled (default 4 MiB): each message's payload and its routes
   * (a thread's or pool's mailbox counts a message as its whole envelope).
   */
  maxBytes?: number;
}

/** Mailbox bounds with every default filled in. */
export interface ResolvedMailboxLimits {
  maxMessages: number;
  maxBytes: number;
}

/** A mailbox holds at most 8192 messages or 4 MiB by default. */
export const DEFAULT_MAILBOX_LIMITS: ResolvedMailboxLimits = Object.freeze({ maxMessages: 8192, maxBytes: 4 * 1024 * 1024 });

const MAILBOX_LIMITS = optionKeys<MailboxLimits>({ maxMessages: true, maxBytes: true });

/**
 * Checks limits given as options; `what` names them in the error and in its `option`
 * ("mailbox" → `mailbox.maxMessages`). Any other key is an InvalidOptionError.
 */
export function resolveMailboxLimits(
  limits: MailboxLimits | undefined,
  fallback: ResolvedMailboxLimits = DEFAULT_MAILBOX_LIMITS,
  what = "mailbox",
): ResolvedMailboxLimits {
  if (limits === undefined) return fallback;
  if (limits === null || typeof limits !== "object" || Array.isArray(limits)) {
    throw new InvalidOptionError(`${what} must be an object such as { maxMessages: 1024 }, got ${describeType(limits)}`, { option: what });
  }
  checkOptionKeys(limits, MAILBOX_LIMITS, what, what);
  return {
    maxMessages: checkPositiveInteger(orDefault(limits.maxMessages, fallback.maxMessages), `${what}.maxMessages`),
    maxBytes: checkPositiveInteger(orDefault(limits.maxBytes, fallback.maxBytes), `${what}.maxBytes`),
  };
}

/**
 * The count behind a bounded mailbox: what was delivered and not yet consumed, in
 * messages and bytes. Full at either limit; room again under half of both, so that
 * feeders resume in bursts rather than one message at a time.
 */
export class MailboxBound {
  #messages = 0;
  #bytes = 0;
  #full = false;
  readonly #waiters = new RoomWaiters();

  constructor(readonly limits: ResolvedMailboxLimits) {}

  get messages(): number {
    return this.#messages;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get isFull(): boolean {
    return this.#full;
  }

  /** Counts a delivered message. */
  add(bytes: number): void {
    this.addMany(1, bytes);
  }

  /** Counts `messages` delivered messages of `bytes` in all. */
  addMany(messages: number, bytes: number): void {
    this.#messages += messages;
    this.#bytes += bytes;
    if (!this.#full && (this.#messages >= this.limits.maxMessages || this.#bytes >= this.limits.maxBytes)) this.#full = true;
  }

  /** Whether `addMany(messages, bytes)` would make it full (or it is already). */
  wouldFill(messages: number, bytes: number): boolean {
    return this.#full || this.#messages + messages >= this.limits.maxMessages || this.#bytes + bytes >= this.limits.maxBytes;
  }

  /** Counts consumed messages; wakes the waiters when there is room again. */
  release(messages: number, bytes: number): void {
    this.#messages = Math.max(0, this.#messages - messages);
    this.#bytes = Math.max(0, this.#bytes - bytes);
    if (this.#full && this.#messages * 2 <= this.limits.maxMessages && this.#bytes * 2 <= this.limits.maxBytes) this.#wake();
  }

  /** Forgets everything (the mailbox went away): waiters are called, the count is zero. */
  reset(): void {
    this.#messages = 0;
    this.#bytes = 0;
    this.#wake();
  }

  /**
   * Calls every waiter now, and reads not full from then on, whatever the count: the mailbox
   * stopped taking messages (a closing secure channel), and each feeder learns why as it delivers.
   */
  wakeAll(): void {
    this.#wake();
  }

  /** Calls `callback` once when the mailbox has room again; returns a function that cancels it. */
  onRoom(callback: () => void): () => void {
    return this.#waiters.add(callback, this.#full);
  }

  #wake(): void {
    this.#full = false;
    this.#waiters.wake();
  }
}
