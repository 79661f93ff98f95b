import { HopwireError, registerErrorClasses } from "@hopwire/runtime";

/** The base of the portal errors: a portal stream ended abnormally. Branch on `code`. */
export class PortalError extends HopwireError {
  override readonly code: string = "PORTAL_ERROR";
  constructor(message = "Portal stream failed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when an inlet asked an outlet for a target that is not on the outlet's allow-list. */
export class PortalTargetNotAllowedError extends PortalError {
  override readonly code = "PORTAL_TARGET_NOT_ALLOWED";
  constructor(message = "The outlet does not allow this target", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when an outlet could not connect to its target (refused, unreachable, connect timeout). */
export class PortalTargetUnreachableError extends PortalError {
  override readonly code = "PORTAL_TARGET_UNREACHABLE";
  constructor(message = "The outlet could not connect to its target", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when an inlet's stream got no answer from the outlet within `openTimeoutMs`. */
export class PortalOpenTimeoutError extends PortalError {
  override readonly code = "PORTAL_OPEN_TIMEOUT";
  constructor(message = "The outlet did not answer in time", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown when an outlet or inlet is at its `maxStreams` and refuses another connection, or
 * when the channel an OPEN came through holds the outlet's `maxStreamsPerChannel` already, or
 * opened streams faster than its `maxOpensPerSecondPerChannel`.
 */
export class PortalStreamLimitError extends PortalError {
  override readonly code = "PORTAL_STREAM_LIMIT";
  constructor(message = "Too many portal streams", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when the far side reset the stream (its socket errored or was reset, or it stopped). */
export class PortalResetError extends PortalError {
  override readonly code = "PORTAL_RESET";
  constructor(message = "The far side reset the portal stream", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when the route to the far side went away (a secure channel or connection closed). */
export class PortalRouteClosedError extends PortalError {
  override readonly code = "PORTAL_ROUTE_CLOSED";
  constructor(message = "The route to the far side of the portal closed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a portal message is malformed or breaks the stream's credit. */
export class PortalProtocolError extends PortalError {
  override readonly code = "PORTAL_PROTOCOL";
  constructor(message = "Malformed portal message", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when an inlet cannot listen on its address. */
export class PortalListenError extends PortalError {
  override readonly code = "PORTAL_LISTEN";
  constructor(message = "The inlet could not listen", options?: { cause?: unknown }) {
    super(message, options);
  }
}

registerErrorClasses(
  PortalError,
  PortalTargetNotAllowedError,
  PortalTargetUnreachableError,
  PortalOpenTimeoutError,
  PortalStreamLimitError,
  PortalResetError,
  PortalRouteClosedError,
  PortalProtocolError,
  PortalListenError,
);

const byCode: Record<string, new (message?: string, options?: { cause?: unknown }) => PortalError> = {
  PORTAL_TARGET_NOT_ALLOWED: PortalTargetNotAllowedError,
  PORTAL_TARGET_UNREACHABLE: PortalTargetUnreachableError,
  PORTAL_OPEN_TIMEOUT: PortalOpenTimeoutError,
  PORTAL_STREAM_LIMIT: PortalStreamLimitError,
  PORTAL_RESET: PortalResetError,
  PORTAL_ROUTE_CLOSED: PortalRouteClosedError,
  PORTAL_PROTOCOL: PortalProtocolError,
};

/**
 * The error a RESET carrying `code` stands for (an unknown code is a plain reset). A
 * `detail` (the peer's system error code, e.g. ECONNREFUSED for its failed dial) joins the
 * message and becomes the cause's `code`, as a local dial error would be.
 */
export function portalErrorFromCode(code: string, detail?: string): PortalError {
  const cls = byCode[code] ?? PortalResetError;
  if (detail === undefined) return new cls();
  const cause = Object.assign(new Error(`the peer reported ${detail}`), { code: detail });
  return new cls(`${new cls().message} (${detail}, reported by the peer)`, { cause });
}
