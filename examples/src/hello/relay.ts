import { Route, route, type Address, type Context, type RouteLike, type Routed, type Worker } from "@hopwire/runtime";

/**
 * Forwards every message to a fixed route, keeping its return route (Ockam's hello Relay).
 * It also opens the flow controls a relay needs so that messages can pass between the
 * transports on either side: what comes back through the next hop may reach the previous
 * hop, and what came from the previous hop may reach the next.
 */
export class Relay implements Worker {
  static readonly module = import.meta.url;
  readonly route: Route;
  /** Previous hops whose flow controls are already open (one lookup each, not one per message). */
  readonly #opened = new Set<string>();

  readonly #quiet: boolean;

  /** `quiet` skips the line printed per message (benchmarks relay millions). */
  constructor(to: RouteLike, options: { quiet?: boolean } = {}) {
    this.route = route(to);
    this.#quiet = options.quiet === true;
    this.route.next(); // an empty route is an error now, not at the first message
  }

  async handleMessage(ctx: Context, message: Routed): Promise<void> {
    if (!this.#quiet) console.log(`Address: ${ctx.address.toString()}, Received: ${message.payload.length} bytes`);
    const forwarded = message.message.withOnwardRoute(message.onwardRoute.popFront().prepend(this.route));
    const previous = forwarded.returnRoute.at(0);
    if (previous && !this.#opened.has(previous.key)) {
      await this.#openFlows(ctx, previous, this.route.next());
      this.#opened.add(previous.key);
    }
    await ctx.forward(forwarded);
  }

  async #openFlows(ctx: Context, previous: Address, next: Address): Promise<void> {
    const nextFlow = await ctx.flowControls.findFlowControlWithProducerAddress(next);
    if (nextFlow) ctx.flowControls.addConsumer(previous, nextFlow.flowControlId);
    const previousFlow = await ctx.flowControls.findFlowControlWithProducerAddress(previous);
    if (previousFlow) ctx.flowControls.addConsumer(next, previousFlow.flowControlId);
  }
}
