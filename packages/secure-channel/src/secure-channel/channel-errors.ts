import { registerErrorClasses } from "@hopwire/runtime/errors";
import { SecureChannelError } from "../errors.js";

/** Thrown by createSecureChannel when the responder refused the initiator (untrusted, bad signature…). */
export class SecureChannelRefusedError extends SecureChannelError {
  override readonly code = "SECURE_CHANNEL_REFUSED";
  constructor(message = "The responder refused the secure channel", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown (or used as the reason of a RouteUnavailableError) when a channel closed. */
export class SecureChannelClosedError extends SecureChannelError {
  override readonly code = "SECURE_CHANNEL_CLOSED";
  constructor(message = "The secure channel is closed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when the handshake failed on this side (bad message, untrusted peer, timeout). */
export class SecureChannelHandshakeError extends SecureChannelError {
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
export class SecureChannelCreditExceededError extends SecureChannelError {
  override readonly code = "SECURE_CHANNEL_CREDIT_EXCEEDED";
  constructor(message = "The peer sent past the credit of the secure channel", options?: { cause?: unknown }) {
    super(message, options);
  }
}

registerErrorClasses(SecureChannelRefusedError, SecureChannelClosedError, SecureChannelHandshakeError, SecureChannelCreditExceededError);
