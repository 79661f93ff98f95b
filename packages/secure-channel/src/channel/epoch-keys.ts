import type { Aead, AeadCipher, CryptoProvider } from "../crypto/provider.js";
import { rekey } from "../noise/rekey.js";

/** The AEAD for the epoch after `aead`'s: keyed with REKEY(k) (Noise rev. 34, §4.2). */
export function nextEpochAead(provider: CryptoProvider, cipher: AeadCipher, aead: Aead): Aead {
  const key = rekey(aead);
  try {
    return provider.createAead(cipher, key);
  } finally {
    key.fill(0);
  }
}

/**
 * The receive side's keys by epoch (epoch = floor(nonce / rekeyInterval)). It holds a
 * contiguous run of epochs, from the oldest the replay window still covers to the newest
 * a message has authenticated under, so a late message inside the window always finds
 * its key. Keys of future epochs are derived on trial and kept only if the message
 * authenticates; keys of epochs the window has passed are dropped (forward secrecy).
 */
export class ReceiveEpochKeys {
  readonly #provider: CryptoProvider;
  readonly #cipher: AeadCipher;
  readonly #byEpoch = new Map<number, Aead>();
  #oldest = 0;
  #newest = 0;

  constructor(provider: CryptoProvider, cipher: AeadCipher, initialKey: Uint8Array) {
    this.#provider = provider;
    this.#cipher = cipher;
    this.#byEpoch.set(0, provider.createAead(cipher, initialKey));
  }

  get newestEpoch(): number {
    return this.#newest;
  }

  get oldestEpoch(): number {
    return this.#oldest;
  }

  /** Number of epoch keys held. */
  get size(): number {
    return this.#byEpoch.size;
  }

  /** The key of a held epoch (undefined if the epoch is gone or not derived yet). */
  get(epoch: number): Aead | undefined {
    return this.#byEpoch.get(epoch);
  }

  /**
   * Opens a message of a future epoch: derives the keys up to `epoch` without keeping
   * them, and keeps them only if `open` authenticates. Returns the plaintext or null.
   */
  openInFutureEpoch(epoch: number, open: (aead: Aead) => Uint8Array | null): Uint8Array | null {
    const derived: Aead[] = [];
    let aead = this.#byEpoch.get(this.#newest)!;
    for (let e = this.#newest + 1; e <= epoch; e++) {
      aead = nextEpochAead(this.#provider, this.#cipher, aead);
      derived.push(aead);
    }
    const plaintext = open(aead);
    if (plaintext === null) {
      for (const key of derived) key.dispose();
      return null;
    }
    for (let i = 0; i < derived.length; i++) this.#byEpoch.set(this.#newest + 1 + i, derived[i]);
    this.#newest = epoch;
    return plaintext;
  }

  /** Drops every epoch below `oldestNeeded`. */
  dropBefore(oldestNeeded: number): void {
    const stop = Math.min(oldestNeeded, this.#newest);
    for (; this.#oldest < stop; this.#oldest++) {
      this.#byEpoch.get(this.#oldest)?.dispose();
      this.#byEpoch.delete(this.#oldest);
    }
  }

  dispose(): void {
    for (const aead of this.#byEpoch.values()) aead.dispose();
    this.#byEpoch.clear();
  }
}
