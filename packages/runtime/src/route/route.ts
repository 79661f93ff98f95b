import { Address } from "../address/address.js";
import { InvalidOptionError, InvalidRouteError } from "../errors/errors.js";

/**
 * Anything a route can be built from: strings ("a", "1#host:port", "a => b"), addresses,
 * routes, objects that expose a `route` (connections, channels), and arrays of these.
 */
export type RouteLike = string | Address | Route | { readonly route: Route } | readonly RouteLike[];

/**
 * The most addresses a route may have in an envelope: routes through several relays and
 * channels have a handful. The codec refuses longer ones, written (InvalidRouteError, to the
 * sender) or read (DecodeError: a peer's route of millions of hops took seconds to decode
 * and ~12× its bytes of memory).
 */
export const MAX_ROUTE_LENGTH = 255;

/** Set by `adoptRoute` for the one constructor call that follows it. */
let adopting = false;
/** Reads a route's array without freezing it (see `addressesOf`). */
let internalAddresses: (r: Route) => readonly Address[];
/** A route's size in bytes, measured once (see `routeBytes`). */
let internalBytes: (r: Route) => number;
/**
 * `route(front, text)` for a route, or what has a `.route` (a channel, a connection), and a
 * short text, the way a loop usually names where it sends (`route(channel, "sink")`): the
 * last one made is kept on the front's route, so that such a loop makes no route per send and
 * repeats the same object. Not in a table by front: a front made per call (a reply address)
 * would cost the collector an entry per call. Set in Route's static block.
 */
let joinedRoute: (front: Route, text: string) => Route;

/**
 * An immutable list of addresses; every operation returns a new route.
 *
 * Routes are built once or more per message per hop, so the runtime avoids the costs that
 * immutability would otherwise bring on every construction: the routes it builds itself
 * (popFront, prepend, decoded envelopes, …) keep the array they were built from instead of
 * copying it, and no array is frozen until someone reads `addresses`. A caller never sees
 * a mutable array: `addresses` freezes it on first access.
 */
export class Route {
  /** The route with no hops (set just below the class: see there). */
  static readonly EMPTY: Route;
  readonly #addresses: readonly Address[];
  #frozen = false;
  /** What `routeBytes` measured, or -1. */
  #bytes = -1;
  /** The last route made as `route(this, text)` and its text; null for such a route itself, which keeps none (see joinedRoute). */
  #joined: { readonly text: string; readonly route: Route } | null | undefined;

