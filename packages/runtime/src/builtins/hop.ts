import type { Context } from "../context/context.js";
import type { Routed } from "../message/routed.js";
import type { Worker } from "../worker/worker.js";
import { BUILTINS_MODULE } from "./public-module.js";

/**
 * A built-in worker that is one hop of a route (the guide's Hop): it takes itself off the
 * message's onward route, puts itself on the return route so that the reply comes back
 * through it, and forwards the message. `route("h1", "h2", "echoer")` through two Hops
 * reaches the echoer, and the reply retraces h2 and h1.
 */
export class Hop implements Worker {
  /** Lets a worker thread load this class (see BUILTINS_MODULE). */
  static readonly module = BUILTINS_MODULE;

  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    const stepped = msg.message.withOnwardRoute(msg.onwardRoute.popFront()).withReturnRoute(msg.returnRoute.prepend(ctx.address));
    await ctx.forward(stepped);
  }
}
