import { applyPlainOptions, checkFlowControlIds, InvalidOptionError, isPlainObject, type FlowControlId, type WaitOptions } from "@hopwire/runtime";
import { TcpConnectionOptions, TcpListenerOptions } from "./options.js";

/**
 * `tcp.listen(address, { ... })`: the plain-object form of TcpListenerOptions. `signal` and
 * `timeout` bound the wait for the bind.
 */
export interface TcpListenOptions extends WaitOptions {}

/**
 * `tcp.connect(address, { ... })`: the plain-object form of TcpConnectionOptions.
 * `consumerOf` is `asConsumer` (one id or several); `signal` and `timeout` bound the wait
 * for the connection (as `withTimeout` does).
 */
export interface TcpConnectOptions extends WaitOptions {
  consumerOf?: FlowControlId | FlowControlId[];
}

/** The builder and the wait of `listen`, from either form. */
export function resolveListen(options: TcpListenerOptions | TcpListenOptions | undefined, wait: WaitOptions): [TcpListenerOptions, WaitOptions] {
  if (options === undefined || options instanceof TcpListenerOptions) return [options ?? new TcpListenerOptions(), wait];
  const waits = plainWait(options, wait, "listen");
  return [applyPlainOptions(new TcpListenerOptions(), options as Record<string, unknown>, "listen options", waitKeys), waits];
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
    consumerOf: (b, value) => {
      for (const id of checkFlowControlIds(value, "consumerOf", "connect options")) b.asConsumer(id);
    },
  });
  return [builder, waits];
}

/** `signal` and `timeout` are read by the caller, not applied to the builder. */
const waitKeys = { signal: () => {}, timeout: () => {} };

/** One way to pass `signal`/`timeout`: in the plain options object, or after a builder, not both. */
function plainWait(options: unknown, wait: WaitOptions, call: string): WaitOptions {
  if (!isPlainObject(options)) {
    throw new InvalidOptionError(`${call} options must be a Tcp${call === "listen" ? "Listener" : "Connection"}Options or a plain object`);
  }
  if (wait !== undefined && wait !== null && typeof wait === "object" && (wait.signal !== undefined || wait.timeout !== undefined)) {
    throw new InvalidOptionError(`${call}: pass signal and timeout in the options object, not also as a third argument`, {
      option: wait.timeout !== undefined ? "timeout" : "signal",
    });
  }
  const { signal, timeout } = options as WaitOptions;
  return { ...(signal !== undefined ? { signal } : {}), ...(timeout !== undefined ? { timeout } : {}) };
}
