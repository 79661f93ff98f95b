import type { Route } from "../route/route.js";

/**
 * Consecutive messages with the same routes whose bytes lie back to back in one buffer, as
 * a transport read them: `source[start, end)`, in that transport's wire `format`. A
 * transport hands such a run to a mailbox that takes runs (a relay, another transport's
 * sender, a worker's placed "main" or on a thread) in one call instead of one message at a
 * time; only a mailbox that knows the format reads the bytes, and any mailbox may refuse a
 * run (the transport then delivers its messages one by one). The bytes must not change
 * while the run is in use.
 */
export class MessageRun {
  constructor(
    readonly onwardRoute: Route,
    readonly returnRoute: Route,
    /** How many messages the bytes hold. */
    readonly count: number,
    readonly source: Uint8Array,
    readonly start: number,
    readonly end: number,
    /** Who wrote the bytes: a transport's own token for its frame format. */
    readonly format: symbol,
  ) {}

  /** The same messages under another onward route (a relay's rewrite). */
  withOnwardRoute(onwardRoute: Route): MessageRun {
    return runWithOnwardRoute(this, onwardRoute);
  }
}

// Outside the class body, which must not name the class (see Route.EMPTY in route.ts).
function runWithOnwardRoute(run: MessageRun, onwardRoute: Route): MessageRun {
  return new MessageRun(onwardRoute, run.returnRoute, run.count, run.source, run.start, run.end, run.format);
}
