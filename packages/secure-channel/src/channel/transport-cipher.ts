/**
 * The transport message codec of an established secure channel.
 *
 *   wire format:  nonce (8 bytes, big-endian) || AEAD(k_epoch, nonce, ad = empty, plaintext)
 *
 * Each direction numbers its messages 0, 1, 2, ... and sends the number as the nonce, so
 * messages may be lost or reordered (the receiver no longer relies on an implicit
 * counter, unlike Noise's CipherState). Keys rotate every `rekeyInterval` messages: the
 * key for nonce n is the initial key after floor(n / rekeyInterval) Noise REKEYs, which
 * both sides derive from the nonce alone.
 */
import { allocateForOverwrite } from "../bytes.js";
import { defaultCryptoProvider } from "../crypto/index.js";
import { assertKey32 } from "../crypto/key-checks.js";
import type { Aead, AeadCipher, CryptoProvider } from "../crypto/provider.js";
import { TAG_LENGTH } from "../crypto/provider.js";
import { DisposedError, InvalidOptionError, NonceExhaustedError, TransportMessageDroppedError } from "../errors.js";
import { checkNoNullOptions } from "../null-options.js";
import { nextEpochAead, ReceiveEpochKeys } from "./epoch-keys.js";
import { DEFAULT_REPLAY_WINDOW_SIZE, ReplayWindow } from "./replay-window.js";

/** Bytes of the explicit nonce (a big-endian u64 counter) in front of each transport message. */
export const TRANSPORT_NONCE_LENGTH = 8;
/** Smallest valid transport message: a nonce and the tag of an empty plaintext. */
export const TRANSPORT_OVERHEAD = TRANSPORT_NONCE_LENGTH + TAG_LENGTH;
/** Messages encrypted under one key before the next key epoch, by default. */
export const DEFAULT_REKEY_INTERVAL = 32768;
/**
 * Key epochs a decryptor may skip ahead in one message by default, at the default interval:
 * 262 144 messages. Each epoch skipped costs a derivation (≈ 9 µs) and a cached key (≈ 0.3 KB)
 * before the message authenticates: 1 024 (until session 43) let one forged record per
 * channel take ≈ 270 KB and 9 ms. See `defaultMaxEpochSkip` for other intervals.
 */
export const DEFAULT_MAX_EPOCH_SKIP = 8;
/** Messages in a row a channel may lose by default, whatever its interval (8 epochs at the default one). */
const DEFAULT_MAX_MESSAGES_SKIPPED = DEFAULT_MAX_EPOCH_SKIP * DEFAULT_REKEY_INTERVAL;
/** The most epochs a decryptor ever follows by default (a small interval's bound). */
const MAX_DEFAULT_EPOCH_SKIP = 1024;

/**
 * The default bound for a rekey interval: as many epochs as hold DEFAULT_MAX_MESSAGES_SKIPPED
 * messages, at least 8 and at most 1 024. A bound in epochs alone (8) wedged a channel with a
 * small interval after a loss of 8 × interval messages (a review's catch): the loss a channel
 * tolerates should not shrink with its interval.
 */
export function defaultMaxEpochSkip(rekeyInterval: number): number {
  return Math.min(MAX_DEFAULT_EPOCH_SKIP, Math.max(DEFAULT_MAX_EPOCH_SKIP, Math.ceil(DEFAULT_MAX_MESSAGES_SKIPPED / rekeyInterval)));
}
/**
 * Nonces stop at 2^53-1 so they stay exact JavaScript numbers on the hot path (no
 * BigInt); at a million messages a second that lasts 285 years.
 */
export const MAX_TRANSPORT_NONCE = Number.MAX_SAFE_INTEGER;

const EMPTY_AD = new Uint8Array(0);
const TWO_POW_32 = 0x1_0000_0000;

/** Options shared by TransportEncryptor and TransportDecryptor. */
export interface TransportCipherOptions {
  /** Default: the node:crypto provider. */
  readonly provider?: CryptoProvider;
  /** Messages per key before a REKEY; both directions of a channel must agree. Default 32768. */
  readonly rekeyInterval?: number;
  /** Default "AESGCM", the secure channel's suite. */
  readonly cipher?: AeadCipher;
}

