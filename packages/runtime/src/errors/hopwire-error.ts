/**
 * Plain-data form of an error, so that it can cross a thread boundary (structured clone,
 * JSON, msgpack) and be rebuilt as the same class by {@link errorFromData}.
 */
export interface ErrorData {
  code: string;
  name: string;
  message: string;
  /** The cause chain, as data. */
  cause?: ErrorData;
  /** The error's own extra fields that are strings, numbers or booleans (e.g. `option`, `identifier`, `reason`, `path`). */
  details?: Record<string, string | number | boolean>;
  /**
   * The stack where the error was made, on the thread that made it (at most 4,096 characters),
   * so that an error rebuilt on another thread still points at the code that threw. Errors
   * cross threads of one process only: nothing of an error is ever sent to a peer.
   */
  stack?: string;
}

/** What every Hopwire error's constructor takes besides its message. */
export interface HopwireErrorOptions {
  /** The error that led to this one. */
  readonly cause?: unknown;
}

/**
 * The base of every error of every Hopwire package: each class has a stable, unique `code`
 * (callers branch on it or on the class, never on the message), a default message and an
 * optional `cause`. Every class is registered with {@link registerErrorClasses} so that it
 * crosses threads as itself.
 */
export class HopwireError extends Error {
  /**
   * The error's stable, unique code (e.g. `"OPTION_INVALID"`, `"ROUTE_UNAVAILABLE"`): the same
   * for every instance of the class, across versions and threads. Branch on it (or on the
   * class), never on `message`, whose wording may change. Listed in docs/errors.md.
   */
  readonly code: string = "HOPWIRE_ERROR";

  constructor(message = "Hopwire error", options?: HopwireErrorOptions) {
    // No `cause` property at all when there is none (Error would define it as undefined).
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }

  /** This error as plain data (see {@link errorToData}). */
  toData(): ErrorData {
    return errorToData(this);
  }
}

type ErrorClass = new (message?: string, options?: HopwireErrorOptions) => Error & { readonly code: string };

const registry = new Map<string, ErrorClass>();

/**
 * Registers error classes by their `code` so that {@link errorFromData} rebuilds the right
 * class. Each package registers all of its classes when it is loaded; a thread rebuilds a
 * class only if its package is loaded there (otherwise it gets a plain Error with the same
 * `name`, `code` and details).
 */
export function registerErrorClasses(...classes: ErrorClass[]): void {
  for (const cls of classes) registry.set(new cls().code, cls);
}

/** Fields that are never copied into `details`: they have places of their own. */
const RESERVED = new Set(["code", "name", "message", "cause", "stack"]);
/** Bounds on what an error carries across: a foreign error may hold anything. */
const MAX_DETAILS = 16;
const MAX_DETAIL_LENGTH = 1024;
const MAX_CAUSE_DEPTH = 8;
const MAX_STACK_LENGTH = 4096;

/** An error as plain data: code, name, message, its extra primitive fields and its cause chain. */
export function errorToData(error: unknown): ErrorData {
  return toData(error, 0);
}

function toData(error: unknown, depth: number): ErrorData {
  if (!(error instanceof Error)) return { code: "ERROR", name: "Error", message: String(error) };
  const code = typeof (error as { code?: unknown }).code === "string" ? (error as unknown as { code: string }).code : "ERROR";
  const data: ErrorData = { code, name: error.name, message: error.message };
  const details = detailsOf(error);
  if (details) data.details = details;
  const stack = error.stack;
  if (typeof stack === "string") data.stack = stack.length > MAX_STACK_LENGTH ? stack.slice(0, MAX_STACK_LENGTH) : stack;
  if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) data.cause = toData(error.cause, depth + 1);
  return data;
}

function detailsOf(error: Error): Record<string, string | number | boolean> | undefined {
  let details: Record<string, string | number | boolean> | undefined;
  let count = 0;
  for (const key of Object.keys(error)) {
    if (RESERVED.has(key)) continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    const keep = typeof value === "number" || typeof value === "boolean" || (typeof value === "string" && value.length <= MAX_DETAIL_LENGTH);
    if (!keep) continue;
    (details ??= {})[key] = value;
    if (++count === MAX_DETAILS) break;
  }
  return details;
}

/**
 * Rebuilds an error from its plain data: the registered class of its code, with its details,
 * its cause and the stack of the thread where it was made.
 */
export function errorFromData(data: ErrorData): Error {
  const cause = data.cause ? errorFromData(data.cause) : undefined;
  const cls = registry.get(data.code);
  // Classes that take details as constructor options (option, identifier, …) get them there.
  const options = cause || data.details ? { ...data.details, ...(cause ? { cause } : {}) } : undefined;
  const error = cls ? new cls(data.message, options) : new Error(data.message, cause ? { cause } : undefined);
  if (!cls) {
    error.name = data.name;
    (error as Error & { code: string }).code = data.code;
  }
  for (const [key, value] of Object.entries(data.details ?? {})) {
    if (RESERVED.has(key) || (error as unknown as Record<string, unknown>)[key] !== undefined) continue;
    Object.defineProperty(error, key, { value, enumerable: true, writable: true, configurable: true });
  }
  // The rebuilt error's own stack would point at this function, not at the code that threw.
  if (typeof data.stack === "string") error.stack = data.stack;
  return error;
}
