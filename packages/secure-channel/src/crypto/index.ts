import { UnknownCryptoProviderError } from "../errors.js";
import { nobleCryptoProvider } from "./noble-provider.js";
import { nodeCryptoProvider } from "./node-provider.js";
import type { CryptoProvider, CryptoProviderName } from "./provider.js";

export type { Aead, AeadCipher, CryptoProvider, CryptoProviderName, Ed25519, KeyPair, X25519 } from "./provider.js";
export { KEY_LENGTH, SIGNATURE_LENGTH, TAG_LENGTH } from "./provider.js";
export { nobleCryptoProvider } from "./noble-provider.js";
export { nodeCryptoProvider } from "./node-provider.js";

/** The provider used when none is passed: OpenSSL through node:crypto. */
export const defaultCryptoProvider: CryptoProvider = nodeCryptoProvider;

/** A provider by name: "node" (node:crypto / OpenSSL) or "noble" (pure JavaScript). */
export function getCryptoProvider(name: CryptoProviderName): CryptoProvider {
  switch (name) {
    case "node":
      return nodeCryptoProvider;
    case "noble":
      return nobleCryptoProvider;
    default:
      throw new UnknownCryptoProviderError(`unknown crypto provider ${JSON.stringify(name)} (expected "node" or "noble")`);
  }
}
