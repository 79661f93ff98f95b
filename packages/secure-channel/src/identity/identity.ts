import { inspect } from "node:util";
import { resolveCryptoProvider } from "../crypto/index.js";
import { assertKey32, copyPrivateKey, wipePrivateKey } from "../crypto/key-checks.js";
import type { CryptoProvider, CryptoProviderName } from "../crypto/provider.js";
import { identifierOf, type Identifier } from "./identifier.js";

// Lets identity-export.ts read the secret key without exposing it on the class.
let readSecretKey: (identity: Identity) => Uint8Array;
// Only the factories below may construct; a public constructor could pair mismatched keys.
const CONSTRUCT = Symbol("Identity.construct");

/**
 * An identity: an Ed25519 key pair named by its Identifier. The secret key lives in a
 * private field; toJSON(), toString() (the identifier itself) and util.inspect show only the identifier, so an
 * identity that reaches a log or a JSON dump leaks nothing. structuredClone/postMessage
 * drop private fields as well: use exportIdentity() to move an identity on purpose.
 */
export class Identity {
  /**
   * The identity's public name: "I" and 64 lowercase hex digits, derived from its public
   * key. Safe to share and log; peers trust it (`trustIdentifier(identity.identifier)`).
   */
  readonly identifier: Identifier;
  readonly #publicKey: Uint8Array;
  readonly #secretKey: Uint8Array;
  readonly #provider: CryptoProvider;

  static {
    readSecretKey = (identity) => identity.#secretKey.slice();
  }

  /** @internal Use createIdentity(), identityFromSecretKey() or importIdentity(). */
  constructor(token: typeof CONSTRUCT, secretKey: Uint8Array, publicKey: Uint8Array, provider: CryptoProvider) {
    if (token !== CONSTRUCT) throw new TypeError("use createIdentity(), identityFromSecretKey() or importIdentity()");
    this.#secretKey = copyPrivateKey(provider, secretKey); // shares a KeyObject the provider already made for it
    this.#publicKey = publicKey.slice();
    this.#provider = provider;
    this.identifier = identifierOf(publicKey, provider);
  }

  /** The 32-byte Ed25519 public key (a copy). */
  get publicKey(): Uint8Array {
    return this.#publicKey.slice();
  }

  /** A 64-byte Ed25519 signature over `data` by the identity key. */
  sign(data: Uint8Array): Uint8Array {
    return this.#provider.ed25519.sign(this.#secretKey, data);
  }

  /** Only the identifier: the secret key never reaches JSON. */
  toJSON(): { identifier: Identifier } {
    return { identifier: this.identifier };
  }

  /** The identifier, so that `trustIdentifier(String(identity))` and template strings name the identity. */
  toString(): string {
    return this.identifier;
  }

  /** What console.log and util.inspect show: the identifier, never the secret key. */
  [inspect.custom](): string {
    return `Identity { identifier: '${this.identifier}' }`;
  }

  /** @internal */
  static create(secretKey: Uint8Array, publicKey: Uint8Array, provider: CryptoProvider): Identity {
    return new Identity(CONSTRUCT, secretKey, publicKey, provider);
  }
}

/** A copy of an identity's secret key, for exportIdentity() only (not part of the public API). */
export function secretKeyOf(identity: Identity): Uint8Array {
  return readSecretKey(identity);
}

/** A new identity with a fresh Ed25519 key pair, made by the given crypto provider (an object, or "node" / "noble"; default node:crypto). */
export function createIdentity(providerOrName?: CryptoProvider | CryptoProviderName): Identity {
  const provider = resolveCryptoProvider(providerOrName, "createIdentity");
  const { privateKey, publicKey } = provider.ed25519.generateKeyPair();
  const identity = Identity.create(privateKey, publicKey, provider);
  wipePrivateKey(provider, privateKey); // the identity holds its own copy
  return identity;
}

/** The identity whose Ed25519 secret key (32-byte seed) is `secretKey`; the input is copied. */
export function identityFromSecretKey(secretKey: Uint8Array, providerOrName?: CryptoProvider | CryptoProviderName): Identity {
  const provider = resolveCryptoProvider(providerOrName, "identityFromSecretKey");
  assertKey32(secretKey, "identity secret key");
  return Identity.create(secretKey, provider.ed25519.publicKey(secretKey), provider);
}

/** Whether `signature` is the identity key's signature over `data`. Never throws on bad keys, data or signatures (only on a provider that is not one). */
export function verifyIdentitySignature(
  publicKey: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
  providerOrName?: CryptoProvider | CryptoProviderName,
): boolean {
  return resolveCryptoProvider(providerOrName, "verifyIdentitySignature").ed25519.verify(publicKey, data, signature);
}
