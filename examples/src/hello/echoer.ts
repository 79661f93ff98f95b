import type { Context, Routed, Worker } from "@hopwire/runtime";

/**
 * Replies to every message with its body, along the message's return route.
 * `static module` lets the node load this class on a thread of its own (the default).
 */
export class Echoer implements Worker<string> {
  static readonly module = import.meta.url;

  async handleMessage(ctx: Context, msg: Routed<string>): Promise<void> {
    console.log(`Address: ${ctx.address.toString()}, Received: ${JSON.stringify(msg.body)}`);
    await ctx.send(msg.returnRoute, msg.body);
  }
}
