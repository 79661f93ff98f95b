import { describeValue, InvalidOptionError, type Node } from "@hopwire/runtime";

/**
 * Heartbeats a node seals per second at most, over all its channels, by default. Each end
 * heartbeats a third of its peer's announced timeout apart (liveness.ts), down to 50 ms, and
 * the peer chooses that timeout: an adversarial trial (session 44) opened 4,096 channels
 * announcing 150 ms and cost the victim 61-66 k records a second, a whole core, for as long as
 * it held them. 5,000 a second is a channel at the default 30 s timeout 50,000 times over, and
 * 250 channels at the shortest.
 */
export const DEFAULT_HEARTBEATS_PER_SECOND = 5_000;

/** How long an end whose heartbeat found the budget spent waits before it tries again: doubling from the first to the last. */
export const HEARTBEAT_RETRY_FIRST_MS = 50;
export const HEARTBEAT_RETRY_MAX_MS = 1_000;

/** A node's heartbeat budget: a token bucket holding one second's worth. */
export class HeartbeatBudget {
  #perSecond: number;
  #tokens: number;
  #at: number;
  /** Heartbeats taken from the budget (sealed), and those refused for want of it, so far (tests and diagnostics). */
  taken = 0;
  refused = 0;

  constructor(perSecond: number, now: number) {
    this.#perSecond = perSecond;
    this.#tokens = perSecond;
    this.#at = now;
  }

  get perSecond(): number {
    return this.#perSecond;
  }

  /** A new rate; the bucket holds at most a second of it from now on. */
  set perSecond(perSecond: number) {
    this.#perSecond = perSecond;
    this.#tokens = Math.min(this.#tokens, perSecond);
  }

  /** Takes one heartbeat's token at `now` (performance.now() ms), or says there is none. */
  take(now: number): boolean {
    this.#tokens = Math.min(this.#perSecond, this.#tokens + ((now - this.#at) * this.#perSecond) / 1000);
    this.#at = now;
    if (this.#tokens < 1) {
      this.refused++;
      return false;
    }
    this.#tokens -= 1;
    this.taken++;
    return true;
  }
}

const budgets = new WeakMap<Node, HeartbeatBudget>();

/** The heartbeat budget of `node`'s channels (made on first use, at the default rate). */
export function heartbeatBudgetOf(node: Node): HeartbeatBudget {
  let budget = budgets.get(node);
  if (budget === undefined) budgets.set(node, (budget = new HeartbeatBudget(DEFAULT_HEARTBEATS_PER_SECOND, performance.now())));
  return budget;
}

/**
 * Sets how many heartbeats `node` seals per second at most, over all its secure channels
 * (default DEFAULT_HEARTBEATS_PER_SECOND): a positive whole number. An end whose heartbeat is
 * due when the budget is spent tries again 50 ms later, then 100, up to 1 s apart, so a peer
 * that asks for heartbeats every 50 ms on thousands of channels gets the budget's worth, not
 * its ask; a peer whose own timeout is that short may then find the channel silent and close it.
 */
export function setHeartbeatBudget(node: Node, perSecond: number): void {
  if (!Number.isInteger(perSecond) || perSecond < 1) {
    throw new InvalidOptionError(`setHeartbeatBudget: perSecond must be a positive whole number, got ${describeValue(perSecond)}`, { option: "perSecond" });
  }
  heartbeatBudgetOf(node).perSecond = perSecond;
}
