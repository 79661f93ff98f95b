import { InvalidOptionError } from "../errors/errors.js";
import { describeType, describeValue } from "../util/describe-type.js";
import type { FlowControlId } from "../flow-control/flow-controls.js";
import type { WaitOptions } from "../util/wait.js";

/** What to do with one key of a plain options object that has no `with<Key>` setter. */
export type PlainOptionHandlers<B> = Record<string, (builder: B, value: unknown) => void>;

/** True for `{ ... }` literals and `Object.create(null)`, not for class instances or arrays. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** True for any object but an array (class instances included): what an options argument must at least be. */
export function isOptionsObject(value: unknown): value is object {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * The InvalidOptionError for an options argument that is not an object (null, a number, an
 * array...), one shape for every package: its `option` is "options" and its message says what
 * was given after `message` (whose options they are and what they must be), e.g.
 * `relay options must be an object, got null`.
 */
export function notAnOptionsObjectError(message: string, value: unknown): InvalidOptionError {
  return new InvalidOptionError(`${message}, got ${describeValue(value)}`, { option: "options" });
}

/**
 * An optional option's value, or `fallback` when it was left out. Only `undefined` means "the
 * default" (one rule in every package, docs/errors.md): `null` is returned as given, for the
 * option's own check to refuse with an InvalidOptionError naming it. `??` took null as the
 * default for some options while others refused it.
 */
export function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

/**
 * Applies a plain options object to an options builder, so that `{ rekeyInterval: 10 }`
 * means `.withRekeyInterval(10)`: each key calls the builder's `with<Key>` setter (which
 * validates it), or a handler given for it; `undefined` values are skipped. A key with
 * neither is the InvalidOptionError of {@link unknownOptionError}.
 *
 * @param what how the options are named in errors, e.g. "createSecureChannel options"
 */
export function applyPlainOptions<B extends object>(builder: B, values: Record<string, unknown>, what: string, handlers: PlainOptionHandlers<B> = {}): B {
  for (const key of Object.keys(values)) {
    const value = values[key];
    if (value === undefined) continue;
    const handler = handlers[key];
    if (handler) {
      handler(builder, value);
      continue;
    }
    const setter = (builder as Record<string, unknown>)[`with${key.charAt(0).toUpperCase()}${key.slice(1)}`];
    if (typeof setter !== "function" || !/^[a-z][A-Za-z0-9]*$/.test(key)) throw unknownOptionError(what, key, knownOptions(builder, handlers));
    (setter as (value: unknown) => unknown).call(builder, value);
  }
  return builder;
}

/** The option names a builder accepts: its `with<Key>` setters and the extra handlers. */
function knownOptions(builder: object, handlers: PlainOptionHandlers<never>): string[] {
  const names = new Set(Object.keys(handlers));
  for (let proto = Object.getPrototypeOf(builder) as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (/^with[A-Z]/.test(name) && typeof (builder as Record<string, unknown>)[name] === "function") names.add(name.charAt(4).toLowerCase() + name.slice(5));
    }
  }
  return [...names].sort();
}

/**
 * The InvalidOptionError for a key that is no option: its message names the key, suggests
 * the known option it nearly matches ({@link nearestOption}) and lists the known ones, in
 * one format for every package:
 * `node options: unknown option "warnigns"; did you mean "warnings"? known options: name, …`.
 * Its `option` is the key, prefixed by `path` and a dot for a nested object (`mailbox.maxMesages`).
 *
 * @param what how the options are named in the message, e.g. "node options", "mailbox"
 */
export function unknownOptionError(what: string, key: string, known: readonly string[], path?: string): InvalidOptionError {
  const guess = nearestOption(key, known);
  return new InvalidOptionError(`${what}: unknown option "${key}"; ${guess === undefined ? "" : `did you mean "${guess}"? `}known options: ${known.join(", ")}`, {
    option: path === undefined ? key : `${path}.${key}`,
  });
}

