import {
  checkFlowControlIds,
  checkOptionKeys,
  describeValue,
  formatHostPort,
  InvalidOptionError,
  isOptionsObject,
  notAnOptionsObjectError,
  optionKeys,
  orDefault,
  route,
  type AddressLike,
  type FlowControlId,
  type HostPort,
  type Route,
  type RouteLike,
} from "@hopwire/runtime";
import { parseHostPort } from "./host-port.js";

/** Default receive window of a portal stream, per direction, in bytes (1 MiB): where each stream starts. */
export const DEFAULT_STREAM_WINDOW_BYTES = 1024 * 1024;
/** Default largest window a stream grows to while its peer waits on credit (8 MiB). */
export const DEFAULT_MAX_STREAM_WINDOW_BYTES = 8 * 1024 * 1024;
/**
 * How much the streams of one inlet or outlet may grow their windows beyond `windowBytes`,
 * all together (64 MiB): what clients that drained fast and then stopped reading can make a
 * node hold beyond the base windows.
 */
export const STREAM_WINDOW_GROWTH_BUDGET_BYTES = 64 * 1024 * 1024;
/**
 * How much of an outlet's STREAM_WINDOW_GROWTH_BUDGET_BYTES the streams opened through one
 * channel may hold together (a quarter, 16 MiB, as maxStreamsPerChannel's default is a quarter
 * of maxStreams): one peer whose streams grew and then went idle cannot leave every other
 * channel's streams without growth.
 */
export const CHANNEL_WINDOW_GROWTH_BYTES = STREAM_WINDOW_GROWTH_BUDGET_BYTES / 4;
/** Default time an inlet waits for the outlet to answer a new stream (10 s). */
export const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
/** Default time an outlet waits for its target to accept a connection (5 s). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Default number of streams an inlet or an outlet carries at once (1 024). */
export const DEFAULT_MAX_STREAMS = 1024;
/**
 * Default number of an outlet's streams that one channel may hold at once (256, or
 * `maxStreams` if smaller): a quarter of the default `maxStreams`, as a TCP listener's
 * `maxConnectionsPerHost` is of its `maxConnections`, so one peer cannot take every slot.
 */
export const DEFAULT_MAX_STREAMS_PER_CHANNEL = 256;
/**
 * Default number of streams one channel may open at an outlet per second (500, and as many at
 * once after a second without any): each is a new connection to the target, and a peer that
 * opens, waits for OPENED and resets, again and again, made an outlet dial 1,854 a second.
 */
export const DEFAULT_MAX_OPENS_PER_SECOND_PER_CHANNEL = 500;
/** Default address of an outlet ("outlet"). */
export const DEFAULT_OUTLET_ADDRESS = "outlet";

const MIN_WINDOW = 1024;
const MAX_WINDOW = 0x7fff_ffff;

/** Options shared by inlets and outlets. */
export interface PortalStreamOptions {
  /**
   * How many bytes the far side may send on one stream before this side's socket drained
   * them (its credit) when the stream opens. Default 1 MiB; at least 1 KiB. A stream's
   * memory on this side is bounded by its window.
   */
  windowBytes?: number;
  /**
   * How far a stream's window may grow while its peer waits on credit and this side's socket
   * keeps up (it doubles each time, within 64 MiB of growth for all the streams of this
   * inlet or outlet together). Default 8 MiB, or `windowBytes` if that is larger; equal to
   * `windowBytes`: no growth.
   */
  maxWindowBytes?: number;
  /** How many client connections (inlet) or target connections (outlet) at once. Default 1 024. */
  maxStreams?: number;
}

