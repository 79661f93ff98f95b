import type { Address } from "../address/address.js";
import { MailboxFullError } from "../errors/errors.js";
import { stackless } from "../errors/stackless.js";
import type { Mailbox } from "./mailbox.js";
import type { Router } from "./router.js";

/**
 * For a send with `{ ifFull: "drop" }` of a message of `bytes` (its payload): when the mailbox
 * of its first hop `next` is full now, or would hold it past its bound (Mailbox.wouldOverflow),
 * or `waiting` (its sender's earlier sends to that hop still wait for room), drops it, raising
 * the node's `"dropped"` event (reason `"full"`), and returns true; returns false when it
 * should be routed. A hop with no mailbox is routed, and fails as any send to it does; so is
 * one that flow controls deny the sender, so that the denial is what the node reports.
 */
export function droppedForFull(router: Router, next: Address, fromKey: string, bytes: number, waiting = false): boolean {
  if (next.isLocal && !router.flowControls.isAllowed(fromKey, next.key)) return false;
  const mailbox = router.mailboxOf(next);
  if (!waiting && mailbox?.isFull !== true && mailbox?.wouldOverflow?.(bytes) !== true) return false;
  reportDroppedForFull(router, next, fromKey, mailbox);
  return true;
}

/** Raises the node's `"dropped"` event (reason `"full"`) for a drop send to `next` that was dropped. */
export function reportDroppedForFull(router: Router, next: Address, fromKey: string, mailbox: Mailbox | undefined = router.mailboxOf(next)): void {
  // Named by what it is (a secure channel, a connection): its address alone is a generated hex string.
  const what = mailbox?.kind === undefined ? next.toString() : `the ${mailbox.kind} ${next.toString()}`;
  // Without a stack: nobody is thrown it, and a peer that reads nothing decides how many (a trial's
  // flood of requests whose echoes it never read spent two thirds of the node's CPU capturing stacks).
  router.reportDropped(next, fromKey, stackless(() => new MailboxFullError(`${what} was full, and the send asked to drop rather than wait`)));
}
