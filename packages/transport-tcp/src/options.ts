import {
  checkFlowControlId,
  checkOptionKeys,
  checkTimeoutOption,
  describeValue,
  FlowControls,
  formatHostPort,
  InvalidOptionError,
  isPlainObject,
  MAX_TIMEOUT_MS,
  notAnOptionsObjectError,
  optionKeys,
  positiveIntegerRule,
  type FlowControlId,
} from "@hopwire/runtime";
import { parseHostPort } from "./host-port.js";

/** Options objects are consumed by the listener or connection they create, as in Ockam. */
const used = new WeakSet<object>();

/** Marks `options` as used; a second use is an InvalidOptionError (its flow control id identifies one component). */
export function claimOptions(options: TcpConnectionOptions | TcpListenerOptions): void {
  if (used.has(options)) {
    throw new InvalidOptionError(
      `options: this ${options.constructor.name} was already used; create a new one for each ${
        options instanceof TcpListenerOptions ? "listener" : "connection"
      } (its flow control id identifies exactly one)`,
      { option: "options" },
    );
  }
  used.add(options);
}

/**
 * A whole number of milliseconds ≥ 1 (timers take integers; 0 would mean "at once"), up to
 * what a timer takes. `option` is the option's name (its `option` detail), `where` prefixes
 * the message (e.g. "TcpConnectionOptions.withIdleTimeout").
 */
function checkMs(value: unknown, option: string, where?: string, allowZero = false): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > MAX_TIMEOUT_MS) {
    throw new InvalidOptionError(
      `${where === undefined ? "" : `${where}: `}${option} must be a whole number of milliseconds${allowZero ? " (0: off)" : ""} up to ${MAX_TIMEOUT_MS}, got ${describeValue(value)}`,
      { option },
    );
  }
  return value;
}


/** Checks that the keepalive fits at least twice in the peer timeout (one late keepalive must not kill a live link). */
function checkKeepalivePair(interval: number, peerTimeout: number, where: string): void {
  if (interval * 2 > peerTimeout) {
    throw new InvalidOptionError(
      `${where}: keepaliveInterval (${interval} ms) must be at most half of peerTimeout (${peerTimeout} ms), so that one late keepalive does not declare a live peer dead`,
      { option: "keepaliveInterval" },
    );
  }
}

/**
 * The liveness settings of one connection: how often it sends a keepalive when it has
 * sent nothing, how long the peer may stay silent, how soon the first frame must arrive,
 * and how long the connection may carry no message (0: no idle timeout).
 */
export interface TcpLiveness {
  keepaliveInterval: number;
  peerTimeout: number;
  firstFrameTimeout: number;
  idleTimeout: number;
}

/** Per-listener or per-connection overrides of the transport's liveness settings. @internal */
class LivenessOverrides {
  keepaliveInterval: number | undefined;
  peerTimeout: number | undefined;
  firstFrameTimeout: number | undefined;
  idleTimeout: number | undefined;

  /** The transport's settings with these overrides applied (checked again as a pair). */
  resolve(defaults: TcpLiveness, where: string): TcpLiveness {
    const resolved = {
      keepaliveInterval: this.keepaliveInterval ?? defaults.keepaliveInterval,
      peerTimeout: this.peerTimeout ?? defaults.peerTimeout,
      firstFrameTimeout: this.firstFrameTimeout ?? defaults.firstFrameTimeout,
      idleTimeout: this.idleTimeout ?? defaults.idleTimeout,
    };
    checkKeepalivePair(resolved.keepaliveInterval, resolved.peerTimeout, where);
    return resolved;
  }
}

function setKeepalive(target: LivenessOverrides, intervalMs: number, peerTimeoutMs: number, where: string): void {
  const interval = checkMs(intervalMs, "keepaliveInterval", `${where}.withKeepalive`);
  const peerTimeout = checkMs(peerTimeoutMs, "peerTimeout", `${where}.withKeepalive`);
  checkKeepalivePair(interval, peerTimeout, `${where}.withKeepalive`);
  target.keepaliveInterval = interval;
  target.peerTimeout = peerTimeout;
}

/** How an outgoing connection reconnects after its socket died (see TcpConnectionOptions.withReconnect). */
export interface TcpReconnectOptions {
  /** Milliseconds before the first attempt (default 250). */
  initialDelay?: number;
  /** The delay doubles after each failed attempt, up to this (default 10 000). */
  maxDelay?: number;
  /** Attempts before giving up for good (default: unlimited, until the connection or node stops). */
  maxAttempts?: number;
}

