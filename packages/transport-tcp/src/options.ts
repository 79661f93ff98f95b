import { FlowControls, InvalidOptionError, type FlowControlId } from "@hopwire/runtime";

/** Options objects are consumed by the listener or connection they create, as in Ockam. */
const used = new WeakSet<object>();

/** Marks `options` as used; a second use is an InvalidOptionError (its flow control id identifies one component). */
export function claimOptions(options: TcpConnectionOptions | TcpListenerOptions): void {
  if (used.has(options)) {
    throw new InvalidOptionError(
      `options: this ${options.constructor.name} was already used; create a new one for each ${
        options instanceof TcpListenerOptions ? "listener" : "connection"
      } (its flow control id identifies exactly one)`,
    );
  }
  used.add(options);
}

function checkFlowControlId(value: unknown, option: string): FlowControlId {
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidOptionError(`${option}: flowControlId must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkTimeout(value: unknown, option: string): number {
  if (typeof value !== "number" || !(value > 0)) {
    throw new InvalidOptionError(`${option} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
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

  /**
   * Makes the connection's sender a consumer of `flowControlId`: messages produced by that
   * flow (e.g. arriving from another connection or a secure channel) may be routed into
   * this connection.
   */
  asConsumer(flowControlId: FlowControlId): this {
    this.#consumerOf.push(checkFlowControlId(flowControlId, "TcpConnectionOptions.asConsumer"));
    return this;
  }

  /** Gives up connecting after `ms` milliseconds (a call's own `{ timeout }` takes precedence). */
  withTimeout(ms: number): this {
    this.#timeout = checkTimeout(ms, "TcpConnectionOptions.withTimeout: timeout");
    return this;
  }

  get consumerOf(): readonly FlowControlId[] {
    return this.#consumerOf.slice();
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

  /** Same as `spawnerFlowControlId`. */
  get flowControlId(): FlowControlId {
    return this.spawnerFlowControlId;
  }
}

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
}

export interface ResolvedTcpTransportOptions {
  sendHighWaterMark: number;
  maxSendBufferBytes: number;
  maxPendingDialMessages: number;
  dialTimeout: number;
  partialFrameTimeout: number;
}

function positiveInteger(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(`${option} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function resolveTransportOptions(options: TcpTransportOptions = {}): ResolvedTcpTransportOptions {
  if (options === null || typeof options !== "object") throw new InvalidOptionError("TCP transport options must be an object");
  const sendHighWaterMark = positiveInteger(options.sendHighWaterMark, "sendHighWaterMark", 1024 * 1024);
  const maxSendBufferBytes = positiveInteger(options.maxSendBufferBytes, "maxSendBufferBytes", 32 * 1024 * 1024);
  if (maxSendBufferBytes < sendHighWaterMark) {
    throw new InvalidOptionError(`maxSendBufferBytes (${maxSendBufferBytes}) must not be below sendHighWaterMark (${sendHighWaterMark})`);
  }
  return {
    sendHighWaterMark,
    maxSendBufferBytes,
    maxPendingDialMessages: positiveInteger(options.maxPendingDialMessages, "maxPendingDialMessages", 1024),
    dialTimeout: positiveInteger(options.dialTimeout, "dialTimeout", 10_000),
    partialFrameTimeout: positiveInteger(options.partialFrameTimeout, "partialFrameTimeout", 30_000),
  };
}
