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
import { concatBytes, equalBytes } from "../bytes.js";
import type { CryptoProvider } from "../crypto/provider.js";
import { KEY_LENGTH, SIGNATURE_LENGTH } from "../crypto/provider.js";
import { MalformedHandshakePayloadError } from "../errors.js";
import { assertIdentity } from "../identity/identity-argument.js";
import type { Identity } from "../identity/identity.js";
import { IDENTITY_SIGNATURE_DOMAIN } from "./constants.js";
import { RecentlyUsed } from "../recently-used.js";

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

/** Each identity's last payload, by the Noise static key it vouches for (public bytes only). */
const lastPayloads = new WeakMap<Identity, { readonly noiseStaticPublicKey: Uint8Array; readonly payload: Uint8Array }>();

/**
 * The payload `identity` sends when its Noise static public key is `noiseStaticPublicKey`.
 * An identity uses one static key for all its channels (noise-static-key.ts) and Ed25519
 * signatures are deterministic, so the payload is signed once and reused: the same bytes,
 * without a signature (~35 µs) per handshake.
 */
export function createIdentityPayload(identity: Identity, noiseStaticPublicKey: Uint8Array): Uint8Array {
  assertIdentity(identity, "createIdentityPayload");
  const last = lastPayloads.get(identity);
  if (last && equalBytes(last.noiseStaticPublicKey, noiseStaticPublicKey)) return last.payload.slice();
  const payload = encodeIdentityPayload({
    version: IDENTITY_PAYLOAD_VERSION,
    identityPublicKey: identity.publicKey,
    signature: identity.sign(identitySignedData(noiseStaticPublicKey)),
  });
  lastPayloads.set(identity, { noiseStaticPublicKey: noiseStaticPublicKey.slice(), payload: payload.slice() });
  return payload;
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

/** Bindings (identity key, Noise static key, signature) that verified lately, per provider, least recently used first. */
const verifiedBindings = new WeakMap<CryptoProvider, RecentlyUsed<string, true>>();
const VERIFIED_BINDINGS_KEPT = 256;

/**
 * Whether the payload's signature vouches for `noiseStaticPublicKey`. A peer sends the same
 * binding on every handshake (one static key per identity, deterministic signatures), so the
 * exact bytes of bindings that verified lately are remembered and an identical one is not
 * verified again (~85 µs): verification is a pure function of those bytes, so the answer is
 * the same. Anything not byte-for-byte identical to a verified binding is verified.
 */
export function verifyIdentityPayload(payload: IdentityPayload, noiseStaticPublicKey: Uint8Array, provider: CryptoProvider): boolean {
  let verified = verifiedBindings.get(provider);
  if (!verified) verifiedBindings.set(provider, (verified = new RecentlyUsed(VERIFIED_BINDINGS_KEPT)));
  const binding = bindingKey(payload, noiseStaticPublicKey);
  if (binding !== undefined && verified.get(binding)) return true;
  if (!provider.ed25519.verify(payload.identityPublicKey, identitySignedData(noiseStaticPublicKey), payload.signature)) return false;
  if (binding !== undefined) verified.set(binding, true);
  return true;
}

/** The binding's bytes as a string key (one char per byte); undefined for malformed lengths, which are never remembered. */
function bindingKey(payload: IdentityPayload, noiseStaticPublicKey: Uint8Array): string | undefined {
  const { identityPublicKey, signature } = payload;
  if (identityPublicKey.length !== KEY_LENGTH || noiseStaticPublicKey.length !== KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return undefined;
  const bytes = Buffer.allocUnsafe(2 * KEY_LENGTH + SIGNATURE_LENGTH);
  bytes.set(identityPublicKey, 0);
  bytes.set(noiseStaticPublicKey, KEY_LENGTH);
  bytes.set(signature, 2 * KEY_LENGTH);
  return bytes.toString("latin1");
}
