import type { Aead, AeadCipher, CryptoProvider } from "../crypto/provider.js";
import { KEY_LENGTH } from "../crypto/provider.js";
import { InvalidKeyError, NoiseDecryptError, NonceExhaustedError } from "../errors.js";
import { MAX_NONCE, rekey } from "./rekey.js";

/**
 * CipherState (Noise rev. 34, §5.1): a key k (or empty) and a 64-bit nonce n. The key is
 * held as an AEAD object keyed once. n is a bigint so it spans the full 64 bits; this
 * object only runs the handshake and the vector checks, not the channel's hot path.
 */
export class CipherState {
  readonly #provider: CryptoProvider;
  readonly #cipher: AeadCipher;
  #aead: Aead | null = null;
  #n = 0n;

  constructor(provider: CryptoProvider, cipher: AeadCipher) {
    this.#provider = provider;
    this.#cipher = cipher;
  }

  /** InitializeKey(key): sets k (null empties it) and n = 0. */
  initializeKey(key: Uint8Array | null): void {
    this.#aead?.dispose();
    this.#aead = null;
    if (key !== null) {
      if (key.length !== KEY_LENGTH) throw new InvalidKeyError(`Noise cipher key must be ${KEY_LENGTH} bytes`);
      this.#aead = this.#provider.createAead(this.#cipher, key);
    }
    this.#n = 0n;
  }

  /** HasKey(). */
  hasKey(): boolean {
    return this.#aead !== null;
  }

  /** SetNonce(nonce): for out-of-order transports; the caller owns replay protection. */
  setNonce(nonce: bigint): void {
    this.#n = nonce;
  }

  /** The next nonce this state will use. */
  get nonce(): bigint {
    return this.#n;
  }

  /** EncryptWithAd(ad, plaintext): ENCRYPT(k, n++, ad, plaintext), or plaintext if k is empty. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#aead === null) return plaintext;
    this.#assertNonceLeft();
    const ciphertext = this.#aead.seal(this.#n, ad, plaintext);
    this.#n += 1n;
    return ciphertext;
  }

  /**
   * DecryptWithAd(ad, ciphertext): DECRYPT(k, n++, ad, ciphertext), or ciphertext if k is
   * empty. On an authentication failure n is left unchanged and NoiseDecryptError thrown.
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#aead === null) return ciphertext;
    this.#assertNonceLeft();
    const plaintext = this.#aead.open(this.#n, ad, ciphertext);
    if (plaintext === null) throw new NoiseDecryptError();
    this.#n += 1n;
    return plaintext;
  }

  /** Rekey(): k = REKEY(k); n is unchanged (§4.2). */
  rekey(): void {
    if (this.#aead === null) return;
    const key = rekey(this.#aead);
    this.#aead.dispose();
    this.#aead = this.#provider.createAead(this.#cipher, key);
    key.fill(0);
  }

  /** Drops the key. */
  dispose(): void {
    this.initializeKey(null);
  }

  // 2^64-1 is reserved for REKEY, so it may never encrypt or decrypt a message.
  #assertNonceLeft(): void {
    if (this.#n >= MAX_NONCE) throw new NonceExhaustedError();
  }
}
