import type { Context } from "../context/context.js";
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
    await ctx.send(msg.returnRoute, msg.body);
  }
}
