import { InvalidOptionError } from "../errors/errors.js";
import { checkOptionKeys, checkPositiveInteger, checkTimeoutOption, isPlainObject, notAnOptionsObjectError, optionKeys, orDefault } from "../options/plain-options.js";
import type { WarningSink } from "../diagnostics/warnings.js";
import type { Logger } from "../logging/logger.js";
import { resolveMailboxLimits, type MailboxLimits, type ResolvedMailboxLimits } from "../router/mailbox-bound.js";
import { describeType, describeValue } from "../util/describe-type.js";
import { MAX_BUSY_POLL_MICROS } from "./busy-poll.js";

/**
 * Options of node(); every field is optional and says its default. Leave a field out (or
 * undefined) for its default: `null` is an InvalidOptionError naming it, as in every package.
 */
export interface NodeOptions {
  /** A name that prefixes this node's log lines (several nodes in one process stay apart). */
  name?: string;
  /**
   * Inject a logger (`createLogger()` makes one; any object with debug, info, warn, error and
   * child methods will do, else InvalidOptionError); by default `hopwire` namespaces switched on by DEBUG.
   */
  logger?: Logger;
  /**
   * Default timeout of sendAndReceive, in ms (30 000): a positive number up to 2^31 - 1, or
   * Infinity for no deadline, as a call's own `timeout`.
   */
  sendAndReceiveTimeout?: number;
  /** Size of the shared pool that runs workers placed "pool" (defaults: piscina's, by core count; each at most MAX_POOL_THREADS). */
  pool?: { minThreads?: number; maxThreads?: number };
  /**
   * How long (ms, at most 2^31 - 1) `node.stop()` waits for each worker's handler in progress
   * and `shutdown` (10 000): then a thread is terminated, a pool slot given up on (terminated
   * with the pool), and a worker placed "main" given up on (its promise left pending).
   * Workers stop one after another, but a handler still running at a worker's turn counts
   * from when the node began stopping its workers (or from its own start, if later): n workers
   * whose handlers hang take about this once, not n times. Only shutdowns that hang add up
   * (each runs after the ones before it ended).
   */
  shutdownTimeout?: number;
  /**
   * Every worker's mailbox bound unless its start options say otherwise: messages delivered
   * and not yet handled, at most `maxMessages` (8192) and `maxBytes` of payload (4 MiB).
   * At the bound, whoever feeds the worker waits (docs/architecture.md, "Flow").
   */
  mailbox?: MailboxLimits;
  /**
   * Bytes a worker's thread may have sent to the main thread that the main thread has not
   * routed yet (4 MiB; from 1 KiB to MAX_LINK_WINDOW_BYTES). Past it, the thread's sends wait.
   */
  linkWindowBytes?: number;
  /**
   * Warnings about messages this node had to drop without telling their sender (flow
   * controls denied them, no worker has their address), about worker handlers that
   * threw, and about peers a listener refused (a secure channel from an untrusted identity):
   * one line per cause at most once a minute, naming the worker or listener, the flow control
   * id or peer identifier, and the fix. `true` (the default) writes them to stderr, `false` silences them, a
   * function receives each line instead, and beside it the warning in fields (NodeWarning:
   * its kind, its event's fields, the count held back, the line's parts), for a caller that
   * words the advice its own way. Node events (`node.on("denied", ...)`) are raised
   * either way. When this option is absent, `HOPWIRE_WARNINGS=off` (or `0`, `false`) in the
   * environment turns the lines off, e.g. for a test suite that provokes them on purpose.
   */
  warnings?: boolean | WarningSink;
  /**
   * Busy polling, in microseconds (0, off): after the node hands work on (a transport writes
   * to its socket, a batch goes to a worker thread or pool slot, a portal writes to its
   * application's socket), the event loop of the thread the node runs on keeps polling for
   * I/O instead of sleeping until this long after the last hand-off, so that an answer
   * arriving meanwhile is handled at once rather than after a wake-up. Trades CPU for
   * latency: the thread runs the whole time, whether or not the answer came sooner. Pays
   * where a core is free for it; on a host with fewer cores than busy processes, the spinning
   * slows the others (see docs/architecture.md, "Busy polling"). An integer from 0 to
   * MAX_BUSY_POLL_MICROS (10 000).
   */
  busyPollMicros?: number;
}

export interface ResolvedNodeOptions {
  name: string | undefined;
  logger: Logger | undefined;
  sendAndReceiveTimeout: number;
  pool: { minThreads?: number; maxThreads?: number };
  shutdownTimeout: number;
  mailbox: ResolvedMailboxLimits;
  linkWindowBytes: number;
  warnings: boolean | WarningSink;
  busyPollMicros: number;
}

const NODE_OPTIONS = optionKeys<NodeOptions>({
  name: true,
  logger: true,
  sendAndReceiveTimeout: true,
  pool: true,
  shutdownTimeout: true,
  mailbox: true,
  linkWindowBytes: true,
  warnings: true,
  busyPollMicros: true,
});
const POOL_OPTIONS = optionKeys<NonNullable<NodeOptions["pool"]>>({ minThreads: true, maxThreads: true });

/**
 * The most threads `pool.minThreads` and `pool.maxThreads` may ask for: more than a large
 * machine's cores several times over, where `minThreads: 1e6` was accepted and would have
 * started threads until the process ran out of memory.
 */