const RECONNECT_OPTIONS = optionKeys<TcpReconnectOptions>({ initialDelay: true, maxDelay: true, maxAttempts: true });

/** TcpReconnectOptions with every default applied. */
export interface ResolvedTcpReconnect {
  initialDelay: number;
  maxDelay: number;
  maxAttempts: number;
}

/**
 * Options of an outgoing connection. As in Ockam, the connection's receiver is a producer
 * with a fresh flow control id (`flowControlId`): messages arriving on it reach only the
 * workers made consumers of that id (and the local workers that sent into the connection,
 * so that their replies come back).
 */
export class TcpConnectionOptions {
  /** The id of the flow the connection's receiver produces. */
  readonly flowControlId: FlowControlId = FlowControls.generateId();
  readonly #consumerOf: FlowControlId[] = [];
  #timeout: number | undefined;
  readonly #liveness = new LivenessOverrides();
  #reconnect: ResolvedTcpReconnect | undefined;

  /**
   * Makes the connection's sender a consumer of `flowControlId`: messages produced by that
   * flow (e.g. arriving from another connection or a secure channel) may be routed into
   * this connection.
   */
  asConsumer(flowControlId: FlowControlId): this {
    this.#consumerOf.push(checkFlowControlId(flowControlId, "asConsumer", "TcpConnectionOptions"));
    return this;
  }

  /** Gives up connecting after `ms` milliseconds (a call's own `{ timeout }` takes precedence). */
  withTimeout(ms: number): this {
    this.#timeout = checkTimeoutOption(ms, "timeout", "TcpConnectionOptions.withTimeout");
    return this;
  }

  /**
   * Sends a keepalive after `intervalMs` without sending anything, and declares the peer
   * dead after `peerTimeoutMs` without receiving anything (transport defaults: 10 s, 30 s).
   * The interval must be at most half the timeout.
   */
  withKeepalive(intervalMs: number, peerTimeoutMs: number): this {
    setKeepalive(this.#liveness, intervalMs, peerTimeoutMs, "TcpConnectionOptions");
    return this;
  }

  /** Closes the connection after `ms` without a complete first frame from the peer (transport default 10 s). */
  withFirstFrameTimeout(ms: number): this {
    this.#liveness.firstFrameTimeout = checkMs(ms, "firstFrameTimeout", "TcpConnectionOptions.withFirstFrameTimeout");
    return this;
  }

  /** Closes the connection after `ms` without a message either way (keepalives do not count); 0 turns it off. */
  withIdleTimeout(ms: number): this {
    this.#liveness.idleTimeout = checkMs(ms, "idleTimeout", "TcpConnectionOptions.withIdleTimeout", true);
    return this;
  }

  /**
   * When the socket dies (peer gone, reset, keepalive timeout, idle timeout), connect to
   * the same "host:port" again, with exponential backoff, keeping the connection's
   * addresses and flow control id: routes through it (a relay's `route(connection)`) work
   * again once it is back. `connection.stop()` (or the node's) ends it for good.
   */
  withReconnect(options: TcpReconnectOptions = {}): this {
    if (options === null || typeof options !== "object") {
      throw new InvalidOptionError(
        `TcpConnectionOptions.withReconnect: reconnect must be an object ({} for the defaults, or { initialDelay, maxDelay, maxAttempts }), got ${describeValue(options)}`,
        { option: "reconnect" },
      );
    }
    checkOptionKeys(options, RECONNECT_OPTIONS, "TcpConnectionOptions.withReconnect", "reconnect");
    const initialDelay = options.initialDelay === undefined ? 250 : checkMs(options.initialDelay, "reconnect.initialDelay", "TcpConnectionOptions.withReconnect");
    const maxDelay = options.maxDelay === undefined ? Math.max(10_000, initialDelay) : checkMs(options.maxDelay, "reconnect.maxDelay", "TcpConnectionOptions.withReconnect");
    if (maxDelay < initialDelay) {
      throw new InvalidOptionError(`TcpConnectionOptions.withReconnect: maxDelay (${maxDelay}) must not be below initialDelay (${initialDelay})`, {
        option: "reconnect.maxDelay",
      });
    }
    let maxAttempts = Number.POSITIVE_INFINITY;
    if (options.maxAttempts !== undefined) {
      if (typeof options.maxAttempts !== "number" || !(options.maxAttempts >= 1) || !(Number.isInteger(options.maxAttempts) || options.maxAttempts === Infinity)) {
        throw new InvalidOptionError(`TcpConnectionOptions.withReconnect: maxAttempts must be a positive integer or Infinity, got ${describeValue(options.maxAttempts)}`, {
          option: "reconnect.maxAttempts",
        });
      }
      maxAttempts = options.maxAttempts;
    }
    this.#reconnect = { initialDelay, maxDelay, maxAttempts };
    return this;
  }

  get consumerOf(): readonly FlowControlId[] {
    return this.#consumerOf.slice();
  }

  /** The reconnect settings, if `withReconnect` was called. */
  get reconnect(): ResolvedTcpReconnect | undefined {
    return this.#reconnect;
  }

  /** @internal the transport's liveness settings with this connection's overrides. */
  resolveLiveness(defaults: TcpLiveness): TcpLiveness {
    return this.#liveness.resolve(defaults, "TcpConnectionOptions");
  }

  get timeout(): number | undefined {
    return this.#timeout;
  }
}

/**
 * Options of a listener. As in Ockam, the listener is a spawner: each accepted connection's
 * receiver is a producer with a fresh flow control id, spawned by `spawnerFlowControlId`.
 * Making a worker a consumer of the listener's id makes it reachable from every connection
 * the listener accepts.
 */
export class TcpListenerOptions {
  /** The spawner flow control id of the listener. */
  readonly spawnerFlowControlId: FlowControlId = FlowControls.generateId();
  readonly #liveness = new LivenessOverrides();
  #maxConnections: number | undefined;
  #maxConnectionsPerHost: number | undefined;

