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

/** The pending keys of a ReceiveEpochKeys that derived none: shared, never written (openInFutureEpoch makes its own first). */
const NO_KEYS = Object.freeze([]) as unknown as Aead[];

/**
 * The receive side's keys by epoch (epoch = floor(nonce / rekeyInterval)). It holds a
 * contiguous run of confirmed epochs, from the oldest the replay window still covers to
 * the newest a message has authenticated under, so a late message inside the window
 * always finds its key; keys of epochs the window has passed are dropped (forward
 * secrecy).
 *
 * Keys of future epochs are derived on demand and cached as a pending chain. They become
 * confirmed only when a message under them authenticates, so forged nonces never change
 * what the receiver accepts. Caching them costs no secrecy (anyone holding the current
 * key can derive them) and bounds the work forged far-future nonces can cause: however
 * many arrive, each future epoch is derived once.
 */
export class ReceiveEpochKeys {
  readonly #provider: CryptoProvider;
  readonly #cipher: AeadCipher;
  /** confirmed[i] is the key of epoch oldest + i (an array: a Map cost ≈ 120 B more per channel). */
  #confirmed: Aead[];
  /** pending[i] is the key of epoch newest + 1 + i (NO_KEYS, shared, until a message of a future epoch comes: most channels never rekey). */
  #pending: Aead[] = NO_KEYS;
  #oldest = 0;
  #newest = 0;

  constructor(provider: CryptoProvider, cipher: AeadCipher, initialKey: Uint8Array) {
    this.#provider = provider;
    this.#cipher = cipher;
    this.#confirmed = [provider.createAead(cipher, initialKey)];
  }

  get newestEpoch(): number {
    return this.#newest;
  }

  get oldestEpoch(): number {
    return this.#oldest;
  }

  /** Number of confirmed epoch keys held. */
  get size(): number {
    return this.#confirmed.length;
  }

  /** Number of derived future keys not yet confirmed by an authentic message. */
  get pendingSize(): number {
    return this.#pending.length;
  }

  /** The key of a confirmed epoch (undefined if the epoch is gone or still in the future). */
  get(epoch: number): Aead | undefined {
    return epoch >= this.#oldest ? this.#confirmed[epoch - this.#oldest] : undefined;
  }

  /**
   * Opens a message of a future epoch with its (derived, cached) key; if it authenticates,
   * that epoch and the ones before it become confirmed. Returns the plaintext or null.
   */
  openInFutureEpoch<P>(epoch: number, open: (aead: Aead) => P | null): P | null {
    const ahead = epoch - this.#newest;
    if (this.#pending === NO_KEYS) this.#pending = [];
    while (this.#pending.length < ahead) {
      const previous = this.#pending.length === 0 ? this.#confirmed[this.#confirmed.length - 1]! : this.#pending[this.#pending.length - 1]!;
      this.#pending.push(nextEpochAead(this.#provider, this.#cipher, previous));
    }
    const plaintext = open(this.#pending[ahead - 1]);
    if (plaintext === null) return null;
    for (let i = 0; i < ahead; i++) this.#confirmed.push(this.#pending[i]!);
    this.#pending = this.#pending.length === ahead ? NO_KEYS : this.#pending.slice(ahead);
    this.#newest = epoch;
    return plaintext;
  }

  /** Drops every confirmed epoch below `oldestNeeded` (never the newest). */
  dropBefore(oldestNeeded: number): void {
    const stop = Math.min(oldestNeeded, this.#newest);
    if (this.#oldest >= stop) return;
    const dropped = this.#confirmed.splice(0, stop - this.#oldest);
    for (const aead of dropped) aead.dispose();
    this.#oldest = stop;
  }

  dispose(): void {
    for (const aead of this.#confirmed) aead.dispose();
    for (const aead of this.#pending) aead.dispose();
    this.#confirmed = [];
    this.#pending = NO_KEYS;
  }
}