/** What `createOutlet` takes. */
export interface OutletOptions extends PortalStreamOptions {
  /** The outlet's local address, which inlets put last in their route. Default "outlet". */
  address?: AddressLike;
  /** The target it connects to for each stream: "host:port". */
  to: string;
  /**
   * Further targets ("host:port") an inlet may ask for with its `target` option. `to` is
   * always allowed; anything else is refused, never dialled.
   */
  allow?: string[];
  /**
   * The flow control ids whose messages may reach the outlet: usually a secure channel
   * listener's `flowControlId`. Without one, no message from the network reaches it (only
   * workers of this node can open streams).
   */
  asConsumer?: FlowControlId | FlowControlId[];
  /** How long a dial to the target may take before the stream is refused. Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * How many of the outlet's streams the OPENs of one channel (the first hop of their return
   * route: a secure channel, or a TCP connection) may hold at once; its next OPEN is refused
   * with PORTAL_STREAM_LIMIT, other channels' are not. Default 256, or `maxStreams` if
   * smaller; at most `maxStreams`.
   */
  maxStreamsPerChannel?: number;
  /**
   * How many streams the OPENs of one channel may open per second (each a dial to the target):
   * a token bucket holding one second's worth, so a burst of that many after a quiet second.
   * Past it an OPEN is refused with PORTAL_STREAM_LIMIT before any dial; other channels' are
   * not. Default 500 (DEFAULT_MAX_OPENS_PER_SECOND_PER_CHANNEL); 1 to 1 000 000.
   */
  maxOpensPerSecondPerChannel?: number;
}

/** What `createInlet` takes. */
export interface InletOptions extends PortalStreamOptions {
  /** Where the inlet listens: "host:port"; port 0 lets the system choose. */
  listen: string;
  /** The route to the outlet, e.g. `route(channel, "outlet")` or "outlet" on this node. */
  route: RouteLike;
  /** Ask the outlet for this target instead of its own `to` (it must be on the outlet's allow-list). */
  target?: string;
  /** How long a new stream waits for the outlet's answer before its client is reset. Default 10 s. */
  openTimeoutMs?: number;
  /**
   * Send a client's first bytes (up to 64 KiB) right behind the stream's OPEN, without waiting
   * for the outlet's answer: one crossing of the route less before they reach the target.
   * Default true; an outlet from before early data is detected on the first stream, and streams
   * then open as it expects. See docs/portals.md, "Early data".
   */
  earlyData?: boolean;
}

/** Outlet options after validation, with defaults filled in. */
export interface ResolvedOutletOptions {
  address: AddressLike;
  to: HostPort;
  allowed: Set<string>;
  asConsumer: FlowControlId[];
  connectTimeoutMs: number;
  windowBytes: number;
  maxWindowBytes: number;
  maxStreams: number;
  maxStreamsPerChannel: number;
  maxOpensPerSecondPerChannel: number;
}

/** Inlet options after validation, with defaults filled in. */
export interface ResolvedInletOptions {
  listen: HostPort;
  route: Route;
  target: string;
  openTimeoutMs: number;
  earlyData: boolean;
  windowBytes: number;
  maxWindowBytes: number;
  maxStreams: number;
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (!isOptionsObject(value)) throw notAnOptionsObjectError(`${what} must be an object`, value);
  return value as Record<string, unknown>;
}

function integer(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(`${name} must be an integer from ${min} to ${max}, got ${describeValue(value)}`, { option: name });
  }
  return value;
}

function boolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new InvalidOptionError(`${name} must be true or false, got ${describeValue(value)}`, { option: name });
  return value;
}

function stream(options: Record<string, unknown>): { windowBytes: number; maxWindowBytes: number; maxStreams: number } {
  const windowBytes = integer(options.windowBytes, "windowBytes", DEFAULT_STREAM_WINDOW_BYTES, MIN_WINDOW, MAX_WINDOW);
  const maxWindowBytes = integer(options.maxWindowBytes, "maxWindowBytes", Math.max(DEFAULT_MAX_STREAM_WINDOW_BYTES, windowBytes), MIN_WINDOW, MAX_WINDOW);
  if (maxWindowBytes < windowBytes) {
    throw new InvalidOptionError(`maxWindowBytes must be at least windowBytes (${windowBytes}), got ${maxWindowBytes}`, { option: "maxWindowBytes" });
  }
  return { windowBytes, maxWindowBytes, maxStreams: integer(options.maxStreams, "maxStreams", DEFAULT_MAX_STREAMS, 1, 1_000_000) };
}