  /** Same as `spawnerFlowControlId`. */
  get flowControlId(): FlowControlId {
    return this.spawnerFlowControlId;
  }

  /** Keepalive and peer timeout of every connection this listener accepts (see TcpConnectionOptions.withKeepalive). */
  withKeepalive(intervalMs: number, peerTimeoutMs: number): this {
    setKeepalive(this.#liveness, intervalMs, peerTimeoutMs, "TcpListenerOptions");
    return this;
  }

  /** Closes an accepted connection that sends no complete first frame within `ms` (transport default 10 s). */
  withFirstFrameTimeout(ms: number): this {
    this.#liveness.firstFrameTimeout = checkMs(ms, "firstFrameTimeout", "TcpListenerOptions.withFirstFrameTimeout");
    return this;
  }

  /** Closes an accepted connection after `ms` without a message either way (keepalives do not count); 0 turns it off. */
  withIdleTimeout(ms: number): this {
    this.#liveness.idleTimeout = checkMs(ms, "idleTimeout", "TcpListenerOptions.withIdleTimeout", true);
    return this;
  }

  /** At most `n` open accepted connections; more are closed at once (transport default 1024). */
  withMaxConnections(n: number): this {
    this.#maxConnections = checkCount(n, "maxConnections", "TcpListenerOptions.withMaxConnections");
    return this;
  }

  /** The cap set with `withMaxConnections`, if any. */
  get maxConnections(): number | undefined {
    return this.#maxConnections;
  }

  /** At most `n` open accepted connections from one host (an IPv4 address, or an IPv6 /64); more from it are closed at once (transport default 256). */
  withMaxConnectionsPerHost(n: number): this {
    this.#maxConnectionsPerHost = checkCount(n, "maxConnectionsPerHost", "TcpListenerOptions.withMaxConnectionsPerHost");
    return this;
  }

  /** The cap set with `withMaxConnectionsPerHost`, if any. */
  get maxConnectionsPerHost(): number | undefined {
    return this.#maxConnectionsPerHost;
  }

  /** @internal the transport's liveness settings with this listener's overrides. */
  resolveLiveness(defaults: TcpLiveness): TcpLiveness {
    return this.#liveness.resolve(defaults, "TcpListenerOptions");
  }
}

/** Bytes a connection queues for its socket before it reports `needsDrain`, by default (1 MiB). */
export const DEFAULT_SEND_HIGH_WATER_MARK = 1024 * 1024;

/** Transport-wide settings; every field is optional. */
export interface TcpTransportOptions {
  /**
   * Bytes a connection may have queued for its socket before it asks its feeders to slow
   * down: connections whose messages it is forwarding stop being read, and
   * `connection.needsDrain` becomes true (default 1 MiB).
   */
  sendHighWaterMark?: number;
  /**
   * Hard bound of a connection's queued bytes: a message that would exceed it is refused
   * with a BackpressureError (default 32 MiB). A connection with nothing queued always
   * accepts one message, so a maximum-size frame can always be sent.
   */
  maxSendBufferBytes?: number;
  /**
   * Bytes queued for sending across all the transport's connections (default 256 MiB,
   * DEFAULT_SEND_BUFFER_BUDGET, or `maxSendBufferBytes` if that is larger; not below it). Each
   * connection alone is bounded, but a peer that reads nothing pins its high-water mark and a
   * message of up to 16 MiB on every connection it holds: up to 17 GiB over 1024 connections.
   * When the total has stayed past it for a second (a burst to peers that read goes through),
   * or at once past twice it, connections of the host holding the most (an IPv4 address or an
   * IPv6 /64) are closed, its largest first, until the total is within it, each with a
   * SendBufferBudgetError. A message larger than twice the budget closes its own connection:
   * keep it at 16 MiB or more.
   */
  sendBufferBudget?: number;
  /** Messages held per address while an on-demand connection ("1#host:port" routes) is being established (default 1024). */
  maxPendingDialMessages?: number;
  /** Milliseconds an on-demand connection may take to establish (default 10 000). */
  dialTimeout?: number;
  /**
   * Milliseconds a frame may take to arrive once its first byte has (default 30 000). A
   * peer that starts a frame and stalls would otherwise pin up to 16 MiB for ever; the
   * connection is closed with a PartialFrameTimeoutError. Time during which this node
   * itself stopped reading the socket (backpressure) does not count.
   */
  partialFrameTimeout?: number;
  /**
   * Bytes of incomplete frames the transport holds across all its connections (default
   * 256 MiB, DEFAULT_MAX_PARTIAL_FRAME_BYTES). A frame may be 16 MiB and a listener may hold
   * 1024 connections: without a budget, peers that each start a large frame and stall could
   * make the node hold 16 GiB before anyone authenticated. When an incomplete frame grows the
   * total past it, connections of the host holding the most (an IPv4 address or an IPv6 /64)
   * are closed, its largest incomplete frame first (the growing one's host and connection on a
   * tie), until the total is within it, each with a PartialFramesBudgetError: peers holding much
   * of the budget lose their connections, not those whose ordinary frames merely span reads.
   */
  maxPartialFrameBytes?: number;
  /**
   * Milliseconds without sending anything after which a connection sends a keepalive
   * frame (default 10 000, or half of `peerTimeout` when that is shorter; at most half of
   * `peerTimeout`). Well under WireGuard's 25 s, so NAT and firewall mappings stay open, and
   * three fit in the default peer timeout.
   */
  keepaliveInterval?: number;
  /**
   * Milliseconds without receiving anything (frames, keepalives, or part of a frame) after
   * which the peer is declared dead and the connection closed with a PeerTimeoutError
   * (default 30 000, or twice `keepaliveInterval` when that is longer). Time during which
   * this node itself stopped reading does not count.
   */
  peerTimeout?: number;
  /**
   * Milliseconds from accept (or connect) within which the peer must send its version byte
   * and one complete frame; otherwise the connection is closed with a FirstFrameTimeoutError
   * (default 10 000). Every connection sends a keepalive right after its version byte.
   */
  firstFrameTimeout?: number;
  /**
   * Milliseconds a connection may carry no message in either direction (keepalives do not
   * count) before it is closed with an IdleTimeoutError (default 0: off).
   */
  idleTimeout?: number;
  /** Open accepted connections per listener; more are closed at once (default 1024). */
  maxConnections?: number;
  /**
   * Open accepted connections per listener from one host (an IPv4 address, or an IPv6 /64);
   * more from it are closed at once (default 256), so that one host cannot take every
   * `maxConnections` slot.
   */
  maxConnectionsPerHost?: number;
  /**
   * "host:port" values that messages from the network (sent by, or forwarded on behalf of,
   * a connection or a secure channel) may name as a "1#host:port" hop. By default (empty)
   * only messages whose origin is local to this node may use such hops; the rest are
   * dropped and counted (`transport.deniedDials`). "*" allows every address.
   */
  dialAllowList?: readonly string[];
}

export interface ResolvedTcpTransportOptions {
  sendHighWaterMark: number;
  maxSendBufferBytes: number;
  sendBufferBudget: number;
  maxPendingDialMessages: number;
  dialTimeout: number;
  partialFrameTimeout: number;
  maxPartialFrameBytes: number;
  liveness: TcpLiveness;
  maxConnections: number;
  maxConnectionsPerHost: number;
  dialAllowList: ReadonlySet<string>;
}

/** `n` if it is a positive (safe) integer, else an InvalidOptionError naming the option (and the setter, `where`). */
function checkCount(n: unknown, option: string, where?: string): number {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidOptionError(`${where === undefined ? "" : `${where}: `}${option} ${positiveIntegerRule(n)}, got ${describeValue(n)}`, { option });
  }
  return n;
}

/** A transport option's count: `fallback` when left out, else checkCount's. */
function positiveInteger(value: unknown, option: string, fallback: number): number {
  return value === undefined ? fallback : checkCount(value, option);
}

/** Every key of TcpTransportOptions (the type makes this list complete). */
const TRANSPORT_OPTIONS = optionKeys<TcpTransportOptions>({
  sendHighWaterMark: true,
  maxSendBufferBytes: true,
  sendBufferBudget: true,
  maxPendingDialMessages: true,
  dialTimeout: true,
  partialFrameTimeout: true,
  maxPartialFrameBytes: true,
  keepaliveInterval: true,
  peerTimeout: true,
  firstFrameTimeout: true,
  idleTimeout: true,
  maxConnections: true,
  maxConnectionsPerHost: true,
  dialAllowList: true,
});

export function resolveTransportOptions(options: TcpTransportOptions = {}): ResolvedTcpTransportOptions {
  if (!isPlainObject(options as unknown)) throw notAnOptionsObjectError("TCP transport options must be an object such as { maxConnections: 64 }", options);
  checkOptionKeys(options, TRANSPORT_OPTIONS, "TCP transport options");
  const sendHighWaterMark = positiveInteger(options.sendHighWaterMark, "sendHighWaterMark", DEFAULT_SEND_HIGH_WATER_MARK);
  const maxSendBufferBytes = positiveInteger(options.maxSendBufferBytes, "maxSendBufferBytes", 32 * 1024 * 1024);
  if (maxSendBufferBytes < sendHighWaterMark) {
    throw new InvalidOptionError(`maxSendBufferBytes (${maxSendBufferBytes}) must not be below sendHighWaterMark (${sendHighWaterMark})`, {
      option: "maxSendBufferBytes",
    });
  }
  const sendBufferBudget = positiveInteger(options.sendBufferBudget, "sendBufferBudget", Math.max(DEFAULT_SEND_BUFFER_BUDGET, maxSendBufferBytes));
  if (sendBufferBudget < maxSendBufferBytes) {
    throw new InvalidOptionError(`sendBufferBudget (${sendBufferBudget}) must not be below maxSendBufferBytes (${maxSendBufferBytes})`, {
      option: "sendBufferBudget",
    });
  }
  return {
    sendHighWaterMark,
    maxSendBufferBytes,
    sendBufferBudget,
    maxPendingDialMessages: positiveInteger(options.maxPendingDialMessages, "maxPendingDialMessages", 1024),
    dialTimeout: options.dialTimeout === undefined ? 10_000 : checkMs(options.dialTimeout, "dialTimeout", "TCP transport options"),
    partialFrameTimeout: options.partialFrameTimeout === undefined ? 30_000 : checkMs(options.partialFrameTimeout, "partialFrameTimeout", "TCP transport options"),
    maxPartialFrameBytes: positiveInteger(options.maxPartialFrameBytes, "maxPartialFrameBytes", DEFAULT_MAX_PARTIAL_FRAME_BYTES),
    liveness: resolveLiveness(options),
    maxConnections: positiveInteger(options.maxConnections, "maxConnections", 1024),
    maxConnectionsPerHost: positiveInteger(options.maxConnectionsPerHost, "maxConnectionsPerHost", DEFAULT_MAX_CONNECTIONS_PER_HOST),
    dialAllowList: resolveAllowList(options.dialAllowList),
  };
}

/**
 * Whether two resolved option sets are the same settings (a second `createTcpTransport` call
 * returns the node's transport only if it asks for what that transport was made with).
 */
export function sameTransportOptions(a: ResolvedTcpTransportOptions, b: ResolvedTcpTransportOptions): boolean {
  // Key by key, so that an option added later is compared too: numbers, the liveness settings, the allow list.
  return (Object.keys(a) as (keyof ResolvedTcpTransportOptions)[]).every((key) => sameSetting(a[key], b[key]));
}

function sameSetting(a: unknown, b: unknown): boolean {
  if (a instanceof Set && b instanceof Set) return a.size === b.size && [...a].every((entry) => b.has(entry));
  if (isPlainObject(a) && isPlainObject(b)) return Object.keys(a).every((key) => a[key] === b[key]);
  return a === b;
}

/** See TcpTransportOptions.maxConnectionsPerHost: a quarter of the default maxConnections. */
export const DEFAULT_MAX_CONNECTIONS_PER_HOST = 256;

/** See TcpTransportOptions.sendBufferBudget. */
export const DEFAULT_SEND_BUFFER_BUDGET = 256 * 1024 * 1024;

/** See TcpTransportOptions.maxPartialFrameBytes. */
export const DEFAULT_MAX_PARTIAL_FRAME_BYTES = 256 * 1024 * 1024;

/** The keepalive interval and the peer timeout when neither is given. */
const DEFAULT_KEEPALIVE_INTERVAL = 10_000;
const DEFAULT_PEER_TIMEOUT = 30_000;

function resolveLiveness(options: TcpTransportOptions): TcpLiveness {
  const given = {
    keepaliveInterval: options.keepaliveInterval === undefined ? undefined : checkMs(options.keepaliveInterval, "keepaliveInterval", "TCP transport options"),
    peerTimeout: options.peerTimeout === undefined ? undefined : checkMs(options.peerTimeout, "peerTimeout", "TCP transport options"),
  };
  return {
    ...keepalivePair(given.keepaliveInterval, given.peerTimeout),
    firstFrameTimeout: options.firstFrameTimeout === undefined ? 10_000 : checkMs(options.firstFrameTimeout, "firstFrameTimeout", "TCP transport options"),
    idleTimeout: options.idleTimeout === undefined ? 0 : checkMs(options.idleTimeout, "idleTimeout", "TCP transport options", true),
  };
}

/**
 * The keepalive interval and peer timeout from what was given: the one not given follows
 * the other (the interval is at most half the timeout: `peerTimeout: 5000` alone means a
 * keepalive every 2.5 s, `keepaliveInterval: 20000` alone a 40 s peer timeout), so that only
 * a pair given explicitly can conflict.
 */
function keepalivePair(interval: number | undefined, peerTimeout: number | undefined): { keepaliveInterval: number; peerTimeout: number } {
  if (interval !== undefined && peerTimeout !== undefined) {
    checkKeepalivePair(interval, peerTimeout, "TCP transport options");
    return { keepaliveInterval: interval, peerTimeout };
  }
  if (peerTimeout !== undefined) {
    if (peerTimeout < 2) {
      throw new InvalidOptionError(`TCP transport options: peerTimeout must be at least 2 ms, so that a keepalive fits twice in it; got ${peerTimeout}`, {
        option: "peerTimeout",
      });
    }
    return { keepaliveInterval: Math.min(DEFAULT_KEEPALIVE_INTERVAL, Math.floor(peerTimeout / 2)), peerTimeout };
  }
  if (interval !== undefined) {
    if (interval * 2 > MAX_TIMEOUT_MS) {
      throw new InvalidOptionError(`TCP transport options: keepaliveInterval must be at most ${Math.floor(MAX_TIMEOUT_MS / 2)} ms (half the longest peerTimeout); got ${interval}`, {
        option: "keepaliveInterval",
      });
    }
    return { keepaliveInterval: interval, peerTimeout: Math.max(DEFAULT_PEER_TIMEOUT, interval * 2) };
  }
  return { keepaliveInterval: DEFAULT_KEEPALIVE_INTERVAL, peerTimeout: DEFAULT_PEER_TIMEOUT };
}

/** Normalises "host:port" / "1#host:port" entries so that lookups compare like with like. */
function resolveAllowList(list: unknown): ReadonlySet<string> {
  if (list === undefined) return new Set();
  if (!Array.isArray(list)) throw new InvalidOptionError('dialAllowList must be an array of "host:port" strings', { option: "dialAllowList" });
  const set = new Set<string>();
  for (const entry of list) {
    if (entry === "*") {
      set.add("*");
      continue;
    }
    try {
      const { host, port } = parseHostPort(entry, "dialAllowList entry", false);
      set.add(formatHostPort(host.toLowerCase(), port)); // "Bob:4000" and "bob:4000" name the same host
    } catch (error) {
      throw new InvalidOptionError(`dialAllowList: ${(error as Error).message}`, { cause: error, option: "dialAllowList" });
    }
  }
  return set;
}
