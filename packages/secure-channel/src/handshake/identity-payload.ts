/**
 * The identity payload carried by handshake messages 2 and 3, version 1 (97 bytes):
 *
 *   offset  length  field
 *   0       1       version = 0x01
 *   1       32      identity public key (Ed25519)
 *   33      64      signature (Ed25519, by the identity key) over
 *                     UTF-8 "hopwire-secure-channel-v1" || sender's Noise static public key (32)
 *
 * Noise encrypts it and binds it to the handshake; the signature binds the identity to
 * the Noise static key, which Noise in turn proves the sender holds (es / se).
 */
import { concatBytes } from "../bytes.js";
import type { CryptoProvider } from "../crypto/provider.js";
import { KEY_LENGTH, SIGNATURE_LENGTH } from "../crypto/provider.js";
import { MalformedHandshakePayloadError } from "../errors.js";
import type { Identity } from "../identity/identity.js";
import { IDENTITY_SIGNATURE_DOMAIN } from "./constants.js";

/** The identity payload format this version writes and reads. */
export const IDENTITY_PAYLOAD_VERSION = 1;
/** Bytes of an encoded identity payload: version, public key, signature. */
export const IDENTITY_PAYLOAD_LENGTH = 1 + KEY_LENGTH + SIGNATURE_LENGTH;

const DOMAIN = new TextEncoder().encode(IDENTITY_SIGNATURE_DOMAIN);

/** What a handshake message carries to prove an identity: its public key and its signature over the Noise static key. */
export interface IdentityPayload {
  readonly version: typeof IDENTITY_PAYLOAD_VERSION;
  readonly identityPublicKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** The bytes an identity signs to vouch for a Noise static key. */
export function identitySignedData(noiseStaticPublicKey: Uint8Array): Uint8Array {
  return concatBytes(DOMAIN, noiseStaticPublicKey);
}

/** The identity payload's bytes (IDENTITY_PAYLOAD_LENGTH of them). */
export function encodeIdentityPayload(payload: IdentityPayload): Uint8Array {
  const out = new Uint8Array(IDENTITY_PAYLOAD_LENGTH);
  out[0] = payload.version;
  out.set(payload.identityPublicKey, 1);
  out.set(payload.signature, 1 + KEY_LENGTH);
  return out;
}

/** The payload `identity` sends when its Noise static public key is `noiseStaticPublicKey`. */
export function createIdentityPayload(identity: Identity, noiseStaticPublicKey: Uint8Array): Uint8Array {
  return encodeIdentityPayload({
    version: IDENTITY_PAYLOAD_VERSION,
    identityPublicKey: identity.publicKey,
    signature: identity.sign(identitySignedData(noiseStaticPublicKey)),
  });
}

/** Parses a payload; MalformedHandshakePayloadError says what is wrong. Does not verify. */
export function decodeIdentityPayload(bytes: Uint8Array): IdentityPayload {
  if (bytes.length === 0) throw new MalformedHandshakePayloadError("handshake payload is empty; expected an identity payload");
  if (bytes[0] !== IDENTITY_PAYLOAD_VERSION) {
    throw new MalformedHandshakePayloadError(`handshake payload version ${bytes[0]} is not supported (expected ${IDENTITY_PAYLOAD_VERSION})`);
  }
  if (bytes.length !== IDENTITY_PAYLOAD_LENGTH) {
    throw new MalformedHandshakePayloadError(`handshake payload is ${bytes.length} bytes; version 1 is exactly ${IDENTITY_PAYLOAD_LENGTH}`);
  }
  return {
    version: IDENTITY_PAYLOAD_VERSION,
    identityPublicKey: bytes.slice(1, 1 + KEY_LENGTH),
    signature: bytes.slice(1 + KEY_LENGTH),
  };
}

/** Whether the payload's signature vouches for `noiseStaticPublicKey`. */
export function verifyIdentityPayload(payload: IdentityPayload, noiseStaticPublicKey: Uint8Array, provider: CryptoProvider): boolean {
  return provider.ed25519.verify(payload.identityPublicKey, identitySignedData(noiseStaticPublicKey), payload.signature);
}
