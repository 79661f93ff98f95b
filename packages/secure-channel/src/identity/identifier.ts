import { toHex } from "../bytes.js";
import { resolveCryptoProvider } from "../crypto/index.js";
import { assertKey32 } from "../crypto/key-checks.js";
import type { CryptoProvider, CryptoProviderName } from "../crypto/provider.js";
import { InvalidIdentifierError } from "../errors.js";

declare const IDENTIFIER_BRAND: unique symbol;

/**
 * Names an identity: "I" followed by the lowercase hex SHA-256 of its 32-byte Ed25519
 * public key (65 characters). Branded so that an unchecked string cannot pass for one;
 * get one from identifierFromPublicKey() or parseIdentifier().
 */
export type Identifier = string & { readonly [IDENTIFIER_BRAND]: true };

const IDENTIFIER_PATTERN = /^I[0-9a-f]{64}$/;

/** True if `value` is a well-formed identifier string. */
export function isIdentifier(value: unknown): value is Identifier {
  return typeof value === "string" && IDENTIFIER_PATTERN.test(value);
}

/** `value` as an Identifier, or InvalidIdentifierError if it is not one. */
export function parseIdentifier(value: string): Identifier {
  if (typeof value !== "string") {
    // Not quoted: String(identity) is its identifier, which would read as a valid one.
    const named = typeof value === "object" && value !== null && isIdentifier((value as { identifier?: unknown }).identifier);
    throw new InvalidIdentifierError(
      `invalid identifier: got ${named ? "an object (an Identity?)" : value === null ? "null" : `a value of type ${typeof value}`}, not a string${named ? "; pass its .identifier" : ' ("I" followed by 64 lowercase hex digits)'}`,
    );
  }
  if (!isIdentifier(value)) {
    throw new InvalidIdentifierError(`invalid identifier ${JSON.stringify(String(value)).slice(0, 80)} (expected "I" followed by 64 lowercase hex digits)`);
  }
  return value;
}

/** The identifier of an Ed25519 identity public key. */
export function identifierFromPublicKey(publicKey: Uint8Array, providerOrName?: CryptoProvider | CryptoProviderName): Identifier {
  return identifierOf(publicKey, resolveCryptoProvider(providerOrName, "identifierFromPublicKey"));
}

/** identifierFromPublicKey for callers that hold a provider already (a handshake, an identity): not checked again. */
export function identifierOf(publicKey: Uint8Array, provider: CryptoProvider): Identifier {
  assertKey32(publicKey, "identity public key");
  return `I${toHex(provider.sha256(publicKey))}` as Identifier;
}
