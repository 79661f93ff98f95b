import type { Context } from "../context/context.js";
import type { Routed } from "../message/routed.js";
import type { Worker } from "../worker/worker.js";
import { askerWentAway } from "./asker-went-away.js";
import { DROP_IF_FULL } from "../context/send-options.js";
import { BUILTINS_MODULE } from "./public-module.js";

/**
 * A built-in worker that replies to every message with its body, along the message's
 * return route: the guide's Echoer, without its console output. Start it anywhere:
 * `node.startWorker("echoer", Echoer)` runs it on a thread of its own.
 *
 * It answers whoever asks, so it never waits on one asker: an answer whose first hop is full
 * (a peer that reads nothing, or withholds its channel's credit) is dropped (`ifFull: "drop"`,
 * the node's `"dropped"` event) rather than holding up every other asker's answers behind it.
 * A client that pipelines more questions than its channel's send queue holds (4 MiB by
 * default) loses the answers past it, where it used to be slowed down.
 */
export class Echoer implements Worker {
  /** Lets a worker thread load this class (see BUILTINS_MODULE). */
  static readonly module = BUILTINS_MODULE;

  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    try {
      await ctx.send(msg.returnRoute, msg.body, DROP_IF_FULL);
    } catch (error) {
      // The asker went away before its answer: nothing to answer, and no fault of this worker's.
      // It was a handler error, with a warning, each time a client left mid-request.
      if (!askerWentAway(error, msg)) throw error;
    }
  }
}
