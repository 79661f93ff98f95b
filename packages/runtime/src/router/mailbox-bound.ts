import { describeType } from "../util/describe-type.js";
import { InvalidOptionError } from "../errors/errors.js";
import { checkOptionKeys, checkPositiveInteger, optionKeys, orDefault } from "../options/plain-options.js";
import type { MailboxBudget } from "./mailbox-budget.js";
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
 * feeders resume in bursts rather than one message at a time. With a `budget` shared by a
 * group of mailboxes (MailboxBudget), also full while the group holds all of it and this one
 * its allowance.
 */
export class MailboxBound {
  #messages = 0;
  #bytes = 0;
  #full = false;
  /** Full for the budget's sake (registered with it, to be asked again when the group shrinks). */
  #squeezed = false;
  /** #recheck for the budget to call: made on the first squeeze (an idle channel's bound never needs one). */
  #rechecker: (() => void) | undefined;
  /** Made at the first onRoom: most bounds (every idle channel's encryptor) are never waited on. */
  #waiters: RoomWaiters | undefined;
  readonly #budget: MailboxBudget | undefined;

  constructor(
    readonly limits: ResolvedMailboxLimits,
    budget?: MailboxBudget,
  ) {
    this.#budget = budget;
  }

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
    const before = this.#bytes;
    this.#messages += messages;
    this.#bytes += bytes;
    const budget = this.#budget;
    if (budget !== undefined) budget.changed(before, this.#bytes);
    const atLimits = this.#messages >= this.limits.maxMessages || this.#bytes >= this.limits.maxBytes;
    if (this.#full) {
      // Full for the budget's sake, it reached its own limits too (a delivery that does not wait): those hold it now.
      if (atLimits && this.#squeezed) this.#unsqueeze();
      return;
    }
    if (atLimits) this.#full = true;
    else if (budget !== undefined && budget.isOver(this.#bytes)) this.#squeeze(budget);
  }

  /** Whether `addMany(messages, bytes)` would make it full (or it is already). */
  wouldFill(messages: number, bytes: number): boolean {
    return (
      this.#full ||
      this.#messages + messages >= this.limits.maxMessages ||
      this.#bytes + bytes >= this.limits.maxBytes ||
      (this.#budget !== undefined && this.#budget.wouldFill(this.#bytes, bytes))
    );
  }

  /** Counts consumed messages; wakes the waiters when there is room again. */
  release(messages: number, bytes: number): void {
    const before = this.#bytes;
    this.#messages = Math.max(0, this.#messages - messages);
    this.#bytes = Math.max(0, this.#bytes - bytes);
    this.#budget?.changed(before, this.#bytes);
    if (this.#full) this.#recheck();
  }

  /** Forgets everything (the mailbox went away): waiters are called, the count is zero. */
  reset(): void {
    const before = this.#bytes;
    this.#messages = 0;
    this.#bytes = 0;
    this.#budget?.changed(before, 0);
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
    return (this.#waiters ??= new RoomWaiters()).add(callback, this.#full);
  }

  #squeeze(budget: MailboxBudget): void {
    this.#full = true;
    this.#squeezed = true;
    budget.squeeze((this.#rechecker ??= () => this.#recheck()));
  }

  /**
   * Room again: full at its own limits, under half of both; full for the budget's sake (and
   * not at its own limits since: addMany), once the budget says so.
   */
  #recheck(): void {
    if (!this.#full) return;
    const { maxMessages, maxBytes } = this.limits;
    if (this.#squeezed) {
      if (this.#budget!.hasRoom(this.#bytes)) return this.#wake();
      // The group shrank, but not under half the budget, and this one holds more than half its allowance.
      this.#budget!.squeeze(this.#rechecker!);
      return;
    }
    if (this.#messages * 2 <= maxMessages && this.#bytes * 2 <= maxBytes) this.#wake();
  }

  /** No longer full for the budget's sake (still full, or not, for its own). */
  #unsqueeze(): void {
    this.#squeezed = false;
    this.#budget!.unsqueeze(this.#rechecker!);
  }

  #wake(): void {
    if (this.#squeezed) this.#unsqueeze();
    this.#full = false;
    this.#waiters?.wake();
  }
}
