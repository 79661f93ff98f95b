import type { Context, Routed, Worker } from "@hopwire/runtime";

/**
 * One hop of a route: it takes itself off the message's onward route, puts itself on the
 * return route (so that the reply comes back through it), and forwards the message.
 */
export class Hop implements Worker {
  static readonly module = import.meta.url;

  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    console.log(`Address: ${ctx.address.toString()}, Received: ${JSON.stringify(msg.body)}`);
    const stepped = msg.message.withOnwardRoute(msg.onwardRoute.popFront()).withReturnRoute(msg.returnRoute.prepend(ctx.address));
    await ctx.forward(stepped);
  }
}
