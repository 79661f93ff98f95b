export { Router, type ReasonLike, type TransportMailbox, type TransportRoute } from "./router.js";
export type { Mailbox } from "./mailbox.js";
export { MailboxBudget, SPENT_BUDGET_ALLOWANCE } from "./mailbox-budget.js";
export { MailboxBound, DEFAULT_MAILBOX_LIMITS, resolveMailboxLimits, type MailboxLimits, type ResolvedMailboxLimits } from "./mailbox-bound.js";
export { RoomWaiters } from "./room-waiters.js";
export { RouteMemo } from "./route-memo.js";
