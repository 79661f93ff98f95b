/**
 * Errors of @hopwire/secure-channel: one class per condition, each with a stable
 * `code`, a default message and an optional `cause`. Callers branch on the class or on
 * `code`, never on message text. Errors cross threads as plain data
 * ({@link toErrorData}) and are rebuilt on the other side ({@link errorFromData}).
 */
import { HopwireError, registerErrorClasses } from "@hopwire/runtime";
import { SecureChannelClosedError, type SecureChannelCloseReason } from "./secure-channel/channel-errors.js";

/** Extra, JSON-safe fields an error may carry besides `code` and `message`. */
export interface ErrorDetails {
  /** Identifier of the peer an identity check was about. */
  readonly identifier?: string;
  /** Why a transport message was dropped. */
  readonly reason?: string;
  /** Name of the option that was rejected. */
  readonly option?: string;
}

export interface SecureChannelErrorOptions extends ErrorDetails {
  readonly cause?: unknown;
}

/** Base class of every error this package throws. */
export abstract class SecureChannelError extends Error {
  abstract readonly code: string;
  readonly identifier?: string;
  readonly reason?: string;
  readonly option?: string;

  constructor(message: string, options?: SecureChannelErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.identifier !== undefined) this.identifier = options.identifier;
    if (options?.reason !== undefined) this.reason = options.reason;
    if (options?.option !== undefined) this.option = options.option;
  }
}

// ---- crypto providers -------------------------------------------------------------

