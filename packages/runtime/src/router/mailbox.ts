import type { Address } from "../address/address.js";
import type { LocalInfo, LocalMessage } from "../message/local-message.js";
import type { Route } from "../route/route.js";
import type { MessageRun } from "../message/message-run.js";

/**
 * Where the router puts a message for a worker. `deliver` must be synchronous and keep
 * order: a main-thread queue, a batch bound for a thread's port, a pool task queue, a
 * connection's send buffer, a secure channel's encryptor. `senderKey` is the address key
 * of the worker (or context) that routed the message, when known: a pool mailbox keeps
 * order per sender and runs different senders in parallel.
 *
 * A bounded mailbox also says when it is full. `deliver` still accepts a message then
 * (the router never drops or throws for load); whoever feeds the mailbox is expected to
 * wait for room before the next one: a context's `send` waits, a connection stops reading
 * its socket, a thread's link stops returning credit. See docs/architecture.md, "Flow".
 */
export interface Mailbox {
  readonly address: Address;
  /** What this mailbox is, for people reading an error (e.g. "secure channel"); absent for workers. */
  readonly kind?: string;
  /** Takes one message for this mailbox (called by the router). */
  deliver(message: LocalMessage, senderKey?: string): void;
  /**
   * Takes a run of messages that share their routes, in a transport's wire format, all or
   * none: false leaves them to the caller, who delivers them one by one with `deliver`. A
   * mailbox that forwards (a relay, a transport's sender) passes a run on in one call; a
   * worker's (placed "main", or on a thread) takes its messages without a route per message.
   */
  deliverRun?(run: MessageRun): boolean;
  /**
   * True when the mailbox copies a lent bytes body before it returns and keeps no reference
   * to the caller's bytes: through `deliverBytes` when it has one (a connection's sender
   * copies them into its write buffer, a secure channel into its staging memory), else
   * `deliver` copies every message's payload (a
   * thread's or a pool's mailbox writes it into the batch for that thread). A send to such a
   * mailbox may lend it the caller's bytes instead of copying them first: a bytes body is
   * then copied once, not twice (see docs/architecture.md, "A bytes body is copied once").
   */
  readonly copiesOnDeliver?: boolean;
  /**
   * With `copiesOnDeliver`: takes a message whose body is the bytes `bytes` (its payload
   * `encodeBody(bytes)`), as `deliver` would take it, and copies the bytes before it returns.
   * A thread's or a pool worker's mailbox writes them straight into the batch, with no message
   * made, when they repeat the batch's last head (a stream); a connection's sender writes the
   * frame into its write buffer; a channel stages the body (see Context.send).
   */
  deliverBytes?(onwardRoute: Route, returnRoute: Route, localInfo: LocalInfo, bytes: Uint8Array, senderKey?: string): void;
  /**
   * Takes `message` as `deliver` does, but its payload's bytes are lent: they are the caller's
   * again once this returns, so whatever the mailbox keeps of them it copies first. The main
   * thread routes a thread's messages this way (Router.route with `lent`), so that it can give
   * the batch they came in back to that thread for its next batches: a connection's sender
   * copies the payload into its write buffer, a thread's mailbox into the batch for its thread.
   */
  deliverLent?(message: LocalMessage, senderKey?: string): void;
  /**
   * Present on a worker thread's and a pool worker's mailbox: takes envelopes as they are,
   * in the batch another worker's thread wrote them in, frames [FIRST_FRAME, used) of
   * `buffer` (`frames` envelopes, `bytes` of frames in all, from `senderKey`); `buffer` is
   * the mailbox's from then on. Only while `takesRuns`. See docs/architecture.md, "A stream
   * between threads is passed on, not copied".
   */
  takeRun?(senderKey: string, buffer: ArrayBuffer, used: number, frames: number, bytes: number): void;
  /** With `takeRun`: whether it takes runs now (it is running). */
  readonly takesRuns?: boolean;
  /** With `takeRun`: whether `messages` more messages of `bytes` in all would make it full. */
  wouldFill?(messages: number, bytes: number): boolean;
  /** True while the mailbox holds its high-water mark or more (absent: never full). */
  readonly isFull?: boolean;
  /**
   * Calls `callback` once, when the mailbox is under its mark again (or has gone away).
   * Returns a function that cancels the call. Only meaningful while `isFull`.
   */
  onRoom?(callback: () => void): () => void;
  /**
   * For a send with `{ ifFull: "drop" }`: whether a message of about `bytes` would wait here
   * past the mailbox's byte bound even though it is not full now (a queue that takes one
   * message of any size when it is empty, and cannot pass it on at once). Such a send is
   * dropped. Absent: only `isFull` counts.
   */
  wouldOverflow?(bytes: number): boolean;
  /**
   * True for a reply address that lives for one request (sendAndReceive's): senders should
   * not set anything up for later sends to it (a thread's send grant, a hop watch). No
   * RouteMemo keeps one, so it goes without a new router epoch, what it consumed included:
   * its key must never be a RouteMemo's sender key (a memo that skipped the router would
   * not make the grant again), as a request is routed through the router itself.
   */
  readonly shortLived?: boolean;
  /**
   * True for a tombstone left at an address whose owner ended on purpose (a closed secure
   * channel's encryptor): the program's own sends reach it, and what the network sends there,
   * which flow controls no longer let through, is refused quietly, as at a retired address:
   * no "denied" event or warning (a peer that had not yet learnt of the close is no
   * configuration to fix).
   */
  readonly tombstone?: boolean;
  /**
   * For a mailbox that holds sendAndReceive calls (a reply address on the main thread, a
   * thread's requests): fails the call waiting for a reply at `key` now, with `error` (the
   * worker it asked threw, so no reply will come).
   */
  failRequest?(key: string, error: Error): void;
}

/** Delivers `message` to `mailbox`: through `deliverLent` when its payload is `lent` and the mailbox has it, else `deliver`. */
export function deliverTo(mailbox: Mailbox, message: LocalMessage, senderKey: string | undefined, lent: boolean): void {
  if (lent && mailbox.deliverLent !== undefined) mailbox.deliverLent(message, senderKey);
  else mailbox.deliver(message, senderKey);
}
