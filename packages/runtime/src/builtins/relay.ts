import type { Address } from "../address/address.js";
import type { Context } from "../context/context.js";
import type { Routed } from "../message/routed.js";
import { OpenedHops } from "../relay/opened-hops.js";
import { route, type Route, type RouteLike } from "../route/route.js";
import type { Worker } from "../worker/worker.js";
import { BUILTINS_MODULE } from "./public-module.js";

/**
 * A built-in worker that forwards every message to a fixed route, keeping its return route:
 * the guide's Relay (Ockam's `forward_to_bob`). Start it with its route as argument:
 * `node.startWorker("forward_to_bob", Relay, { args: [route(connectionToBob)] })`.
 *
 * It also opens the flow controls a relay between two transports needs, once per previous
 * hop: what comes back through the next hop may reach the previous hop, and what came from
 * the previous hop may reach the next. The relay itself must still be made a consumer of
 * the flow it is reached from (e.g. `addConsumer("forward_to_bob", listener.flowControlId)`).
 *
 * Not to be confused with `startRelay`: that one is not a worker but a mailbox on the main
 * thread that rewrites the route without decoding or copying the payload, the faster
 * choice for a middle node that only forwards. This worker runs wherever workers run and
 * can be subclassed or copied to inspect, count or filter what it forwards.
 */
export class Relay implements Worker {
  /** Lets a worker thread load this class (see BUILTINS_MODULE). */
  static readonly module = BUILTINS_MODULE;
  /** Where every message goes next. */
  readonly route: Route;
  /** Previous hops whose flow controls are already open (a lookup each, not one per message). */
  readonly #opened = new OpenedHops();

  constructor(to: RouteLike) {
    this.route = route(to);
    this.route.next(); // an empty route is an error now, not at the first message
  }

  async handleMessage(ctx: Context, message: Routed): Promise<void> {
    const forwarded = message.message.withOnwardRoute(message.onwardRoute.popFront().prepend(this.route));
    const previous = forwarded.returnRoute.at(0);
    if (previous && this.#opened.shouldTry(previous.key)) {
      this.#opened.tried(previous.key, await this.#openFlows(ctx, previous, this.route.next()));
    }
    await ctx.forward(forwarded);
  }

  /** Opens the flows between `previous` and `next`; true if the next hop's flow was found (see OpenedHops). */
  async #openFlows(ctx: Context, previous: Address, next: Address): Promise<boolean> {
    const nextFlow = await ctx.flowControls.findFlowControlWithProducerAddress(next);
    if (nextFlow) ctx.flowControls.addConsumer(previous, nextFlow.flowControlId);
    const previousFlow = await ctx.flowControls.findFlowControlWithProducerAddress(previous);
    if (previousFlow) ctx.flowControls.addConsumer(next, previousFlow.flowControlId);
    return nextFlow !== undefined;
  }
}
