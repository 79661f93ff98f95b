/** Plain-data form of an error, so that it can cross a thread boundary and be rebuilt. */
export interface ErrorData {
  code: string;
  name: string;
  message: string;
  cause?: ErrorData;
}

/** The base of every Hopwire error: callers branch on `code` (stable) or the class, never on the message. */
export class HopwireError extends Error {
  readonly code: string = "HOPWIRE_ERROR";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** This error as plain data (code, name, message, cause), to cross a thread boundary. */
  toData(): ErrorData {
    return errorToData(this);
  }
}

type ErrorClass = new (message?: string, options?: { cause?: unknown }) => HopwireError;

const registry = new Map<string, ErrorClass>();

/** Registers error classes by code so that `errorFromData` rebuilds the right class. */
export function registerErrorClasses(...classes: ErrorClass[]): void {
  for (const cls of classes) registry.set(new cls().code, cls);
}

/** Any thrown value as plain ErrorData (code "ERROR" when it has none), causes included. */
export function errorToData(error: unknown): ErrorData {
  if (error instanceof Error) {
    const code = typeof (error as { code?: unknown }).code === "string" ? (error as unknown as { code: string }).code : "ERROR";
    const data: ErrorData = { code, name: error.name, message: error.message };
    if (error.cause !== undefined) data.cause = errorToData(error.cause);
    return data;
  }
  return { code: "ERROR", name: "Error", message: String(error) };
}

/** Rebuilds an error from its plain data: a registered Hopwire class when the code is known. */
export function errorFromData(data: ErrorData): Error {
  const cause = data.cause ? errorFromData(data.cause) : undefined;
  const cls = registry.get(data.code);
  if (cls) return new cls(data.message, cause ? { cause } : undefined);
  const error = new Error(data.message, cause ? { cause } : undefined);
  error.name = data.name;
  (error as Error & { code: string }).code = data.code;
  return error;
}