/** Options of a TransportDecryptor. */
export interface TransportDecryptorOptions extends TransportCipherOptions {
  /** Replay window width in messages, a multiple of 32. Default 1024. */
  readonly windowSize?: number;
  /**
   * Most epochs a message may lie ahead of the newest confirmed one. Reaching an epoch
   * costs one REKEY per epoch before the tag can be checked (derived keys are cached), so
   * this bounds both the work and the memory forged far-future nonces can cause.
   * Default `defaultMaxEpochSkip(rekeyInterval)`: 8 at the default interval (262 144 lost
   * messages in a row), more for a smaller interval, at most 1 024.
   */
  readonly maxEpochSkip?: number;
}

/** Why a transport message was dropped. */
export type DropReason =
  /** Shorter than nonce + tag. */
  | "TOO_SHORT"
  /** Already received. */
  | "REPLAY"
  /** Below the replay window. */
  | "TOO_OLD"
  /** Nonce beyond what the receiver follows (maxEpochSkip epochs ahead, or above 2^53-1). */
  | "TOO_FAR"
  /** The tag did not verify: forged, corrupted, or under another key. */
  | "AUTH_FAILED";

/** What TransportDecryptor.decrypt returns: the plaintext, or why the message was dropped. */
export type DecryptResult =
  | { readonly ok: true; readonly plaintext: Uint8Array; readonly nonce: number }
  | { readonly ok: false; readonly reason: DropReason };

/** What TransportDecryptor.decryptParts returns: the plaintext in pieces (not joined), or why the message was dropped. */
export type DecryptPartsResult =
  | { readonly ok: true; readonly pieces: readonly Uint8Array[]; readonly nonce: number }
  | { readonly ok: false; readonly reason: DropReason };

/** Every reason a decryptor drops a message. */
export const DROP_REASONS: readonly DropReason[] = ["TOO_SHORT", "REPLAY", "TOO_OLD", "TOO_FAR", "AUTH_FAILED"];
// Preallocated: dropping must not allocate, it may be a flood.
const DROPPED: { readonly [R in DropReason]: { readonly ok: false; readonly reason: R } } = Object.freeze({
  TOO_SHORT: Object.freeze({ ok: false, reason: "TOO_SHORT" }),
  REPLAY: Object.freeze({ ok: false, reason: "REPLAY" }),
  TOO_OLD: Object.freeze({ ok: false, reason: "TOO_OLD" }),
  TOO_FAR: Object.freeze({ ok: false, reason: "TOO_FAR" }),
  AUTH_FAILED: Object.freeze({ ok: false, reason: "AUTH_FAILED" }),
});

const NO_DROPS: Readonly<Record<DropReason, number>> = Object.freeze({ TOO_SHORT: 0, REPLAY: 0, TOO_OLD: 0, TOO_FAR: 0, AUTH_FAILED: 0 });

/** Encrypts one direction of a channel. */
export class TransportEncryptor {
  readonly rekeyInterval: number;
  readonly #provider: CryptoProvider;
  readonly #cipher: AeadCipher;
  #aead: Aead | null;
  #nonce = 0;
  #leftInEpoch: number;

  constructor(key: Uint8Array, options: TransportCipherOptions = {}) {
    assertKey32(key, "transport key");
    checkNoNullOptions(options, "TransportEncryptor options");
    this.#provider = options.provider ?? defaultCryptoProvider;
    this.#cipher = options.cipher ?? "AESGCM";
    this.rekeyInterval = validateRekeyInterval(options.rekeyInterval);
    this.#aead = this.#provider.createAead(this.#cipher, key);
    this.#leftInEpoch = this.rekeyInterval;
  }

  /** The nonce the next message will carry (= messages encrypted so far). */
  get nextNonce(): number {
    return this.#nonce;
  }

  /** nonce || ciphertext || tag, written into one new buffer. */
  encrypt(plaintext: Uint8Array): Uint8Array {
    const out = allocateForOverwrite(TRANSPORT_OVERHEAD + plaintext.length); // encryptInto fills it all
    this.encryptInto(plaintext, out, 0);
    return out;
  }