export const MAX_POOL_THREADS = 1024;

/** The largest `linkWindowBytes`: a thread's unrouted sends beyond 1 GiB are no window (2^60 was accepted). */
export const MAX_LINK_WINDOW_BYTES = 1024 * 1024 * 1024;

/** Checks node options (any other key is an InvalidOptionError naming it) and fills in the defaults. */
export function resolveNodeOptions(options: NodeOptions = {}): ResolvedNodeOptions {
  // Through `unknown`, so that the guard does not narrow `options` for what follows.
  if (!isPlainObject(options as unknown)) throw notAnOptionsObjectError('node options must be an object such as { name: "bob" }', options);
  checkOptionKeys(options, NODE_OPTIONS, "node options");
  // The default of every sendAndReceive: the same values as its `timeout` (Infinity: no deadline).
  const timeout = options.sendAndReceiveTimeout === undefined ? 30_000 : checkTimeoutOption(options.sendAndReceiveTimeout, "sendAndReceiveTimeout", "node options");
  if (options.name !== undefined && typeof options.name !== "string") throw new InvalidOptionError(`name must be a string, got ${describeType(options.name)}`, { option: "name" });
  if (options.logger !== undefined) checkLogger(options.logger);
  const pool = orDefault(options.pool, {});
  if (!isPlainObject(pool as unknown)) throw new InvalidOptionError(`pool must be an object such as { maxThreads: 2 }, got ${describeValue(pool)}`, { option: "pool" });
  checkOptionKeys(pool, POOL_OPTIONS, "pool", "pool");
  for (const key of ["minThreads", "maxThreads"] as const) {
    if (pool[key] === undefined) continue;
    checkPositiveInteger(pool[key], `pool.${key}`);
    if (pool[key] > MAX_POOL_THREADS) throw new InvalidOptionError(`pool.${key} must be at most ${MAX_POOL_THREADS}, got ${pool[key]}`, { option: `pool.${key}` });
  }
  // A timer, which fires at once for Infinity or past MAX_TIMEOUT_MS: the thread would be terminated without its shutdown.
  const shutdownTimeout = checkTimeoutOption(orDefault(options.shutdownTimeout, 10_000), "shutdownTimeout", "node options", { infinity: false });
  if (pool.minThreads !== undefined && pool.maxThreads !== undefined && pool.minThreads > pool.maxThreads) {
    throw new InvalidOptionError("pool.minThreads must not be greater than pool.maxThreads", { option: "pool.minThreads" });
  }
  const mailbox = resolveMailboxLimits(options.mailbox, undefined, "mailbox");
  const linkWindowBytes = orDefault(options.linkWindowBytes, 4 * 1024 * 1024);
  if (!Number.isInteger(linkWindowBytes) || linkWindowBytes < 1024 || linkWindowBytes > MAX_LINK_WINDOW_BYTES) {
    throw new InvalidOptionError(`linkWindowBytes must be an integer from 1024 to ${MAX_LINK_WINDOW_BYTES} (1 GiB), got ${describeValue(linkWindowBytes)}`, {
      option: "linkWindowBytes",
    });
  }
  const warnings = orDefault(options.warnings, warningsFromEnvironment());
  if (typeof warnings !== "boolean" && typeof warnings !== "function") {
    throw new InvalidOptionError(`warnings must be a boolean or a function that takes a line, got ${describeValue(warnings)}`, { option: "warnings" });
  }
  const busyPollMicros = orDefault(options.busyPollMicros, 0);
  if (!Number.isInteger(busyPollMicros) || busyPollMicros < 0 || busyPollMicros > MAX_BUSY_POLL_MICROS) {
    throw new InvalidOptionError(`busyPollMicros must be an integer from 0 to ${MAX_BUSY_POLL_MICROS}, got ${describeValue(busyPollMicros)}`, {
      option: "busyPollMicros",
    });
  }
  return { name: options.name, logger: options.logger, sendAndReceiveTimeout: timeout, pool, shutdownTimeout, mailbox, linkWindowBytes, warnings, busyPollMicros };
}

const LOGGER_METHODS = ["debug", "info", "warn", "error", "child"] as const;

/**
 * A logger the node cannot use failed later, inside node(), as a TypeError
 * ("this.log.debug is not a function") that named no option: say which method is missing.
 */
function checkLogger(logger: unknown): void {
  if (logger === null || typeof logger !== "object") {
    throw new InvalidOptionError(`logger must be a Logger (createLogger() makes one), got ${describeType(logger)}`, { option: "logger" });
  }
  const missing = LOGGER_METHODS.filter((method) => typeof (logger as Record<string, unknown>)[method] !== "function");
  if (missing.length > 0) {
    throw new InvalidOptionError(
      `logger must be a Logger (createLogger() makes one): it has no ${missing.join(", ")} method${missing.length > 1 ? "s" : ""}`,
      { option: "logger" },
    );
  }
}

/** The default of `NodeOptions.warnings`: on, unless HOPWIRE_WARNINGS says off ("off", "0" or "false"). */
export function warningsFromEnvironment(): boolean {
  const value = process.env.HOPWIRE_WARNINGS?.trim().toLowerCase();
  return !(value === "off" || value === "0" || value === "false");
}