/**
 * Throws {@link unknownOptionError} for the first own key of `values` that is not in
 * `known`. For options objects that are not builders (node options, mailbox limits, …).
 */
export function checkOptionKeys(values: object, known: readonly string[], what: string, path?: string): void {
  for (const key of Object.keys(values)) if (!known.includes(key)) throw unknownOptionError(what, key, known, path);
}

/**
 * The known option that `key` is most likely a misspelling of, if any: the same name in
 * another case, with or without the `Ms` suffix the relay and portal options carry
 * (`handshakeTimeout` → `handshakeTimeoutMs`), or one or two letters off (a typo, a
 * transposition; one only for names of five letters or fewer).
 */
export function nearestOption(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  for (const name of known) {
    const other = name.toLowerCase();
    if (other === lower || other === `${lower}ms` || `${other}ms` === lower) return name;
  }
  const limit = key.length <= 3 ? 0 : key.length <= 5 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const name of known) {
    const d = editDistance(lower, name.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Optimal string alignment distance (insertions, deletions, substitutions, adjacent
 * transpositions), or `cap` as soon as it is known to be at least `cap`.
 */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row.push(d);
      if (d < rowMin) rowMin = d;
    }
    if (rowMin >= cap) return cap;
    before = previous;
    previous = row;
  }
  return Math.min(previous[b.length]!, cap);
}

/** The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days): a longer one fires after 1 ms. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** How {@link checkTimeoutOption} reads a value. */
export interface TimeoutOptionRule {
  /**
   * `Infinity` means "no deadline" (default true). False for a timer's delay that must
   * fire (a shutdown's grace, a heartbeat, a backoff): a timer fires at once for Infinity.
   */
  readonly infinity?: boolean;
}

/**
 * Checks a timeout option: a positive number of milliseconds up to {@link MAX_TIMEOUT_MS},
 * or `Infinity` for no deadline unless `rule.infinity` is false. Anything else (0, a
 * negative number, NaN, a string such as "1s") is an InvalidOptionError naming `option`:
 * a Node timer would fire at once for those and for longer delays, and a non-number would
 * silently mean "no deadline". The one check of every delay option in every package.
 *
 * @param what prefixes the message, e.g. "sendAndReceive options"
 */
export function checkTimeoutOption(value: unknown, option: string, what?: string, rule: TimeoutOptionRule = {}): number {
  const infinity = rule.infinity ?? true;
  if (typeof value !== "number" || !(value > 0) || (value > MAX_TIMEOUT_MS && !(infinity && value === Number.POSITIVE_INFINITY))) {
    throw new InvalidOptionError(
      `${what === undefined ? "" : `${what}: `}${option} must be a positive number of milliseconds up to ${MAX_TIMEOUT_MS}${
        infinity ? ", or Infinity for none" : ""
      }; got ${describeValue(value)}`,
      { option },
    );
  }
  return value;
}

/**
 * A count option (a bound in messages, bytes or threads): a safe integer of at least 1. The
 * error names `option` (its path, e.g. "mailbox.maxMessages") and what was given instead.
 */
export function checkPositiveInteger(value: unknown, option: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(`${option} ${positiveIntegerRule(value)}, got ${typeof value === "number" ? String(value) : describeType(value)}`, { option });
  }
  return value;
}

/**
 * What a count option must be, as its error says it: "must be a positive integer", and for an
 * integer past Number.MAX_SAFE_INTEGER (a positive integer all the same) the bound it broke.
 */
export function positiveIntegerRule(value: unknown): string {
  const tooLarge = typeof value === "number" && Number.isInteger(value) && value > Number.MAX_SAFE_INTEGER;
  return tooLarge ? "must be a positive integer up to Number.MAX_SAFE_INTEGER (2^53 - 1)" : "must be a positive integer";
}