  /**
   * encrypt(), written into `output` at `offset` (which must have TRANSPORT_OVERHEAD +
   * plaintext.length bytes free), so a caller can put a header in front or batch several
   * messages in one buffer without a copy. Returns the bytes written.
   */
  encryptInto(plaintext: Uint8Array, output: Uint8Array, offset: number): number {
    const aead = this.#nextNonceInto(output, offset);
    aead.sealInto(this.#nonce - 1, EMPTY_AD, plaintext, output, offset + TRANSPORT_NONCE_LENGTH);
    this.#prepareNext(aead);
    return TRANSPORT_OVERHEAD + plaintext.length;
  }

  /**
   * encryptInto() of the concatenation of `parts` (which must leave TRANSPORT_OVERHEAD + their
   * total length free at `offset`), sealed part by part where the provider can, so the
   * plaintext is never assembled in a buffer of its own.
   */
  encryptPartsInto(parts: readonly Uint8Array[], output: Uint8Array, offset: number): number {
    const aead = this.#nextNonceInto(output, offset);
    const nonce = this.#nonce - 1;
    const at = offset + TRANSPORT_NONCE_LENGTH;
    const sealed = aead.sealPartsInto ? aead.sealPartsInto(nonce, EMPTY_AD, parts, output, at) : aead.sealInto(nonce, EMPTY_AD, concat(parts), output, at);
    this.#prepareNext(aead);
    return TRANSPORT_NONCE_LENGTH + sealed;
  }

  /**
   * The concatenation of `parts` sealed under the next nonce, as pieces: `prefix` (whose
   * TRANSPORT_NONCE_LENGTH bytes at `nonceOffset` get the nonce), then the cipher's own
   * output buffers and the tag, uncopied. Providers without sealParts get one joined piece.
   */
  encryptParts(parts: readonly Uint8Array[], prefix: Uint8Array, nonceOffset: number): Uint8Array[] {
    const aead = this.#nextNonceInto(prefix, nonceOffset);
    const nonce = this.#nonce - 1;
    const sealed = aead.sealParts ? [prefix, ...aead.sealParts(nonce, EMPTY_AD, parts)] : [prefix, aead.seal(nonce, EMPTY_AD, concat(parts))];
    this.#prepareNext(aead);
    return sealed;
  }

  /**
   * Has the AEAD make the next seal's cipher after this turn, off the next record's path (a
   * provider that can: node:crypto's; spare-ciphers.ts). Not across a key epoch: the next
   * nonce's key is another AEAD's.
   */
  #prepareNext(aead: Aead): void {
    if (this.#leftInEpoch > 0 && this.#nonce <= MAX_TRANSPORT_NONCE) aead.prepareSeal?.(this.#nonce);
  }

  /**
   * Takes the next nonce (rekeying at the end of an epoch), writes it at `offset` and returns
   * the AEAD to seal under it; the nonce is used up whether or not the seal succeeds.
   */
  #nextNonceInto(output: Uint8Array, offset: number): Aead {
    let aead = this.#liveAead();
    if (this.#nonce > MAX_TRANSPORT_NONCE) throw new NonceExhaustedError();
    if (this.#leftInEpoch === 0) {
      aead = this.#rotate(aead);
      this.#leftInEpoch = this.rekeyInterval;
    }
    writeNonce(output, offset, this.#nonce);
    this.#nonce++;
    this.#leftInEpoch--;
    return aead;
  }

  /** Drops the key; encrypt() then throws DisposedError. */
  dispose(): void {
    this.#aead?.dispose();
    this.#aead = null;
  }

  #rotate(aead: Aead): Aead {
    const next = nextEpochAead(this.#provider, this.#cipher, aead);
    aead.dispose(); // the old key is gone: forward secrecy for earlier epochs
    this.#aead = next;
    return next;
  }

  #liveAead(): Aead {
    if (this.#aead === null) throw new DisposedError("transport encryptor used after dispose()");
    return this.#aead;
  }
}

/** Decrypts one direction of a channel, with replay protection. */
export class TransportDecryptor {
  readonly rekeyInterval: number;
  readonly maxEpochSkip: number;
  readonly #window: ReplayWindow;
  #keys: ReceiveEpochKeys | null;
  #accepted = 0;
  #dropped = 0;
  /** Made at the first drop: most decryptors never drop anything. */
  #droppedByReason: Record<DropReason, number> | undefined;

  constructor(key: Uint8Array, options: TransportDecryptorOptions = {}) {
    assertKey32(key, "transport key");
    checkNoNullOptions(options, "TransportDecryptor options");
    this.rekeyInterval = validateRekeyInterval(options.rekeyInterval);
    this.maxEpochSkip = validatePositiveInteger(options.maxEpochSkip ?? defaultMaxEpochSkip(this.rekeyInterval), "maxEpochSkip");
    this.#window = new ReplayWindow(options.windowSize ?? DEFAULT_REPLAY_WINDOW_SIZE);
    this.#keys = new ReceiveEpochKeys(options.provider ?? defaultCryptoProvider, options.cipher ?? "AESGCM", key);
  }

  /** Messages that authenticated and were delivered. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Messages dropped, all reasons together. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Messages dropped, per reason (a snapshot). */
  get droppedByReason(): Readonly<Record<DropReason, number>> {
    return { ...(this.#droppedByReason ?? NO_DROPS) };
  }

  /** The highest nonce accepted so far (-1 before the first message). */
  get highestNonce(): number {
    return this.#window.highest;
  }

  /** Confirmed epoch keys currently held (for tests and metrics). */
  get heldEpochKeys(): number {
    return this.#keys?.size ?? 0;
  }

  /** Future epoch keys derived but not yet confirmed by an authentic message. */
  get pendingEpochKeys(): number {
    return this.#keys?.pendingSize ?? 0;
  }

  /**
   * The non-throwing fast path: the plaintext, or why the message was dropped. Nothing
   * about the receiver changes unless the message authenticates.
   */
  decrypt(message: Uint8Array): DecryptResult {
    this.#liveKeys();
    if (message.length < TRANSPORT_OVERHEAD) return this.#drop("TOO_SHORT");
    const nonce = readNonce(message, 0);
    const plaintext = this.#open(nonce, openWhole, message.subarray(TRANSPORT_NONCE_LENGTH));
    if (typeof plaintext === "string") return this.#drop(plaintext);
    return { ok: true, plaintext, nonce };
  }

  /**
   * decrypt() of a transport message given in parts, after `skip` bytes of the first (a record
   * that spanned socket reads, its outer kind byte in front): the plaintext comes back in
   * pieces, about one per part, not joined (with a provider that opens parts: node:crypto's;
   * others get them joined).
   */
  decryptParts(parts: readonly Uint8Array[], skip: number): DecryptPartsResult {
    this.#liveKeys();
    let length = -skip;
    for (const part of parts) length += part.length;
    if (length < TRANSPORT_OVERHEAD) return this.#drop("TOO_SHORT");
    const first = parts[0]!;
    const bodyAt = skip + TRANSPORT_NONCE_LENGTH;
    if (first.length < bodyAt) {
      // The nonce itself is split: rare enough to join.
      const result = this.decrypt(concat(parts).subarray(skip));
      return result.ok ? { ok: true, pieces: [result.plaintext], nonce: result.nonce } : result;
    }
    const nonce = readNonce(first, skip);
    const ciphertext = first.length > bodyAt ? [first.subarray(bodyAt), ...parts.slice(1)] : parts.slice(1);
    const pieces = this.#open(nonce, openParts, ciphertext);
    if (typeof pieces === "string") return this.#drop(pieces);
    return { ok: true, pieces, nonce };
  }

  /**
   * Opens the ciphertext `sealed` (whole or in parts: `open` knows which) under the key of
   * `nonce`'s epoch, with replay protection: the plaintext, or why it is dropped. Nothing
   * about the receiver changes unless it authenticates.
   */
  #open<S, P>(nonce: number, open: (aead: Aead, nonce: number, sealed: S) => P | null, sealed: S): P | DropReason {
    const keys = this.#liveKeys();
    if (nonce < 0) return "TOO_FAR";
    const verdict = this.#window.check(nonce);
    if (verdict === "REPLAY" || verdict === "TOO_OLD") return verdict;

    const epoch = Math.floor(nonce / this.rekeyInterval);
    let plaintext: P | null;
    if (epoch <= keys.newestEpoch) {
      const aead = keys.get(epoch);
      if (aead === undefined) return "TOO_OLD"; // unreachable: held epochs cover the window
      plaintext = open(aead, nonce, sealed);
    } else {
      if (epoch - keys.newestEpoch > this.maxEpochSkip) return "TOO_FAR";
      plaintext = keys.openInFutureEpoch(epoch, (aead) => open(aead, nonce, sealed));
    }
    if (plaintext === null) return "AUTH_FAILED";

    // Authenticated: only now may the window and the key set change.
    this.#window.accept(nonce);
    keys.dropBefore(Math.floor(this.#window.lowest / this.rekeyInterval));
    this.#accepted++;
    // The newest so far: the next in order is likely next, and under this epoch's key unless it starts another.
    const next = nonce + 1;
    if (nonce === this.#window.highest && Math.floor(next / this.rekeyInterval) === epoch && next <= MAX_TRANSPORT_NONCE) keys.get(epoch)?.prepareOpen?.(next);
    return plaintext;
  }

  /** decrypt() for callers that prefer exceptions: TransportMessageDroppedError carries the reason. */
  decryptOrThrow(message: Uint8Array): Uint8Array {
    const result = this.decrypt(message);
    if (result.ok) return result.plaintext;
    throw new TransportMessageDroppedError(`transport message dropped: ${result.reason}`, { reason: result.reason });
  }

  /** Drops every key; decrypt() then throws DisposedError. */
  dispose(): void {
    this.#keys?.dispose();
    this.#keys = null;
  }

  #drop<R extends DropReason>(reason: R): (typeof DROPPED)[R] {
    this.#dropped++;
    (this.#droppedByReason ??= { ...NO_DROPS })[reason]++;
    return DROPPED[reason];
  }

  #liveKeys(): ReceiveEpochKeys {
    if (this.#keys === null) throw new DisposedError("transport decryptor used after dispose()");
    return this.#keys;
  }
}

/** One buffer holding `parts` in order: the fallback for providers that cannot seal from parts. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = allocateForOverwrite(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function writeNonce(out: Uint8Array, offset: number, nonce: number): void {
  const hi = Math.floor(nonce / TWO_POW_32);
  const lo = nonce >>> 0;
  out[offset] = hi >>> 24;
  out[offset + 1] = hi >>> 16;
  out[offset + 2] = hi >>> 8;
  out[offset + 3] = hi;
  out[offset + 4] = lo >>> 24;
  out[offset + 5] = lo >>> 16;
  out[offset + 6] = lo >>> 8;
  out[offset + 7] = lo;
}

/**
 * The big-endian nonce at `at`, or -1 if it exceeds 2^53-1 (no encryptor ever sends one). Below
 * 2^32, `lo` as it is: below 2^31 a small integer, where hi * 2^32 + lo is a double even for
 * hi = 0, and a double kept in a field (the replay window's) is a number boxed on the heap, 16 B a field.
 */
function readNonce(message: Uint8Array, at: number): number {
  const hi = ((message[at] << 24) | (message[at + 1] << 16) | (message[at + 2] << 8) | message[at + 3]) >>> 0;
  if (hi > 0x1f_ffff) return -1;
  const lo = ((message[at + 4] << 24) | (message[at + 5] << 16) | (message[at + 6] << 8) | message[at + 7]) >>> 0;
  return hi === 0 ? lo : hi * TWO_POW_32 + lo;
}

function validateRekeyInterval(value: number | undefined): number {
  return validatePositiveInteger(value ?? DEFAULT_REKEY_INTERVAL, "rekeyInterval");
}

/** `value` for an error message, which String() and JSON.stringify() fail to give for some (1n, Object.create(null)). */
function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  return typeof value === "number" ? String(value) : `a value of type ${value === null ? "null" : typeof value}`;
}

function validatePositiveInteger(value: number, option: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(`${option} must be a positive integer; got ${shown(value)}`, { option });
  }
  return value;
}

/** A whole ciphertext (and tag) opened in one call. */
function openWhole(aead: Aead, nonce: number, ciphertext: Uint8Array): Uint8Array | null {
  return aead.open(nonce, EMPTY_AD, ciphertext);
}

/** A ciphertext (and tag) in parts, opened part by part where the provider can (else joined). */
function openParts(aead: Aead, nonce: number, parts: readonly Uint8Array[]): readonly Uint8Array[] | null {
  if (aead.openParts !== undefined) return aead.openParts(nonce, EMPTY_AD, parts);
  const plaintext = aead.open(nonce, EMPTY_AD, concat(parts));
  return plaintext === null ? null : [plaintext];
}
