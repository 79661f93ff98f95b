import { HopwireError, registerErrorClasses } from "./hopwire-error.js";

/** Thrown when a string cannot be parsed as an address. */
export class InvalidAddressError extends HopwireError {
  override readonly code = "ADDRESS_INVALID";
  constructor(message = "Invalid address", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a message is sent to a local address that no worker holds. */
export class UnknownAddressError extends HopwireError {
  override readonly code = "ADDRESS_UNKNOWN";
  constructor(message = "No worker has this address", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a worker is started on an address that is already taken. */
export class DuplicateAddressError extends HopwireError {
  override readonly code = "ADDRESS_IN_USE";
  constructor(message = "Address is already in use", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a route is empty where a next hop is needed, or cannot be built. */
export class InvalidRouteError extends HopwireError {
  override readonly code = "ROUTE_INVALID";
  constructor(message = "Invalid route", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a route's next hop has a transport type that no transport handles. */
export class UnknownTransportError extends HopwireError {
  override readonly code = "TRANSPORT_UNKNOWN";
  constructor(message = "No transport is registered for this address type", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a pending request's first hop (a connection, a channel) went away. */
export class RouteUnavailableError extends HopwireError {
  // Typed as string: subclasses (e.g. a secure channel's closed error) carry codes of their own.
  override readonly code: string = "ROUTE_UNAVAILABLE";
  constructor(message = "The route's first hop stopped before a reply arrived", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a wait (receive, sendAndReceive, a handshake) exceeds its timeout. */
export class TimeoutError extends HopwireError {
  override readonly code = "TIMEOUT";
  constructor(message = "Timed out", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a wait is cancelled through its AbortSignal. */
export class AbortError extends HopwireError {
  override readonly code = "ABORTED";
  constructor(message = "The operation was aborted", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown (to local senders) or logged (for network senders) when flow controls deny a delivery. */
export class FlowControlDeniedError extends HopwireError {
  override readonly code = "FLOW_CONTROL_DENIED";
  constructor(message = "Flow controls do not allow this delivery", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown when an option has a wrong type or value; the message names the option, and so
 * does `option` where the thrower sets it. The one class for every package (secure-channel
 * and transport-tcp re-export or use this one).
 */
export class InvalidOptionError extends HopwireError {
  override readonly code = "OPTION_INVALID";
  /** The name of the rejected option, when the thrower gives it. */
  declare readonly option?: string;
  constructor(message = "Invalid option", options?: { cause?: unknown; option?: string }) {
    super(message, options);
    if (options?.option !== undefined) this.option = options.option;
  }
}

/**
 * Thrown when bytes cannot be decoded as an envelope, a batch or a body. Made without a
 * stack trace: the bytes come from a peer as often as not, one error per malformed entry of
 * a record, and the stack would only name the codec's own functions (the message says what
 * is wrong; a cause keeps its own stack).
 */
export class DecodeError extends HopwireError {
  override readonly code = "DECODE_FAILED";
  constructor(message = "Could not decode", options?: { cause?: unknown }) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message, options);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

/**
 * Thrown at the sender when a message body or a worker's constructor `args` cannot be
 * encoded (a function, a symbol, a bigint wider than 64 bits): such a value would otherwise
 * arrive as undefined. `path` names the bad value (e.g. `body.onDone`, `args[1]`) when found.
 */
export class EncodeError extends HopwireError {
  override readonly code = "ENCODE_FAILED";
  /** Where the unencodable value is, from `body` or `args` (e.g. `body.items[3]`). */
  declare readonly path?: string;
  constructor(message = "Could not encode", options?: { cause?: unknown; path?: string }) {
    super(message, options);
    if (options?.path !== undefined) this.path = options.path;
  }
}

/** Thrown when a worker that must run off the main thread cannot be loaded there. */
export class WorkerLoadError extends HopwireError {
  override readonly code = "WORKER_LOAD_FAILED";
  constructor(message = "The worker could not be loaded in its thread", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when an operation is not available where it was called (e.g. receive in a pool worker). */
export class UnsupportedOperationError extends HopwireError {
  override readonly code = "UNSUPPORTED_OPERATION";
  constructor(message = "This operation is not supported here", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when the node, or the context used, has stopped. */
export class NodeStoppedError extends HopwireError {
  override readonly code = "NODE_STOPPED";
  constructor(message = "The node has stopped", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Why a send with `{ ifFull: "drop" }` was dropped: its first hop (a worker's mailbox, a
 * connection, a secure channel) was full when the message reached it. Raised in the node's
 * `"dropped"` event (reason `"full"`), never thrown to the sender, whose send resolves.
 */
export class MailboxFullError extends HopwireError {
  override readonly code = "MAILBOX_FULL";
  constructor(message = "The first hop was full and the sender asked to drop rather than wait", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Wraps an error thrown by a worker's own code (handleMessage, initialize, process). */
export class WorkerHandlerError extends HopwireError {
  override readonly code = "WORKER_HANDLER_FAILED";
  constructor(message = "A worker's handler threw", options?: { cause?: unknown }) {
    super(message, options);
  }

  /** What a handler threw, wrapped: the message says what it was (the cause's message), the cause is kept. */
  static wrapping(error: unknown): WorkerHandlerError {
    const what = error instanceof Error ? error.message : String(error);
    return new WorkerHandlerError(`A worker's handler threw: ${what}`, { cause: error });
  }
}

registerErrorClasses(
  HopwireError,
  InvalidAddressError,
  UnknownAddressError,
  DuplicateAddressError,
  InvalidRouteError,
  UnknownTransportError,
  RouteUnavailableError,
  TimeoutError,
  AbortError,
  FlowControlDeniedError,
  InvalidOptionError,
  DecodeError,
  EncodeError,
  WorkerLoadError,
  UnsupportedOperationError,
  NodeStoppedError,
  MailboxFullError,
  WorkerHandlerError,
);
