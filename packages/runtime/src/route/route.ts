import { Address } from "../address/address.js";
import { InvalidRouteError } from "../errors/errors.js";

/**
 * Anything a route can be built from: strings ("a", "1#host:port", "a => b"), addresses,
 * routes, objects that expose a `route` (connections, channels), and arrays of these.
 */
export type RouteLike = string | Address | Route | { readonly route: Route } | readonly RouteLike[];

/** An immutable list of addresses; every operation returns a new route. */
export class Route {
  static readonly EMPTY = new Route([]);
  readonly addresses: readonly Address[];

  constructor(addresses: readonly Address[]) {
    this.addresses = Object.freeze(addresses.slice());
  }

  get length(): number {
    return this.addresses.length;
  }

  get isEmpty(): boolean {
    return this.addresses.length === 0;
  }

  /** The next hop; throws InvalidRouteError on an empty route. */
  next(): Address {
    const first = this.addresses[0];
    if (!first) throw new InvalidRouteError("The route is empty: there is no next hop");
    return first;
  }

  /** The last address of the route (the final recipient), if any. */
  recipient(): Address | undefined {
    return this.addresses[this.addresses.length - 1];
  }

  /** Drops the first hop. */
  popFront(): Route {
    this.next();
    return new Route(this.addresses.slice(1));
  }

  prepend(...parts: RouteLike[]): Route {
    return new Route([...route(...parts).addresses, ...this.addresses]);
  }

  append(...parts: RouteLike[]): Route {
    return new Route([...this.addresses, ...route(...parts).addresses]);
  }

  /** Replaces the first hop by `parts` (what a relay does). */
  replaceFront(...parts: RouteLike[]): Route {
    return this.popFront().prepend(...parts);
  }

  equals(other: Route): boolean {
    return this.length === other.length && this.addresses.every((a, i) => a.equals(other.addresses[i]!));
  }

  toString(): string {
    return this.addresses.map((a) => a.toString()).join(" => ");
  }

  toJSON(): string {
    return this.toString();
  }
}

/** Builds a route, flattening strings, addresses, routes, route-like objects and arrays. */
export function route(...parts: RouteLike[]): Route {
  const addresses: Address[] = [];
  for (const part of parts) collect(part, addresses);
  return new Route(addresses);
}

function collect(part: RouteLike, into: Address[]): void {
  if (part instanceof Address) into.push(part);
  else if (part instanceof Route) into.push(...part.addresses);
  else if (typeof part === "string") {
    for (const piece of part.split("=>")) {
      const text = piece.trim();
      if (text.length > 0) into.push(Address.parse(text));
    }
  } else if (Array.isArray(part)) for (const p of part) collect(p, into);
  else if (part && typeof part === "object" && (part as { route?: unknown }).route instanceof Route) {
    into.push(...(part as { route: Route }).route.addresses);
  } else throw new InvalidRouteError(`Cannot build a route from ${typeof part}`);
}
