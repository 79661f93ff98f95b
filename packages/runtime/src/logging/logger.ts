import { InvalidOptionError } from "../errors/errors.js";
import { checkOptionKeys, isPlainObject, notAnOptionsObjectError, optionKeys } from "../options/plain-options.js";
import { describeValue } from "../util/describe-type.js";
import { escapeControl } from "../util/log-text.js";
import { TokenBucket } from "../util/token-bucket.js";

/**
 * A small debug-style logger. Namespaces look like "hopwire:tcp"; output is enabled by
 * the DEBUG environment variable (comma-separated patterns, `*` wildcards, `-` to exclude),
 * and is silent by default. Components receive a logger from their node rather than
 * importing a global one, and a per-node prefix keeps several nodes apart in one log.
 * Never pass keys or plaintext payloads to a logger. Each namespace writes at most
 * `maxLinesPerSecond` lines a second (DEFAULT_MAX_LINES_PER_SECOND), then says how many it
 * left out: what peers do is logged, and a flood of them must not become a flood of lines
 * (an adversarial trial wrote 8.7 MB in 16 s with DEBUG=hopwire:*, session 43).
 */
export interface Logger {
  readonly namespace: string;
  readonly enabled: boolean;
  /** Logs at debug level when enabled. */
  debug(message: string, ...details: unknown[]): void;
  /** Logs at info level when enabled. */
  info(message: string, ...details: unknown[]): void;
  /** Logs at warn level when enabled. */
  warn(message: string, ...details: unknown[]): void;
  /** Logs at error level when enabled. */
  error(message: string, ...details: unknown[]): void;
  /** A logger for "namespace:name", enabled by the same settings. */
  child(name: string): Logger;
}

/** Where a logger writes its formatted lines (stderr by default). */
export type LogSink = (line: string) => void;

const defaultSink: LogSink = (line) => process.stderr.write(line + "\n");

interface Patterns {
  include: RegExp[];
  exclude: RegExp[];
}

function compile(spec: string): Patterns {
  const include: RegExp[] = [];
  const exclude: RegExp[] = [];
  for (const raw of spec.split(/[\s,]+/)) {
    if (!raw) continue;
    const negative = raw.startsWith("-");
    const pattern = negative ? raw.slice(1) : raw;
    // "hopwire:*" also selects "hopwire" itself (the node's own lines: workers started, the
    // node stopped): what the docs' `DEBUG=hopwire:*` promises, "everything of Hopwire's".
    const all = pattern.endsWith(":*");
    const body = (all ? pattern.slice(0, -2) : pattern).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*?");
    (negative ? exclude : include).push(new RegExp(all ? `^${body}(:.*)?$` : `^${body}$`));
  }
  return { include, exclude };
}

function isEnabled(patterns: Patterns, namespace: string): boolean {
  if (patterns.exclude.some((r) => r.test(namespace))) return false;
  return patterns.include.some((r) => r.test(namespace));
}

/** Lines a namespace writes per second at most, by default (in bursts of as many). */
export const DEFAULT_MAX_LINES_PER_SECOND = 200;

/** Options of createLogger: which namespaces are enabled (default: the DEBUG environment variable), a prefix and where lines go. */
export interface LoggerOptions {
  /** Overrides process.env.DEBUG. */
  debug?: string;
  /** Written before every line, e.g. the node's name. */
  prefix?: string;
  sink?: LogSink;
  /**
   * Lines each namespace writes per second at most (DEFAULT_MAX_LINES_PER_SECOND; `Infinity`
   * for no limit). Past it, lines are left out, and the next line written (or a line a second
   * later) says how many.
   */
  maxLinesPerSecond?: number;
}

/** A logger for `namespace` ("hopwire:..."), silent unless DEBUG (or `options.debug`) selects it. */
export function createLogger(namespace: string, options: LoggerOptions = {}): Logger {
  checkLoggerArguments(namespace, options);
  const patterns = compile(options.debug ?? process.env.DEBUG ?? "");
  return make(namespace, { patterns, prefix: options.prefix, sink: options.sink ?? defaultSink, perSecond: options.maxLinesPerSecond ?? DEFAULT_MAX_LINES_PER_SECOND });
}

const LOGGER_OPTIONS = optionKeys<LoggerOptions>({ debug: true, prefix: true, sink: true, maxLinesPerSecond: true });