/**
 * The list of an options interface's keys for {@link checkOptionKeys}, from an object with
 * each key set to true, in the order errors list them:
 * `optionKeys<PoolOptions>({ minThreads: true, maxThreads: true })`. The type argument
 * makes the compiler keep the two in step: a key missing from the object, or one the
 * interface does not have, fails to compile.
 */
export function optionKeys<T extends object>(keys: Record<keyof T, true>): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

/** The keys of WaitOptions. */
export const WAIT_OPTIONS: readonly string[] = optionKeys<WaitOptions>({ timeout: true, signal: true });

/**
 * Checks the options of a call that waits (`{ timeout, signal }`, and the call's own keys
 * in `known`): an object with known keys only, a timeout as {@link checkTimeoutOption}
 * takes it, a signal that is an AbortSignal. `undefined` passes.
 *
 * @param what how the call's options are named in errors, e.g. "send options"
 */
export function checkWaitOptions(options: unknown, what: string, known: readonly string[] = WAIT_OPTIONS): void {
  if (options === undefined) return;
  if (!isOptionsObject(options)) {
    // The example is one of this call's own keys: saveIdentity takes no timeout.
    const example = known.includes("timeout") ? "{ timeout: 5000 }" : `{ ${known.join(", ")} }`;
    throw notAnOptionsObjectError(`${what} must be an object such as ${example}`, options);
  }
  checkOptionKeys(options, known, what);
  const values = options as { timeout?: unknown; signal?: unknown };
  if (values.timeout !== undefined) checkTimeoutOption(values.timeout, "timeout", what);
  if (values.signal !== undefined && !(values.signal instanceof AbortSignal)) {
    throw new InvalidOptionError(`${what}: signal must be an AbortSignal, got ${describeValue(values.signal)}`, { option: "signal" });
  }
}

/**
 * Checks a flow control id given as an option (`asConsumer(id)`): a non-empty string, as
 * `listener.flowControlId` is. Anything else is an InvalidOptionError naming `option`.
 *
 * @param what prefixes the message, e.g. "TcpConnectionOptions"
 */
export function checkFlowControlId(value: unknown, option: string, what?: string): FlowControlId {
  return flowControlId(value, option, option, what);
}

/** {@link checkFlowControlId}, with the message naming `named` (an entry, `consumerOf[1]`). */
function flowControlId(value: unknown, named: string, option: string, what: string | undefined): FlowControlId {
  if (typeof value !== "string" || value.length === 0 || looksLikeAddress(value)) {
    const hint = typeof value === "string" && looksLikeAddress(value) ? ", which is an address: pass the listener's or connection's flowControlId" : "";
    throw new InvalidOptionError(`${what === undefined ? "" : `${what}: `}${named} must be a flow control id (e.g. listener.flowControlId), got ${describeValue(value)}${hint}`, { option });
  }
  return value;
}

/**
 * Reads an option that takes one flow control id or several (`consumerOf`, `asConsumer`):
 * `undefined` is none, one id a list of one, an array a list whose every entry
 * {@link checkFlowControlId} takes. Anything else is an InvalidOptionError naming `option`
 * (an entry's message names its index).
 *
 * @param what prefixes the message, e.g. "outlet options"
 */
export function checkFlowControlIds(value: unknown, option: string, what?: string): FlowControlId[] {
  if (value === undefined) return [];
  if (typeof value === "string") return [checkFlowControlId(value, option, what)];
  if (!Array.isArray(value)) {
    throw new InvalidOptionError(`${what === undefined ? "" : `${what}: `}${option} must be a flow control id or an array of them, got ${describeValue(value)}`, { option });
  }
  return value.map((id: unknown, i) => flowControlId(id, `${option}[${i}]`, option, what));
}

/**
 * A "host:port" or a typed address ("1#…"): what `listener.address` is, an easy slip for
 * `listener.flowControlId`. No flow control id has either character (they are "fc" and hex).
 */
function looksLikeAddress(value: string): boolean {
  return value.includes(":") || value.includes("#");
}

