import { describeValue, InvalidOptionError, MailboxBudget, type Node } from "@hopwire/runtime";

/**
 * Bytes a node's secure channels may hold together in their send queues, by default
 * (`setSendQueueBudget`). Each channel's own bound (`sendQueueLimits`, 4 MiB by default) holds
 * for it alone; a peer that withholds credit on thousands of channels could otherwise pin that
 * much on each (16,384 channels per listener by default).
 */
export const DEFAULT_SEND_QUEUE_BUDGET = 256 * 1024 * 1024;

const budgets = new WeakMap<Node, MailboxBudget>();

/** The budget that `node`'s channel ends share (made on first use, at the default). */
export function sendQueueBudgetOf(node: Node): MailboxBudget {
  let budget = budgets.get(node);
  if (budget === undefined) {
    // Spent: a node warning (`send-queue-budget`, rate-limited), so that an operator hears why channels wait.
    const made: MailboxBudget = new MailboxBudget(DEFAULT_SEND_QUEUE_BUDGET, () => node.router.reportSendQueueBudgetSpent(made.maxBytes, made.holders));
    budgets.set(node, (budget = made));
  }
  return budget;
}

/**
 * Sets how many bytes `node`'s secure channels may hold together in their send queues
 * (default DEFAULT_SEND_QUEUE_BUDGET, 256 MiB): a positive whole number. Under it, each
 * channel has its own `sendQueueLimits` and nothing else. Once the channels hold it all, a
 * channel holding 16 KiB (SPENT_BUDGET_ALLOWANCE, or an equal share if less) or more is full,
 * as at its own limits: sends to it wait (drop sends drop) until it holds under half that or
 * the channels are under half the budget (a new budget is applied at once). A channel that
 * holds nothing may always take a message (but a drop send of 16 KiB or more that it cannot
 * send at once), and one whose peer reads drains every turn, so what peers withhold on their
 * channels does not stop another's; they pin at most the budget, and 16 KiB and a message per
 * channel.
 */
export function setSendQueueBudget(node: Node, maxBytes: number): void {
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new InvalidOptionError(`setSendQueueBudget: maxBytes must be a positive whole number, got ${describeValue(maxBytes)}`, { option: "maxBytes" });
  }
  sendQueueBudgetOf(node).maxBytes = maxBytes;
}

/** What `node`'s secure channels hold in their send queues now, in bytes, and how many channels hold any. */
export function sendQueueUse(node: Node): { bytes: number; channels: number; maxBytes: number } {
  const budget = sendQueueBudgetOf(node);
  return { bytes: budget.bytes, channels: budget.holders, maxBytes: budget.maxBytes };
}
