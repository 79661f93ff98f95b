/**
 * @hopwire/secure-channel: identities, trust policies, crypto providers, the
 * secure-channel handshake (Noise XX carrying identities) as state machines, and the
 * transport codec of an established channel. Everything here is pure: no workers, no
 * sockets, so it runs the same on the main thread and in crypto worker threads.
 *
 * The Noise objects themselves are at `@hopwire/secure-channel/noise`.
 */

// crypto providers
export {
  defaultCryptoProvider,
  getCryptoProvider,
  KEY_LENGTH,
  nobleCryptoProvider,
  nodeCryptoProvider,
  SIGNATURE_LENGTH,
  TAG_LENGTH,
  type Aead,
  type AeadCipher,
  type CryptoProvider,
  type CryptoProviderName,
  type Ed25519,
  type KeyPair,
  type X25519,
} from "./crypto/index.js";

// identities
export {
  assertIdentity,
  createIdentity,
  exportIdentity,
  identifierFromPublicKey,
  Identity,
  IDENTITY_EXPORT_FORMAT,
  IDENTITY_EXPORT_VERSION,
  identityFromSecretKey,
  importIdentity,
  isIdentifier,
  loadIdentity,
  MAX_IDENTITY_FILE_BYTES,
  parseIdentifier,
  saveIdentity,
  verifyIdentitySignature,
  type ArgumentName,
  type ExportedIdentity,
  type Identifier,
  type IdentityFileOptions,
} from "./identity/index.js";

// trust policies
export { trustCustom, trustEveryone, trustIdentifier, trustIdentifiers, type IdentifierLike, type TrustContext, type TrustPolicy } from "./trust/index.js";

// handshake state machines
export {
  createIdentityPayload,
  decodeIdentityPayload,
  encodeIdentityPayload,
  HANDSHAKE_PROLOGUE,
  HANDSHAKE_PROTOCOL_NAME,
  IDENTITY_PAYLOAD_LENGTH,
  IDENTITY_PAYLOAD_VERSION,
  IDENTITY_SIGNATURE_DOMAIN,
  identitySignedData,
  InitiatorHandshake,
  ResponderHandshake,
  verifyIdentityPayload,
  type HandshakeAction,
  type HandshakeEvent,
  type HandshakeOptions,
  type HandshakeResult,
  type IdentityPayload,
  type InitiatorStatus,
  type ResponderStatus,
} from "./handshake/index.js";

// transport codec
export {
  DEFAULT_MAX_EPOCH_SKIP,
  DEFAULT_REKEY_INTERVAL,
  DEFAULT_REPLAY_WINDOW_SIZE,
  DROP_REASONS,
  MAX_TRANSPORT_NONCE,
  ReplayWindow,
  TRANSPORT_NONCE_LENGTH,
  TRANSPORT_OVERHEAD,
  TransportDecryptor,
  TransportEncryptor,
  type DecryptResult,
  type DropReason,
  type ReplayVerdict,
  type TransportCipherOptions,
  type TransportDecryptorOptions,
} from "./channel/index.js";

// errors
export * from "./errors.js";

// channel ciphers: inline, or on the node's dedicated crypto threads
export * from "./crypto-threads/index.js";

// secure channels and listeners (workers on the node's main thread)
export * from "./secure-channel/index.js";
export * from "./listener/index.js";
