import { RouteUnavailableError, UnknownAddressError } from "../errors/errors.js";
import type { Routed } from "../message/routed.js";
import { isRandomHex32 } from "../util/random-hex.js";

/**
 * Whether `error`, thrown by a send along `message`'s return route, says only that the asker
 * went away before its answer: the channel or connection it came through closed
 * (RouteUnavailableError and its subclasses, e.g. SecureChannelTransportError), or its reply
 * address is gone (UnknownAddressError for an address the runtime generated: a request that
 * timed out or was aborted). Nothing to answer then, and no fault of the worker's; a handler
 * that lets such an error out raises a "handler-error" each time a client leaves mid-request.
 * An unknown address the runtime did not generate is a wrong route, not this.
 *
 * ```ts
 * try {
 *   await ctx.send(msg.returnRoute, answer);
 * } catch (error) {
 *   if (!askerWentAway(error, msg)) throw error;
 * }
 * ```
 */
export function askerWentAway(error: unknown, message: Routed): boolean {
  if (error instanceof RouteUnavailableError) return true;
  const returnRoute = message.returnRoute;
  return error instanceof UnknownAddressError && !returnRoute.isEmpty && isRandomHex32(returnRoute.next().value);
}
