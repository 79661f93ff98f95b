/**
 * Errors of @hopwire/secure-channel: one class per condition, each with a stable
 * `code`, a default message and an optional `cause`. Callers branch on the class or on
 * `code`, never on message text. They belong to the one Hopwire error family: every class
 * extends the runtime's HopwireError (through SecureChannelError) and is registered with
 * the runtime, so it crosses threads as itself (errorToData / errorFromData), with its
 * `identifier`, `reason` or `option`.
 */
import { errorToData, HopwireError, InvalidOptionError, registerErrorClasses, type HopwireErrorOptions } from "@hopwire/runtime/errors";

/** The runtime's one InvalidOptionError (code OPTION_INVALID): this package throws it too. */
export { InvalidOptionError };
/** The runtime's error-as-data helpers, re-exported for this package's users. */
export { errorFromData, type ErrorData } from "@hopwire/runtime/errors";
/**
 * An error as plain data, cause and details included: the runtime's errorToData under
 * this package's former name.
 */
export const toErrorData = errorToData;

/** Extra, JSON-safe fields an error may carry besides `code` and `message`. */
export interface ErrorDetails {
  /** Identifier of the peer an identity check was about. */
  readonly identifier?: string;
  /** Why, as a code: a transport message's drop reason, a Node file error's code (IdentityFileError). */
  readonly reason?: string;
  /** Name of the option that was rejected. */
  readonly option?: string;
}

export interface SecureChannelErrorOptions extends ErrorDetails, HopwireErrorOptions {}

/**
 * Base class of every error this package defines (a HopwireError); InvalidOptionError is
 * the runtime's own. Thrown as itself only as a generic secure-channel failure.
 */
export class SecureChannelError extends HopwireError {
  override readonly code: string = "SECURE_CHANNEL_ERROR";
  declare readonly identifier?: string;
  declare readonly reason?: string;
  declare readonly option?: string;

  constructor(message = "secure channel error", options?: SecureChannelErrorOptions) {
    super(message, options);
    if (options?.identifier !== undefined) this.identifier = options.identifier;
    if (options?.reason !== undefined) this.reason = options.reason;
    if (options?.option !== undefined) this.option = options.option;
  }
}

// ---- crypto providers -------------------------------------------------------------

