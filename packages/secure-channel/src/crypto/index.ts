import { InvalidOptionError, UnknownCryptoProviderError } from "../errors.js";
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
      throw new UnknownCryptoProviderError(`unknown crypto provider ${typeof name === "string" ? JSON.stringify(name) : `(a value of type ${typeof name})`} (expected "node" or "noble")`);
  }
}

/**
 * The provider a public function was given: none (`fallback`), a name ("node", "noble") or a
 * provider object. Anything else is refused here, naming the function, rather than failing
 * with a TypeError inside its first key operation (e.g. `createIdentity(node)`).
 */
export function resolveCryptoProvider(value: unknown, what: string, fallback: CryptoProvider = defaultCryptoProvider): CryptoProvider {
  if (value === undefined) return fallback;
  if (typeof value === "string") return getCryptoProvider(value as CryptoProviderName);
  if (isCryptoProvider(value)) return value;
  const expected = '"node", "noble" or a provider object such as nobleCryptoProvider';
  if (typeof (value as { startWorker?: unknown } | null)?.startWorker === "function") {
    throw new InvalidOptionError(`${what}: got a node where a crypto provider goes (${expected}); ${what} takes no node`, { option: "provider" });
  }
  throw new InvalidOptionError(`${what}: the crypto provider must be ${expected}, got ${value === null ? "null" : typeof value}`, { option: "provider" });
}

function isCryptoProvider(value: unknown): value is CryptoProvider {
  if (typeof value !== "object" || value === null) return false;
  const p = value as Partial<Record<keyof CryptoProvider, unknown>>;
  return (
    typeof p.name === "string" &&
    typeof p.x25519 === "object" &&
    p.x25519 !== null &&
    typeof p.ed25519 === "object" &&
    p.ed25519 !== null &&
    typeof p.sha256 === "function" &&
    typeof p.hmacSha256 === "function" &&
    typeof p.createAead === "function"
  );
}
