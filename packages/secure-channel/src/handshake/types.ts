import type { CryptoProvider, KeyPair } from "../crypto/provider.js";
import type { Identifier } from "../identity/identifier.js";
import type { Identity } from "../identity/identity.js";
import type { TrustPolicy } from "../trust/trust-policy.js";

/** Inputs to a handshake state machine. */
export type HandshakeEvent =
  /** Start: the initiator answers with message 1; the responder ignores it. */
  | { readonly type: "initialize" }
  /** A handshake message arrived from the peer. */
  | { readonly type: "message"; readonly message: Uint8Array };

/** What the driver must do, in order. */
export type HandshakeAction =
  /** Deliver `message` to the peer. */
  | { readonly type: "send"; readonly message: Uint8Array }
  /** The channel is established. */
  | { readonly type: "complete"; readonly result: HandshakeResult };

/**
 * A completed handshake: the authenticated peer, the handshake hash and the keys of each direction.
 * util.inspect (console.log) and JSON.stringify show `sendKey` and `receiveKey` as "[redacted]";
 * the properties themselves hold the keys.
 */
export interface HandshakeResult {
  readonly peerIdentifier: Identifier;
  /** The peer's Ed25519 identity public key. */
  readonly peerPublicKey: Uint8Array;
  /** The peer's Noise static X25519 public key (vouched for by its identity). */
  readonly peerNoiseStaticKey: Uint8Array;
  /** Noise h: identical on both sides; a channel binding value. */
  readonly handshakeHash: Uint8Array;
  /** Key for messages we send (Split()'s first key for the initiator, second for the responder). */
  readonly sendKey: Uint8Array;
  /** Key for messages we receive. */
  readonly receiveKey: Uint8Array;
}

/** Where an initiator handshake stands. */
export type InitiatorStatus = "idle" | "awaiting-message-2" | "complete" | "failed";
/** Where a responder handshake stands. */
export type ResponderStatus = "awaiting-message-1" | "awaiting-message-3" | "complete" | "failed";

/** Options of a handshake machine: our identity, the trust policy, the crypto provider. */
export interface HandshakeOptions {
  /** Who we are; its key signs our Noise static key. */
  readonly identity: Identity;
  /** Decides whether the authenticated peer may connect. */
  readonly trustPolicy: TrustPolicy;
  /** How long `trustPolicy` may take to answer (default: no limit); past it the handshake fails with TrustPolicyError. */
  readonly trustPolicyTimeoutMs?: number;
  /** Default: the node:crypto provider. */
  readonly provider?: CryptoProvider;
  /** Our Noise static key pair; default a fresh one per handshake (the identity vouches for it). */
  readonly noiseStaticKeyPair?: KeyPair;
  /** A fixed Noise ephemeral key pair: deterministic tests only. */
  readonly noiseEphemeralKeyPair?: KeyPair;
}