/** Thrown when a key has the wrong length or cannot be imported. */
export class InvalidKeyError extends SecureChannelError {
  override readonly code = "INVALID_KEY";
  constructor(message = "invalid key", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when X25519 yields the all-zero shared secret (a low-order public key). */
export class WeakPublicKeyError extends SecureChannelError {
  override readonly code = "WEAK_PUBLIC_KEY";
  constructor(message = "X25519 public key has low order (all-zero shared secret)", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an AEAD nonce is not an integer in [0, 2^64-1]. */
export class InvalidNonceError extends SecureChannelError {
  override readonly code = "INVALID_NONCE";
  constructor(message = "AEAD nonce must be an integer in [0, 2^64-1]", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an AEAD cipher name is neither "AESGCM" nor "ChaChaPoly". */
export class UnsupportedCipherError extends SecureChannelError {
  override readonly code = "UNSUPPORTED_CIPHER";
  constructor(message = "unsupported AEAD cipher", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when getCryptoProvider() is asked for a provider that does not exist. */
export class UnknownCryptoProviderError extends SecureChannelError {
  override readonly code = "UNKNOWN_CRYPTO_PROVIDER";
  constructor(message = 'unknown crypto provider (expected "node" or "noble")', options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

// ---- Noise ------------------------------------------------------------------------

/** Thrown when a Noise protocol name is not one this implementation speaks. */
export class UnsupportedProtocolError extends SecureChannelError {
  override readonly code = "NOISE_UNSUPPORTED_PROTOCOL";
  constructor(message = "unsupported Noise protocol", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a Noise ciphertext fails authentication. */
export class NoiseDecryptError extends SecureChannelError {
  override readonly code = "NOISE_DECRYPT_FAILED";
  constructor(message = "Noise message failed to authenticate", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a Noise object is used out of order (wrong turn, finished or failed). */
export class NoiseStateError extends SecureChannelError {
  override readonly code = "NOISE_WRONG_STATE";
  constructor(message = "Noise handshake used in the wrong state", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a Noise message is shorter than its tokens need or longer than 65535 bytes. */
export class NoiseMessageLengthError extends SecureChannelError {
  override readonly code = "NOISE_MESSAGE_LENGTH";
  constructor(message = "Noise message has an invalid length", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a sender has used every nonce its key allows. */
export class NonceExhaustedError extends SecureChannelError {
  override readonly code = "NONCE_EXHAUSTED";
  constructor(message = "nonces exhausted; the channel must be re-established", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

// ---- identities -------------------------------------------------------------------

/** Thrown when a string is not an identifier ("I" + 64 lowercase hex digits). */
export class InvalidIdentifierError extends SecureChannelError {
  override readonly code = "INVALID_IDENTIFIER";
  constructor(message = 'invalid identifier (expected "I" followed by 64 lowercase hex digits)', options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an exported identity object is malformed. */
export class InvalidIdentityExportError extends SecureChannelError {
  override readonly code = "INVALID_IDENTITY_EXPORT";
  constructor(message = "malformed identity export", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an exported identity has a format version this code does not read. */
export class UnsupportedIdentityVersionError extends SecureChannelError {
  override readonly code = "UNSUPPORTED_IDENTITY_VERSION";
  constructor(message = "unsupported identity export version", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an exported identity's public key or identifier does not match its secret key. */
export class IdentityKeyMismatchError extends SecureChannelError {
  override readonly code = "IDENTITY_KEY_MISMATCH";
  constructor(message = "identity public key or identifier does not match its secret key", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/**
 * Thrown by loadIdentity and saveIdentity when the identity file cannot be read or written
 * (no such file, no permission, a directory, ...). `path` names the file, `reason` is the
 * Node error's code when it has one ("ENOENT", "EACCES"), and `cause` is the Node error itself.
 */
export class IdentityFileError extends SecureChannelError {
  override readonly code = "IDENTITY_FILE_FAILED";
  /** The identity file's path, as it was given. */
  declare readonly path?: string;
  constructor(message = "the identity file could not be read or written", options?: SecureChannelErrorOptions & { readonly path?: string }) {
    super(message, options);
    if (options?.path !== undefined) this.path = options.path;
  }
}

// ---- secure-channel handshake -----------------------------------------------------

/** Thrown when a handshake state machine receives an event it cannot take now. */
export class HandshakeStateError extends SecureChannelError {
  override readonly code = "HANDSHAKE_WRONG_STATE";
  constructor(message = "handshake event received in the wrong state", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a peer's handshake payload cannot be decoded. */
export class MalformedHandshakePayloadError extends SecureChannelError {
  override readonly code = "HANDSHAKE_MALFORMED_PAYLOAD";
  constructor(message = "malformed handshake payload", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a peer's identity signature over its Noise static key does not verify. */
export class InvalidIdentitySignatureError extends SecureChannelError {
  override readonly code = "HANDSHAKE_BAD_SIGNATURE";
  constructor(message = "peer identity signature over its Noise static key is invalid", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when the trust policy refuses the peer's identifier. */
export class UntrustedIdentityError extends SecureChannelError {
  override readonly code = "HANDSHAKE_UNTRUSTED_IDENTITY";
  constructor(message = "peer identity is not trusted", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when the trust policy itself throws or rejects. */
export class TrustPolicyError extends SecureChannelError {
  override readonly code = "TRUST_POLICY_FAILED";
  constructor(message = "trust policy failed", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/**
 * Why a listener refused a handshake at its first message: it already holds `maxChannels`
 * channels (open or handshaking). No DH work was done; the initiator gets
 * SecureChannelRefusedError with reason HANDSHAKE_CHANNEL_LIMIT.
 */
export class ChannelLimitError extends SecureChannelError {
  override readonly code = "HANDSHAKE_CHANNEL_LIMIT";
  constructor(message = "The listener holds its maximum number of secure channels", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/**
 * Why a listener refused a handshake at its first message: it already holds
 * `maxChannelsPerConnection` channels (open or handshaking) that came in over the same first
 * hop (the connection). No DH work was done; the initiator gets SecureChannelRefusedError
 * with reason HANDSHAKE_CONNECTION_CHANNEL_LIMIT.
 */
export class ConnectionChannelLimitError extends SecureChannelError {
  override readonly code = "HANDSHAKE_CONNECTION_CHANNEL_LIMIT";
  constructor(message = "The listener holds its maximum number of secure channels over this connection", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

// ---- transport --------------------------------------------------------------------

/** Thrown by the throwing decrypt variant when a transport message is dropped; `reason` says why. */
export class TransportMessageDroppedError extends SecureChannelError {
  override readonly code = "TRANSPORT_MESSAGE_DROPPED";
  constructor(message = "transport message dropped", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

/** Thrown when an AEAD, a transport encryptor or a decryptor is used after dispose(). */
export class DisposedError extends SecureChannelError {
  override readonly code = "DISPOSED";
  constructor(message = "object used after dispose(); its keys are gone", options?: SecureChannelErrorOptions) {
    super(message, options);
  }
}

// ---- crossing threads -------------------------------------------------------------

// Registered with the runtime so that errorFromData rebuilds each class on any thread that
// loaded this package.
registerErrorClasses(
  SecureChannelError,
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
  IdentityFileError,
  HandshakeStateError,
  MalformedHandshakePayloadError,
  InvalidIdentitySignatureError,
  UntrustedIdentityError,
  TrustPolicyError,
  ChannelLimitError,
  ConnectionChannelLimitError,
  TransportMessageDroppedError,
  DisposedError,
);
