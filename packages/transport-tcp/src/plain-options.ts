import { applyPlainOptions, checkOptionKeys, checkFlowControlIds, describeType, InvalidOptionError, isPlainObject, notAnOptionsObjectError, type FlowControlId, type WaitOptions } from "@hopwire/runtime";
import { TcpConnectionOptions, TcpListenerOptions, type TcpReconnectOptions } from "./options.js";

/** `keepalive` of a plain options object: the two values of `withKeepalive`, named. */
export interface TcpKeepaliveOptions {
  /** ms: a keepalive is sent after this long without a write (`keepaliveInterval`). */
  interval: number;
  /** ms: the peer is dead after this long without a byte from it. */
  peerTimeout: number;
}

/** What every liveness setter of both builders takes, in a plain object. */
interface TcpLivenessOptions {
  /** `withKeepalive(interval, peerTimeout)`. */
  keepalive?: TcpKeepaliveOptions;
  /** `withFirstFrameTimeout`. */
  firstFrameTimeout?: number;
  /** `withIdleTimeout` (0: off). */
  idleTimeout?: number;
}

/**
 * `tcp.listen(address, { ... })`: the plain-object form of TcpListenerOptions (each key is
 * its `with<Key>` setter). `signal` and `timeout` bound the wait for the bind.
 */
export interface TcpListenOptions extends WaitOptions, TcpLivenessOptions {
  maxConnections?: number;
  maxConnectionsPerHost?: number;
}

/**
 * `tcp.connect(address, { ... })`: the plain-object form of TcpConnectionOptions (each key is
 * its `with<Key>` setter). `consumerOf` is `asConsumer` (one id or several); `signal` and
 * `timeout` bound the wait for the connection (as `withTimeout` does).
 */
export interface TcpConnectOptions extends WaitOptions, TcpLivenessOptions {
  consumerOf?: FlowControlId | FlowControlId[];
  reconnect?: TcpReconnectOptions;
}

/** The builder and the wait of `listen`, from either form. */
export function resolveListen(options: TcpListenerOptions | TcpListenOptions | undefined, wait: WaitOptions): [TcpListenerOptions, WaitOptions] {
  if (options === undefined || options instanceof TcpListenerOptions) return [options ?? new TcpListenerOptions(), wait];
  const waits = plainWait(options, wait, "listen");
  return [applyPlainOptions(new TcpListenerOptions(), options as Record<string, unknown>, "listen options", { ...waitKeys, keepalive: keepaliveKey("listen options") }), waits];
}

/** The builder and the wait of `connect`, from either form. */
export function resolveConnect(
  options: TcpConnectionOptions | TcpConnectOptions | undefined,
  wait: WaitOptions,
): [TcpConnectionOptions, WaitOptions] {
  if (options === undefined || options instanceof TcpConnectionOptions) return [options ?? new TcpConnectionOptions(), wait];
  const waits = plainWait(options, wait, "connect");
  const builder = applyPlainOptions(new TcpConnectionOptions(), options as Record<string, unknown>, "connect options", {
    ...waitKeys,
    keepalive: keepaliveKey("connect options"),
    consumerOf: (b, value) => {
      for (const id of checkFlowControlIds(value, "consumerOf", "connect options")) b.asConsumer(id);
    },
  });
  return [builder, waits];
}

/** `keepalive: { interval, peerTimeout }`: withKeepalive takes two values, so the plain key names them (a bare number was read as the interval alone). */
function keepaliveKey(what: string): (builder: TcpListenerOptions | TcpConnectionOptions, value: unknown) => void {
  return (builder, value) => {
    if (!isPlainObject(value)) {
      throw new InvalidOptionError(`${what}: keepalive must be { interval, peerTimeout } (milliseconds each), got ${describeType(value)}`, { option: "keepalive" });
    }
    checkOptionKeys(value, KEEPALIVE_KEYS, `${what}: keepalive`, "keepalive");
    const { interval, peerTimeout } = value as Partial<TcpKeepaliveOptions>;
    for (const [key, ms] of [["interval", interval], ["peerTimeout", peerTimeout]] as const) {
      if (ms === undefined) throw new InvalidOptionError(`${what}: keepalive needs both interval and peerTimeout; ${key} is missing`, { option: `keepalive.${key}` });
    }
    builder.withKeepalive(interval!, peerTimeout!);
  };
}

const KEEPALIVE_KEYS = ["interval", "peerTimeout"];

/** `signal` and `timeout` are read by the caller, not applied to the builder. */
const waitKeys = { signal: () => {}, timeout: () => {} };

/** One way to pass `signal`/`timeout`: in the plain options object, or after a builder, not both. */
function plainWait(options: unknown, wait: WaitOptions, call: string): WaitOptions {
  if (!isPlainObject(options)) {
    throw notAnOptionsObjectError(`${call} options must be a Tcp${call === "listen" ? "Listener" : "Connection"}Options or a plain object`, options);
  }
  if (wait !== undefined && wait !== null && typeof wait === "object" && (wait.signal !== undefined || wait.timeout !== undefined)) {
    throw new InvalidOptionError(`${call}: pass signal and timeout in the options object, not also as a third argument`, {
      option: wait.timeout !== undefined ? "timeout" : "signal",
    });
  }
  const { signal, timeout } = options as WaitOptions;
  return { ...(signal !== undefined ? { signal } : {}), ...(timeout !== undefined ? { timeout } : {}) };
}
