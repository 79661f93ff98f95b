import { describeValue, InvalidOptionError, type Node } from "@hopwire/runtime";

/**
 * Heartbeats a node seals per second at most, by default, over its channels whose heartbeats
 * go less than HEARTBEAT_BUDGET_EXEMPT_MS apart. Each end heartbeats a third of its peer's
 * announced timeout apart (liveness.ts), down to 50 ms, and the peer chooses that timeout: an
 * adversarial trial (session 44) opened 4,096 channels announcing 150 ms and cost the victim
 * 61-66 k records a second, a whole core, for as long as it held them.
 */
export const DEFAULT_HEARTBEATS_PER_SECOND = 5_000;

/**
 * Heartbeats at least this far apart are not budgeted: they cost at most a node's channels
 * divided by it (the defaults heartbeat every 10 s), and an idle channel at that pace must not
 * wait behind channels whose peers ask for 50 ms, or its own peer would time out.
 */
export const HEARTBEAT_BUDGET_EXEMPT_MS = 5_000;

/**
 * A node's heartbeat budget, spread evenly: the budgeted ends (those that heartbeat less than
 * HEARTBEAT_BUDGET_EXEMPT_MS apart) heartbeat no closer than `spacing` apart, each, so that
 * together they seal at most `perSecond`. A token bucket shared by all was tried first: the
 * ends that won a token asked again 50 ms later and kept winning, and the others, backing off,
 * went silent past their peers' timeouts.
 */
export class HeartbeatBudget {
  #budgeted = 0;
  /** Heartbeats sealed by budgeted ends so far (tests and diagnostics). */
  sealed = 0;

  constructor(public perSecond: number) {}

  /** Budgeted ends now. */
  get budgeted(): number {
    return this.#budgeted;
  }

  /** How far apart each budgeted end's heartbeats go at least (ms). */
  get spacing(): number {
    return (this.#budgeted * 1000) / this.perSecond;
  }

  join(): void {
    this.#budgeted++;
  }

  leave(): void {
    this.#budgeted = Math.max(0, this.#budgeted - 1);
  }
}

const budgets = new WeakMap<Node, HeartbeatBudget>();

/** The heartbeat budget of `node`'s channels (made on first use, at the default rate). */
export function heartbeatBudgetOf(node: Node): HeartbeatBudget {
  let budget = budgets.get(node);
  if (budget === undefined) budgets.set(node, (budget = new HeartbeatBudget(DEFAULT_HEARTBEATS_PER_SECOND)));
  return budget;
}

/**
 * Sets how many heartbeats `node` seals per second at most over its secure channels whose
 * heartbeats go less than 5 s apart (default DEFAULT_HEARTBEATS_PER_SECOND; those 5 s apart or
 * more, as the defaults' 10 s, are not counted): a positive whole number. It is spread evenly:
 * each such channel heartbeats no closer than (their number) / perSecond seconds apart, so a
 * peer that asks for heartbeats every 50 ms on thousands of channels gets the budget's worth,
 * not its ask, and a peer whose own timeout is shorter than that spacing may find the channel
 * silent and close it.
 */
export function setHeartbeatBudget(node: Node, perSecond: number): void {
  if (!Number.isInteger(perSecond) || perSecond < 1) {
    throw new InvalidOptionError(`setHeartbeatBudget: perSecond must be a positive whole number, got ${describeValue(perSecond)}`, { option: "perSecond" });
  }
  heartbeatBudgetOf(node).perSecond = perSecond;
}