/** A misspelt option or a sink that is not a function would otherwise fail later, at the first line logged, or never. */
function checkLoggerArguments(namespace: unknown, options: unknown): void {
  if (typeof namespace !== "string" || namespace.length === 0) {
    throw new InvalidOptionError(`createLogger: the namespace must be a non-empty string, got ${describeValue(namespace)}`, { option: "namespace" });
  }
  if (!isPlainObject(options)) throw notAnOptionsObjectError("createLogger: options must be a plain object", options);
  checkOptionKeys(options, LOGGER_OPTIONS, "logger options");
  for (const key of ["debug", "prefix"] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== "string") {
      throw new InvalidOptionError(`logger options: ${key} must be a string, got ${describeValue(value)}`, { option: key });
    }
  }
  if (options.sink !== undefined && typeof options.sink !== "function") {
    throw new InvalidOptionError(`logger options: sink must be a function that takes one line, got ${describeValue(options.sink)}`, { option: "sink" });
  }
  const perSecond = options.maxLinesPerSecond;
  if (perSecond !== undefined && !(typeof perSecond === "number" && perSecond >= 1 && (Number.isInteger(perSecond) || perSecond === Infinity))) {
    throw new InvalidOptionError(`logger options: maxLinesPerSecond must be a whole number from 1, or Infinity, got ${describeValue(perSecond)}`, { option: "maxLinesPerSecond" });
  }
}

/** What every logger of one createLogger shares. */
interface LoggerSettings {
  readonly patterns: Patterns;
  readonly prefix: string | undefined;
  readonly sink: LogSink;
  readonly perSecond: number;
}

function make(namespace: string, settings: LoggerSettings): Logger {
  const { patterns, prefix, sink } = settings;
  const enabled = isEnabled(patterns, namespace);
  const children = new Map<string, Logger>();
  const limit = enabled ? new LineLimit(settings.perSecond, (left) => line("warn", `${left} lines left out (at most ${settings.perSecond} a second)`, [])) : undefined;
  // Messages carry addresses and errors from the network: escaped, so that none can forge a line.
  const line = (level: string, message: string, details: unknown[]): void => {
    const extra = details.length ? " " + details.map(describe).join(" ") : "";
    sink(escapeControl(`${new Date().toISOString()} ${prefix ? `[${prefix}] ` : ""}${namespace} ${level} ${message}${extra}`));
  };
  const write = (level: string, message: string, details: unknown[]): void => {
    if (limit === undefined || !limit.take()) return;
    line(level, message, details);
  };
  return {
    namespace,
    enabled,
    debug: (m, ...d) => write("debug", m, d),
    info: (m, ...d) => write("info", m, d),
    warn: (m, ...d) => write("warn", m, d),
    error: (m, ...d) => write("error", m, d),
    // One child per name, made once: a channel end or connection asks for its logger each time one opens.
    child: (name) => {
      let child = children.get(name);
      if (child === undefined) children.set(name, (child = make(`${namespace}:${name}`, settings)));
      return child;
    },
  };
}

/**
 * A namespace's line budget (a TokenBucket of `perSecond` lines). What it leaves out is counted
 * and reported once a line may be written again: before the next line, or by a timer a second
 * after the first left out (unref'd: it keeps no process alive).
 */
class LineLimit {
  readonly #bucket: TokenBucket;
  #left = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    perSecond: number,
    readonly report: (left: number) => void,
  ) {
    this.#bucket = new TokenBucket(perSecond, Date.now());
  }

  /** Whether a line may be written now (reporting what was left out first). */
  take(): boolean {
    if (!this.#bucket.take(Date.now())) {
      if (this.#left++ === 0) this.#arm();
      return false;
    }
    if (this.#left > 0) this.#flush();
    return true;
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        if (this.#left > 0) this.#flush();
      } catch {
        // A sink that throws, called from a timer: nobody to tell, and no reason to end the process.
      }
    }, 1000);
    this.#timer.unref?.();
  }

  #flush(): void {
    const left = this.#left;
    this.#left = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.report(left);
  }
}

function describe(detail: unknown): string {
  if (detail instanceof Error) {
    const code = (detail as { code?: unknown }).code;
    return `${detail.name}${typeof code === "string" ? `[${code}]` : ""}: ${detail.message}`;
  }
  if (typeof detail === "string") return detail;
  try {
    return JSON.stringify(detail);
  } catch {
    return String(detail);
  }
}

/** A logger that never writes. */
export const silentLogger: Logger = createLogger("hopwire", { debug: "" });