const OUTLET_KEYS = optionKeys<OutletOptions>({
  address: true,
  to: true,
  allow: true,
  asConsumer: true,
  connectTimeoutMs: true,
  windowBytes: true,
  maxWindowBytes: true,
  maxStreams: true,
  maxStreamsPerChannel: true,
  maxOpensPerSecondPerChannel: true,
});
const INLET_KEYS = optionKeys<InletOptions>({
  listen: true,
  route: true,
  target: true,
  openTimeoutMs: true,
  earlyData: true,
  windowBytes: true,
  maxWindowBytes: true,
  maxStreams: true,
});

/** Validates outlet options; throws InvalidOptionError naming the option. */
export function resolveOutletOptions(input: OutletOptions): ResolvedOutletOptions {
  const options = object(input, "outlet options");
  checkOptionKeys(options, OUTLET_KEYS, "outlet options");
  const address = orDefault(options.address, DEFAULT_OUTLET_ADDRESS);
  if (typeof address !== "string" && (typeof address !== "object" || address === null)) {
    throw new InvalidOptionError(`address must be an address string, got ${describeValue(address)}`, { option: "address" });
  }
  const to = parseHostPort(options.to, "to", false);
  const allowed = new Set<string>([formatHostPort(to.host, to.port)]);
  if (options.allow !== undefined) {
    if (!Array.isArray(options.allow)) throw new InvalidOptionError(`allow must be an array of "host:port" strings`, { option: "allow" });
    options.allow.forEach((entry, i) => {
      const hp = parseHostPort(entry, `allow[${i}]`, false);
      allowed.add(formatHostPort(hp.host, hp.port));
    });
  }
  const consumers = checkFlowControlIds(options.asConsumer, "asConsumer", "outlet options");
  const streams = stream(options);
  return {
    address: address as AddressLike,
    to,
    allowed,
    asConsumer: consumers,
    connectTimeoutMs: integer(options.connectTimeoutMs, "connectTimeoutMs", DEFAULT_CONNECT_TIMEOUT_MS, 1, 3_600_000),
    ...streams,
    maxStreamsPerChannel: integer(
      options.maxStreamsPerChannel,
      "maxStreamsPerChannel",
      Math.min(DEFAULT_MAX_STREAMS_PER_CHANNEL, streams.maxStreams),
      1,
      streams.maxStreams,
    ),
    maxOpensPerSecondPerChannel: integer(
      options.maxOpensPerSecondPerChannel,
      "maxOpensPerSecondPerChannel",
      DEFAULT_MAX_OPENS_PER_SECOND_PER_CHANNEL,
      1,
      1_000_000,
    ),
  };
}

/** Validates inlet options; throws InvalidOptionError naming the option. */
export function resolveInletOptions(input: InletOptions): ResolvedInletOptions {
  const options = object(input, "inlet options");
  checkOptionKeys(options, INLET_KEYS, "inlet options");
  const listen = parseHostPort(options.listen, "listen", true);
  if (options.route === undefined || options.route === null) throw new InvalidOptionError("route is required (the route to the outlet)", { option: "route" });
  let r: Route;
  try {
    r = route(options.route as RouteLike);
  } catch (error) {
    throw new InvalidOptionError(`route is not a route: ${(error as Error).message}`, { cause: error, option: "route" });
  }
  if (r.length === 0) throw new InvalidOptionError("route must not be empty", { option: "route" });
  let target = "";
  if (options.target !== undefined) {
    const hp = parseHostPort(options.target, "target", false);
    target = formatHostPort(hp.host, hp.port);
  }
  return {
    listen,
    route: r,
    target,
    openTimeoutMs: integer(options.openTimeoutMs, "openTimeoutMs", DEFAULT_OPEN_TIMEOUT_MS, 1, 3_600_000),
    earlyData: boolean(options.earlyData, "earlyData", true),
    ...stream(options),
  };
}
