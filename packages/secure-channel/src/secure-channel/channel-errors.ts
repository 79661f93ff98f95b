import { HopwireError, registerErrorClasses, RouteUnavailableError } from "@hopwire/runtime";

/** Thrown by createSecureChannel when the responder refused the initiator (untrusted, bad signature…). */
export class SecureChannelRefusedError extends HopwireError {
  override readonly code = "SECURE_CHANNEL_REFUSED";
  constructor(message = "The responder refused the secure channel", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Why a channel closed, as a value to switch on (each has its own error class too):
 * - `closed-locally`: `channel.close()`, the listener or the node stopped (SecureChannelClosedError);
 * - `closed-by-peer`: the peer's authenticated CLOSE (SecureChannelClosedByPeerError);
 * - `peer-gone`: nothing authenticated from the peer within its timeout (SecureChannelPeerGoneError);
 * - `transport-error`: the first hop to the peer went away or refused a record (SecureChannelTransportError);
 * - `credit-exceeded`: the peer kept sending past its credit (SecureChannelCreditExceededError).
 */
export type SecureChannelCloseReason = "closed-locally" | "closed-by-peer" | "peer-gone" | "transport-error" | "credit-exceeded";

/**
 * Why a channel closed (`channel.closed` resolves to it), and what pending requests through
 * it and later sends into it fail with. It is a RouteUnavailableError: the route's first hop
 * (the channel) is gone. Subclasses name the other reasons; this class itself means closed
 * on this side.
 */
export class SecureChannelClosedError extends RouteUnavailableError {
  override readonly code: string = "SECURE_CHANNEL_CLOSED";
  readonly closeReason: SecureChannelCloseReason = "closed-locally";
  constructor(message = "The secure channel is closed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when the handshake failed on this side (bad message, untrusted peer, timeout). */
export class SecureChannelHandshakeError extends HopwireError {
  override readonly code = "SECURE_CHANNEL_HANDSHAKE_FAILED";
  constructor(message = "The secure channel handshake failed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Why a channel end closed when its peer kept sending past the credit it was given: an
 * honest peer never does (both sides apply the same rule), so the records were dropped and
 * counted, and past a quarter of the window the channel was closed.
 */
export class SecureChannelCreditExceededError extends SecureChannelClosedError {
  override readonly code: string = "SECURE_CHANNEL_CREDIT_EXCEEDED";
  override readonly closeReason: SecureChannelCloseReason = "credit-exceeded";
  constructor(message = "The peer sent past the credit of the secure channel", options?: { cause?: unknown }) {
    super(message, options);
  }
}

registerErrorClasses(SecureChannelRefusedError, SecureChannelClosedError, SecureChannelHandshakeError, SecureChannelCreditExceededError);
