import type { Context } from "../context/context.js";
import type { Routed } from "../message/routed.js";
import type { Worker } from "../worker/worker.js";
import { DROP_IF_FULL } from "../context/send-options.js";
import { BUILTINS_MODULE } from "./public-module.js";

/**
 * A built-in worker that is one hop of a route (the guide's Hop): it takes itself off the
 * message's onward route, puts itself on the return route so that the reply comes back
 * through it, and forwards the message. `route("h1", "h2", "echoer")` through two Hops
 * reaches the echoer, and the reply retraces h2 and h1.
 *
 * A Hop carries everyone's messages both ways, to whatever hop each names next, so it never
 * waits on one of them: a message whose next hop is full (a client that reads nothing) is
 * dropped (`ifFull: "drop"`, the node's `"dropped"` event) rather than holding up every other
 * message behind it (an adversarial trial in session 44 stalled every round trip through a Hop
 * with one connection that read nothing). A forwarder that should slow its senders instead is
 * the Relay worker, or `startRelay`.
 */
export class Hop implements Worker {
  /** Lets a worker thread load this class (see BUILTINS_MODULE). */
  static readonly module = BUILTINS_MODULE;

  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    const stepped = msg.message.withOnwardRoute(msg.onwardRoute.popFront()).withReturnRoute(msg.returnRoute.prepend(ctx.address));
    await ctx.forward(stepped, DROP_IF_FULL);
  }
}
