import type { Context } from "../context/context.js";
import { RouteUnavailableError, UnknownAddressError } from "../errors/errors.js";
import type { Routed } from "../message/routed.js";
import type { Worker } from "../worker/worker.js";
import { BUILTINS_MODULE } from "./public-module.js";

/**
 * A built-in worker that replies to every message with its body, along the message's
 * return route: the guide's Echoer, without its console output. Start it anywhere:
 * `node.startWorker("echoer", Echoer)` runs it on a thread of its own.
 */
export class Echoer implements Worker {
  /** Lets a worker thread load this class (see BUILTINS_MODULE). */
  static readonly module = BUILTINS_MODULE;

  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    try {
      await ctx.send(msg.returnRoute, msg.body);
    } catch (error) {
      // The asker went away before its answer (a closed channel or connection, a request that ended): nothing to answer,
      // and no fault of this worker's. It was a handler error, with a warning, each time a client left mid-request.
      if (error instanceof RouteUnavailableError || error instanceof UnknownAddressError) return;
      throw error;
    }
  }
}