/** Thrown when a key has the wrong length or cannot be imported. */
export class InvalidKeyError extends SecureChannelError {
  readonly code = "INVALID_KEY";
  constructor(message = "invalid key", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when X25519 yields the all-zero shared secret (a low-order public key). */
export class WeakPublicKeyError extends SecureChannelError {
  readonly code = "WEAK_PUBLIC_KEY";
  constructor(message = "X25519 public key has low order (all-zero shared secret)", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an AEAD nonce is not an integer in [0, 2^64-1]. */
export class InvalidNonceError extends SecureChannelError {
  readonly code = "INVALID_NONCE";
  constructor(message = "AEAD nonce must be an integer in [0, 2^64-1]", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an AEAD cipher name is neither "AESGCM" nor "ChaChaPoly". */
export class UnsupportedCipherError extends SecureChannelError {
  readonly code = "UNSUPPORTED_CIPHER";
  constructor(message = "unsupported AEAD cipher", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when getCryptoProvider() is asked for a provider that does not exist. */
export class UnknownCryptoProviderError extends SecureChannelError {
  readonly code = "UNKNOWN_CRYPTO_PROVIDER";
  constructor(message = 'unknown crypto provider (expected "node" or "noble")', options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

// ---- Noise ------------------------------------------------------------------------

/** Thrown when a Noise protocol name is not one this implementation speaks. */
export class UnsupportedProtocolError extends SecureChannelError {
  readonly code = "NOISE_UNSUPPORTED_PROTOCOL";
  constructor(message = "unsupported Noise protocol", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a Noise ciphertext fails authentication. */
export class NoiseDecryptError extends SecureChannelError {
  readonly code = "NOISE_DECRYPT_FAILED";
  constructor(message = "Noise message failed to authenticate", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a Noise object is used out of order (wrong turn, finished or failed). */
export class NoiseStateError extends SecureChannelError {
  readonly code = "NOISE_WRONG_STATE";
  constructor(message = "Noise handshake used in the wrong state", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a Noise message is shorter than its tokens need or longer than 65535 bytes. */
export class NoiseMessageLengthError extends SecureChannelError {
  readonly code = "NOISE_MESSAGE_LENGTH";
  constructor(message = "Noise message has an invalid length", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a sender has used every nonce its key allows. */
export class NonceExhaustedError extends SecureChannelError {
  readonly code = "NONCE_EXHAUSTED";
  constructor(message = "nonces exhausted; the channel must be re-established", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

// ---- identities -------------------------------------------------------------------

/** Thrown when a string is not an identifier ("I" + 64 lowercase hex digits). */
export class InvalidIdentifierError extends SecureChannelError {
  readonly code = "INVALID_IDENTIFIER";
  constructor(message = 'invalid identifier (expected "I" followed by 64 lowercase hex digits)', options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an exported identity object is malformed. */
export class InvalidIdentityExportError extends SecureChannelError {
  readonly code = "INVALID_IDENTITY_EXPORT";
  constructor(message = "malformed identity export", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an exported identity has a format version this code does not read. */
export class UnsupportedIdentityVersionError extends SecureChannelError {
  readonly code = "UNSUPPORTED_IDENTITY_VERSION";
  constructor(message = "unsupported identity export version", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an exported identity's public key or identifier does not match its secret key. */
export class IdentityKeyMismatchError extends SecureChannelError {
  readonly code = "IDENTITY_KEY_MISMATCH";
  constructor(message = "identity public key or identifier does not match its secret key", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

// ---- secure-channel handshake -----------------------------------------------------

/** Thrown when a handshake state machine receives an event it cannot take now. */
export class HandshakeStateError extends SecureChannelError {
  readonly code = "HANDSHAKE_WRONG_STATE";
  constructor(message = "handshake event received in the wrong state", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a peer's handshake payload cannot be decoded. */
export class MalformedHandshakePayloadError extends SecureChannelError {
  readonly code = "HANDSHAKE_MALFORMED_PAYLOAD";
  constructor(message = "malformed handshake payload", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a peer's identity signature over its Noise static key does not verify. */
export class InvalidIdentitySignatureError extends SecureChannelError {
  readonly code = "HANDSHAKE_BAD_SIGNATURE";
  constructor(message = "peer identity signature over its Noise static key is invalid", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when the trust policy refuses the peer's identifier. */
export class UntrustedIdentityError extends SecureChannelError {
  readonly code = "HANDSHAKE_UNTRUSTED_IDENTITY";
  constructor(message = "peer identity is not trusted", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when the trust policy itself throws or rejects. */
export class TrustPolicyError extends SecureChannelError {
  readonly code = "TRUST_POLICY_FAILED";
  constructor(message = "trust policy failed", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

// ---- transport --------------------------------------------------------------------

/** Thrown by the throwing decrypt variant when a transport message is dropped; `reason` says why. */
export class TransportMessageDroppedError extends SecureChannelError {
  readonly code = "TRANSPORT_MESSAGE_DROPPED";
  constructor(message = "transport message dropped", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an AEAD, a transport encryptor or a decryptor is used after dispose(). */
export class DisposedError extends SecureChannelError {
  readonly code = "DISPOSED";
  constructor(message = "object used after dispose(); its keys are gone", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an option is out of range; `option` names it. */
export class InvalidOptionError extends SecureChannelError {
  readonly code = "INVALID_OPTION";
  constructor(message = "invalid option", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

// ---- channel lifecycle and limits (HopwireError family, registered to cross threads) ----

/** Why a channel closed when nothing authenticated came from its peer within the peer timeout (heartbeats stopped). */
export class SecureChannelPeerGoneError extends SecureChannelClosedError {
  override readonly code: string = "SECURE_CHANNEL_PEER_GONE";
  override readonly closeReason: SecureChannelCloseReason = "peer-gone";
  constructor(message = "The peer of the secure channel is gone (no heartbeat within the peer timeout)", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Why a channel closed when its peer closed it (an authenticated CLOSE record). */
export class SecureChannelClosedByPeerError extends SecureChannelClosedError {
  override readonly code: string = "SECURE_CHANNEL_CLOSED_BY_PEER";
  override readonly closeReason: SecureChannelCloseReason = "closed-by-peer";
  constructor(message = "The peer closed the secure channel", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Why a channel closed when its first hop (a connection) went away or failed a record; `cause` says how. */
export class SecureChannelTransportError extends SecureChannelClosedError {
  override readonly code: string = "SECURE_CHANNEL_TRANSPORT_FAILED";
  override readonly closeReason: SecureChannelCloseReason = "transport-error";
  constructor(message = "The route to the peer of the secure channel failed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown by a send into a channel when the message would not fit in a frame once sealed; nothing is sent and the channel stays open. */
export class SecureChannelMessageTooLargeError extends HopwireError {
  override readonly code = "SECURE_CHANNEL_MESSAGE_TOO_LARGE";
  constructor(message = "The message does not fit in one secure channel record", options?: { cause?: unknown }) {
    super(message, options);
  }
}

registerErrorClasses(SecureChannelPeerGoneError, SecureChannelClosedByPeerError, SecureChannelTransportError, SecureChannelMessageTooLargeError);

// ---- crossing threads -------------------------------------------------------------

type ErrorClass = new (message?: string, options?: SecureChannelErrorOptions) => SecureChannelError;

const ERROR_CLASSES: readonly ErrorClass[] = [
  InvalidKeyError,
  WeakPublicKeyError,
  InvalidNonceError,
  UnsupportedCipherError,
  UnknownCryptoProviderError,
  UnsupportedProtocolError,
  NoiseDecryptError,
  NoiseStateError,
  NoiseMessageLengthError,
  NonceExhaustedError,
  InvalidIdentifierError,
  InvalidIdentityExportError,
  UnsupportedIdentityVersionError,
  IdentityKeyMismatchError,
  HandshakeStateError,
  MalformedHandshakePayloadError,
  InvalidIdentitySignatureError,
  UntrustedIdentityError,
  TrustPolicyError,
  TransportMessageDroppedError,
  DisposedError,
  InvalidOptionError,
];

const BY_CODE = new Map<string, ErrorClass>(ERROR_CLASSES.map((C) => [new C().code, C]));

/** A structured-clone and JSON safe description of a {@link SecureChannelError}. */
export interface ErrorData extends ErrorDetails {
  readonly code: string;
  readonly message: string;
}

/** Turns an error into plain data to post across a thread (the cause is not carried). */
export function toErrorData(error: SecureChannelError): ErrorData {
  const data: { -readonly [K in keyof ErrorData]: ErrorData[K] } = { code: error.code, message: error.message };
  if (error.identifier !== undefined) data.identifier = error.identifier;
  if (error.reason !== undefined) data.reason = error.reason;
  if (error.option !== undefined) data.option = error.option;
  return data;
}

/** Rebuilds the error class named by `data.code`; undefined if the code is not ours. */
export function errorFromData(data: ErrorData): SecureChannelError | undefined {
  const ErrorClass = BY_CODE.get(data.code);
  return ErrorClass === undefined ? undefined : new ErrorClass(data.message, data);
}
