import type { Context } from "../context/context.js";
import type { Routed } from "../message/routed.js";
import type { Worker } from "../worker/worker.js";

/**
 * A built-in worker that replies to every message with its body, along the message's
 * return route: the guide's Echoer, without its console output. Start it anywhere:
 * `node.startWorker("echoer", Echoer)` runs it on a thread of its own.
 */
export class Echoer implements Worker {
  /**
   * Lets a worker thread load this class: from the module that exports it publicly, which is
   * builtins/index.js next to this file in the tsc layout and the package entry
   * (dist/bundle/index.js) when this code sits in a bundle (where a chunk's export names are
   * not this class's name).
   */
  static readonly module = new URL("./index.js", import.meta.url).href;

  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    await ctx.send(msg.returnRoute, msg.body);
  }
}
