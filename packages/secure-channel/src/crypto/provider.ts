/**
 * The crypto a secure channel needs, behind one small interface, so that the Noise code,
 * identities and the transport codec run unchanged on OpenSSL (node:crypto, the fast
 * default) or on pure JavaScript (@noble, the portable path and an independent
 * cross-check). Every key is raw bytes; the providers hold no secret state between calls.
 */

/** The AEAD ciphers Noise names: AES-256-GCM and ChaCha20-Poly1305. */
export type AeadCipher = "AESGCM" | "ChaChaPoly";

export type CryptoProviderName = "node" | "noble";

/** A raw 32-byte key pair (X25519 private scalar or Ed25519 seed, and its public key). */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/**
 * An AEAD bound to one key. Nonces are Noise nonces (a 64-bit counter) encoded the way
 * the Noise specification says: AESGCM as 4 zero bytes + big-endian u64, ChaChaPoly as
 * 4 zero bytes + little-endian u64. The tag is 16 bytes and follows the ciphertext.
 */
export interface Aead {
  readonly cipher: AeadCipher;
  /** ciphertext || tag in a new array of plaintext.length + 16 bytes. */
  seal(nonce: number | bigint, ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * Writes ciphertext || tag into `output` at `offset` and returns the bytes written,
   * so a caller can put a header and the ciphertext in one buffer without concatenating.
   */
  sealInto(nonce: number | bigint, ad: Uint8Array, plaintext: Uint8Array, output: Uint8Array, offset: number): number;
  /**
   * sealInto() of the concatenation of `parts`, without concatenating them first: a record's
   * kind byte, envelope head and payload go to the cipher one by one, and the ciphertext
   * straight into `output` (as TLS seals a record from its fragments). Optional: where it is
   * missing, callers concatenate and use sealInto().
   */
  sealPartsInto?(nonce: number | bigint, ad: Uint8Array, parts: readonly Uint8Array[], output: Uint8Array, offset: number): number;
  /**
   * The ciphertext of the concatenation of `parts`, as the cipher produced it (one piece per
   * part, then the 16-byte tag), so a caller can hand the pieces to a transport without
   * copying them into one buffer. Optional, like sealPartsInto.
   */
  sealParts?(nonce: number | bigint, ad: Uint8Array, parts: readonly Uint8Array[]): Uint8Array[];
  /** The plaintext, or null if the tag does not verify (never throws for a bad tag). */
  open(nonce: number | bigint, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null;
  /**
   * open() of the concatenation of `parts` (ciphertext, then the 16-byte tag, split anywhere),
   * without concatenating them first: the plaintext in pieces as the cipher produced them
   * (about one per part), or null if the tag does not verify. Optional, like sealParts: where
   * it is missing, callers concatenate and use open().
   */
  openParts?(nonce: number | bigint, ad: Uint8Array, parts: readonly Uint8Array[]): Uint8Array[] | null;
  /**
   * Optional: makes, after the current turn of the event loop, what a seal under `nonce` needs
   * (node:crypto: the cipher, keyed, with its nonce set), so that the seal, when it comes, costs
   * only the encryption. A caller asks for the nonce its next seal will use; a spare not used
   * within a second or two is dropped.
   */
  prepareSeal?(nonce: number): void;
  /** Optional: prepareSeal for the next open under `nonce`, made after the next turn in which this thread seals. */
  prepareOpen?(nonce: number): void;
  /** Drops the key material this object holds; using it afterwards throws. */
  dispose(): void;
}

export interface X25519 {
  /** A fresh random key pair. */
  generateKeyPair(): KeyPair;
  /** The public key of a 32-byte private key (clamping is applied as RFC 7748 says). */
  publicKey(privateKey: Uint8Array): Uint8Array;
  /** X25519(privateKey, publicKey); throws WeakPublicKeyError on an all-zero result. */
  dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

export interface Ed25519 {
  /** A fresh random key pair. */
  generateKeyPair(): KeyPair;
  /** The public key of a 32-byte Ed25519 secret key (seed). */
  publicKey(secretKey: Uint8Array): Uint8Array;
  /** A 64-byte RFC 8032 signature. */
  sign(secretKey: Uint8Array, data: Uint8Array): Uint8Array;
  /** Strict RFC 8032 verification; false (never a throw) for any malformed input. */
  verify(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean;
}

export interface CryptoProvider {
  readonly name: CryptoProviderName;
  readonly x25519: X25519;
  readonly ed25519: Ed25519;
  /** SHA-256 of the concatenation of `data` (parts avoid a copy). */
  sha256(...data: Uint8Array[]): Uint8Array;
  /** HMAC-SHA256 of the concatenation of `data` under `key`. */
  hmacSha256(key: Uint8Array, ...data: Uint8Array[]): Uint8Array;
  /**
   * An AEAD keyed once with a 32-byte key; reuse it for every message under that key. The
   * caller zeroes `key` once this returns (a channel's transport keys, each rekeyed key):
   * keep a copy, or an imported key, never the array.
   */
  createAead(cipher: AeadCipher, key: Uint8Array): Aead;
  /**
   * Zeroes `privateKey` and forgets anything the provider derived from it (the node
   * provider's imported KeyObject). Optional for other providers: callers then just zero
   * the array (see wipePrivateKey in crypto/key-checks.ts).
   */
  wipePrivateKey?(privateKey: Uint8Array): void;
  /**
   * A copy of `privateKey` that the provider treats as the same key (the node provider
   * shares the KeyObject it imported for the original instead of importing again). Optional:
   * callers then slice() (see copyPrivateKey in crypto/key-checks.ts).
   */
  copyPrivateKey?(privateKey: Uint8Array): Uint8Array;
}

export const KEY_LENGTH = 32;
export const TAG_LENGTH = 16;
export const SIGNATURE_LENGTH = 64;