  static {
    internalAddresses = (r) => r.#addresses;
    internalBytes = (r) => (r.#bytes >= 0 ? r.#bytes : (r.#bytes = measureBytes(r.#addresses)));
    joinedRoute = (front, text) => {
      const last = front.#joined;
      if (last?.text === text) return last.route;
      const addresses = [...front.#addresses];
      pushAll(addresses, internalAddresses(routeOfText(text)));
      const joined = adoptRoute(addresses);
      // A route built up hop by hop (`r = route(r, "hop")`) would otherwise keep every step alive from its first.
      joined.#joined = null;
      if (last !== null) front.#joined = { text, route: joined };
      return joined;
    };
  }

  /** A route over a copy of `addresses` (the array stays the caller's). */
  constructor(addresses: readonly Address[]) {
    if (adopting) {
      adopting = false;
      this.#addresses = addresses;
    } else this.#addresses = addresses.slice();
  }

  /** The addresses, first hop first (a frozen array). */
  get addresses(): readonly Address[] {
    const addresses = this.#addresses;
    if (!this.#frozen) {
      Object.freeze(addresses);
      this.#frozen = true;
    }
    return addresses;
  }

  get length(): number {
    return this.#addresses.length;
  }

  get isEmpty(): boolean {
    return this.#addresses.length === 0;
  }

  /** The address at `index` (negative counts from the end), or undefined. */
  at(index: number): Address | undefined {
    const addresses = this.#addresses;
    return addresses[index < 0 ? addresses.length + index : index];
  }

  /** The next hop; throws InvalidRouteError on an empty route. */
  next(): Address {
    const first = this.#addresses[0];
    if (!first) throw new InvalidRouteError("The route is empty: there is no next hop");
    return first;
  }

  /** The last address of the route (the final recipient), if any. */
  recipient(): Address | undefined {
    return this.#addresses[this.#addresses.length - 1];
  }

  /** Drops the first hop. */
  popFront(): Route {
    this.next();
    return adoptRoute(this.#addresses.slice(1));
  }

  /** A new route with `parts` added at the front. */
  prepend(...parts: RouteLike[]): Route {
    const out: Address[] = [];
    for (const part of parts) collect(part, out);
    for (const a of this.#addresses) out.push(a);
    return adoptRoute(out);
  }

  /** A new route with `parts` added at the end. */
  append(...parts: RouteLike[]): Route {
    const out = this.#addresses.slice();
    for (const part of parts) collect(part, out);
    return adoptRoute(out);
  }

  /** Replaces the first hop by `parts` (what a relay does). */
  replaceFront(...parts: RouteLike[]): Route {
    this.next();
    const out: Address[] = [];
    for (const part of parts) collect(part, out);
    const addresses = this.#addresses;
    for (let i = 1; i < addresses.length; i++) out.push(addresses[i]!);
    return adoptRoute(out);
  }

  /**
   * True when both hold the same addresses in the same order; with `from` (a whole number,
   * 0 or more), when they are as long and the same from that index on (e.g. 1: the same but
   * for their first hop, which a transport or a channel leaves out of the envelope it writes).
   */
  equals(other: Route, from = 0): boolean {
    if (from !== 0 && !(Number.isInteger(from) && from > 0)) throw new InvalidOptionError(`from must be a whole number, 0 or more, got ${String(from)}`, { option: "from" });
    const a = this.#addresses;
    const b = other.#addresses;
    if (a === b) return true;
    if (a.length !== b.length) return false;
    for (let i = from; i < a.length; i++) if (a[i] !== b[i] && !a[i]!.equals(b[i]!)) return false;
    return true;
  }

  /** The addresses joined by " => ". */
  toString(): string {
    return this.#addresses.map((a) => a.toString()).join(" => ");
  }

  /** The string form, for JSON. */
  toJSON(): string {
    return this.toString();
  }

  /** How console.log and util.inspect show a route (its state is in private fields). */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Route(${this.toString()})`;
  }
}

// Not an initializer in the class body: a class that names itself in its body comes out of
// the bundler renamed (`class _Route`), and restoring its name puts it in V8's slow
// dictionary mode (scripts/bundle.mjs). The same holds for Address and MessageRun.
(Route as { EMPTY: Route }).EMPTY = adoptRoute([]);

/**
 * A route over `addresses` itself, not a copy: for the runtime's own code, with an array it
 * has just built and will never change nor hand out. @internal (not exported by the package)
 */
export function adoptRoute(addresses: Address[]): Route {
  adopting = true;
  return new Route(addresses);
}

/**
 * A route's addresses without freezing them, for the runtime's own hot paths (the envelope
 * codec), which only read them. @internal (not exported by the package)
 */
export function addressesOf(r: Route): readonly Address[] {
  return internalAddresses(r);
}

/**
 * About the bytes `r` takes in an envelope, and in memory while a message holds it: each
 * value's length and a few bytes of framing per address. Measured once per route (a stream's
 * messages share theirs), so that a mailbox can count a queued message's routes with its
 * payload: a peer's message of one payload byte and 500 KiB of routes is not one byte.
 */
export function routeBytes(r: Route): number {
  return internalBytes(r);
}

function measureBytes(addresses: readonly Address[]): number {
  let bytes = 3;
  for (const address of addresses) bytes += 4 + address.value.length;
  return bytes;
}

/**
 * Builds a route, flattening strings, addresses, routes, route-like objects and arrays.
 * A single route (or route-like object) is returned as it is: routes are immutable.
 */
export function route(...parts: RouteLike[]): Route {
  if (parts.length === 1) {
    const part = parts[0];
    if (part instanceof Route) return part;
    if (typeof part === "string") return parsedRoute(part);
    if (part instanceof Address) return adoptRoute([part]);
    const inner = routeOf(part);
    if (inner) return inner;
  } else if (parts.length === 2 && typeof parts[1] === "string" && parts[1].length <= CACHED_TEXT_MAX) {
    const first = parts[0];
    const front = first instanceof Route ? first : routeOf(first);
    if (front !== undefined) return joinedRoute(front, parts[1]);
  }
  const addresses: Address[] = [];
  for (const part of parts) collect(part, addresses);
  return adoptRoute(addresses);
}

function routeOf(part: unknown): Route | undefined {
  if (part && typeof part === "object" && !Array.isArray(part)) {
    const inner = (part as { route?: unknown }).route;
    if (inner instanceof Route) return inner;
  }
  return undefined;
}

function collect(part: RouteLike, into: Address[]): void {
  if (part instanceof Address) into.push(part);
  else if (part instanceof Route) pushAll(into, internalAddresses(part));
  else if (typeof part === "string") collectString(part, into);
  else if (Array.isArray(part)) for (const p of part) collect(p, into);
  else {
    const inner = routeOf(part);
    if (!inner) throw new InvalidRouteError(`Cannot build a route from ${describeRoutePart(part)}`);
    pushAll(into, internalAddresses(inner));
  }
}

/** What a part that is no hop is, and what a hop may be: the usual slips are a missing `await` and a bare port. */
function describeRoutePart(part: unknown): string {
  const hops = 'a hop is an address ("echoer", "1#127.0.0.1:4000"), a Route, or what has a .route (a connection, a channel)';
  if (typeof (part as { then?: unknown } | null)?.then === "function") return `a Promise (is an \`await\` missing?); ${hops}`;
  if (part === null || part === undefined) return `${String(part)}; ${hops}`;
  if (typeof part === "object") return `an object with no .route; ${hops}`;
  return `the ${typeof part} ${String(part)}; ${hops}`;
}

/**
 * The addresses of "a => b => c". A blank string is no address (`route("")` is empty); a
 * hop with nothing in it ("a => => c", "a =>") is an InvalidRouteError naming its position:
 * it used to be dropped, so a mistyped route silently went somewhere else.
 */
function collectString(text: string, into: Address[]): void {
  const trimmed = text.trim();
  if (trimmed.length === 0) return;
  // The common case, one hop ("echoer" in route(channel, "echoer")), made once per text.
  if (!trimmed.includes("=>")) {
    into.push(parsedHop(trimmed));
    return;
  }
  const pieces = text.split("=>");
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!.trim();
    if (piece.length === 0) {
      const where = i === 0 ? 'nothing before the first "=>"' : i === pieces.length - 1 ? 'nothing after the last "=>"' : 'nothing between two "=>"';
      throw new InvalidRouteError(`Invalid route ${JSON.stringify(text)}: hop ${i + 1} of ${pieces.length} is empty (${where})`);
    }
    into.push(Address.parse(piece));
  }
}

/** Addresses parsed from one-hop texts, by text: addresses are immutable values, so routes may share them. */
const parsedHops = new Map<string, Address>();
/** Bounds what texts from the network or a long-running app can make the cache hold. */
const PARSED_HOPS_MAX = 1024;

/** `Address.parse(text)` for a trimmed one-hop text, remembered (throws InvalidAddressError, remembering nothing). */
function parsedHop(text: string): Address {
  let address = parsedHops.get(text);
  if (address === undefined) {
    address = Address.parse(text);
    if (parsedHops.size >= PARSED_HOPS_MAX) parsedHops.clear();
    parsedHops.set(text, address);
  }
  return address;
}

/**
 * Routes parsed from texts, by text: a send that names its destination by text (`send("sink",
 * …)`) takes the same route object each time, which the hot paths compare before the hops
 * (docs/performance-log.md, session 49). Routes are immutable values, so sends may share them.
 * Only short texts: a long one is parsed each time rather than kept.
 */
const parsedRoutes = new Map<string, Route>();
const CACHED_TEXT_MAX = 256;

/** `route(text)`, remembered if short (throws InvalidRouteError or InvalidAddressError, remembering nothing). */
function parsedRoute(text: string): Route {
  let r = parsedRoutes.get(text);
  if (r === undefined) {
    r = routeOfText(text);
    if (text.length > CACHED_TEXT_MAX) return r;
    if (parsedRoutes.size >= PARSED_HOPS_MAX) parsedRoutes.clear();
    parsedRoutes.set(text, r);
  }
  return r;
}

function routeOfText(text: string): Route {
  const addresses: Address[] = [];
  collectString(text, addresses);
  return adoptRoute(addresses);
}

function pushAll(into: Address[], addresses: readonly Address[]): void {
  for (let i = 0; i < addresses.length; i++) into.push(addresses[i]!);
}
