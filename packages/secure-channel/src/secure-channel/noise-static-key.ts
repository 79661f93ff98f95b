import type { CryptoProvider, KeyPair } from "../crypto/provider.js";
import type { Identity } from "../identity/identity.js";

const keys = new WeakMap<Identity, Map<string, KeyPair>>();

/**
 * The Noise static key pair an identity uses for its channels, made once per identity and
 * provider. Noise static keys are long-term keys (forward secrecy comes from the ephemeral
 * keys); one per identity saves a key generation per handshake. Each handshake copies it
 * and wipes its copy.
 */
export function noiseStaticKeyFor(identity: Identity, provider: CryptoProvider): KeyPair {
  let byProvider = keys.get(identity);
  if (!byProvider) keys.set(identity, (byProvider = new Map()));
  let keyPair = byProvider.get(provider.name);
  if (!keyPair) byProvider.set(provider.name, (keyPair = provider.x25519.generateKeyPair()));
  return keyPair;
}
