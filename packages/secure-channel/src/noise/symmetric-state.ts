import type { CryptoProvider } from "../crypto/provider.js";
import { KEY_LENGTH } from "../crypto/provider.js";
import { CipherState } from "./cipher-state.js";
import { resolveNoiseHash, type NoiseHash } from "./hash.js";
import { hkdf } from "./hkdf.js";
import type { NoiseProtocol } from "./protocol-name.js";

/**
 * SymmetricState (Noise rev. 34, §5.2): a CipherState plus the chaining key ck and the
 * handshake hash h.
 */
export class SymmetricState {
  readonly #provider: CryptoProvider;
  readonly #protocol: NoiseProtocol;
  readonly #hash: NoiseHash;
  readonly #cipherState: CipherState;
  #ck: Uint8Array;
  #h: Uint8Array;

  /** InitializeSymmetric(protocol_name). */
  constructor(protocol: NoiseProtocol, provider: CryptoProvider) {
    this.#provider = provider;
    this.#protocol = protocol;
    this.#hash = resolveNoiseHash(protocol.hash, provider);
    const name = new TextEncoder().encode(protocol.name);
    if (name.length <= this.#hash.hashLen) {
      // A short name is used as h directly, zero-padded to HASHLEN.
      this.#h = new Uint8Array(this.#hash.hashLen);
      this.#h.set(name);
    } else {
      this.#h = this.#hash.hash(name);
    }
    this.#ck = this.#h.slice();
    this.#cipherState = new CipherState(provider, protocol.cipher);
    this.#cipherState.initializeKey(null);
  }

  /** MixKey(input_key_material): ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k[0..32]). */
  mixKey(inputKeyMaterial: Uint8Array): void {
    const [ck, tempK] = hkdf(this.#hash, this.#ck, inputKeyMaterial, 2);
    this.#ck.fill(0);
    this.#ck = ck;
    this.#cipherState.initializeKey(truncateKey(tempK));
    tempK.fill(0);
  }

  /** MixHash(data): h = HASH(h || data). */
  mixHash(data: Uint8Array): void {
    this.#h = this.#hash.hash(this.#h, data);
  }

  /** GetHandshakeHash(): a copy of h. */
  getHandshakeHash(): Uint8Array {
    return this.#h.slice();
  }

  /** EncryptAndHash(plaintext): ciphertext = EncryptWithAd(h, plaintext); MixHash(ciphertext). */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cipherState.encryptWithAd(this.#h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /** DecryptAndHash(ciphertext): plaintext = DecryptWithAd(h, ciphertext); MixHash(ciphertext). */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.#cipherState.decryptWithAd(this.#h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /**
   * The two keys Split() would install: temp_k1, temp_k2 = HKDF(ck, zerolen, 2), each cut
   * to 32 bytes. The first is the initiator's sending key. Wipes ck.
   */
  splitKeys(): [Uint8Array, Uint8Array] {
    const [tempK1, tempK2] = hkdf(this.#hash, this.#ck, new Uint8Array(0), 2);
    this.#ck.fill(0);
    this.#cipherState.dispose();
    const keys: [Uint8Array, Uint8Array] = [truncateKey(tempK1), truncateKey(tempK2)];
    tempK1.fill(0);
    tempK2.fill(0);
    return keys;
  }

  /** Split(): two CipherStates keyed with temp_k1 and temp_k2. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = this.splitKeys();
    const c1 = new CipherState(this.#provider, this.#protocol.cipher);
    const c2 = new CipherState(this.#provider, this.#protocol.cipher);
    c1.initializeKey(k1);
    c2.initializeKey(k2);
    k1.fill(0);
    k2.fill(0);
    return [c1, c2];
  }

  /** Wipes ck and the key, e.g. after a failed handshake. */
  dispose(): void {
    this.#ck.fill(0);
    this.#cipherState.dispose();
  }
}

/** "If HASHLEN is 64, then truncates temp_k to 32 bytes." A copy, so the caller can wipe the input. */
function truncateKey(tempK: Uint8Array): Uint8Array {
  return tempK.slice(0, KEY_LENGTH);
}
