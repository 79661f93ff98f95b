import type { DropReason } from "../channel/transport-cipher.js";
import { TRANSPORT_NONCE_LENGTH, TRANSPORT_OVERHEAD, TransportDecryptor, TransportEncryptor } from "../channel/transport-cipher.js";
import type { AeadCipher, CryptoProvider } from "../crypto/provider.js";
import { checkNoNullOptions } from "../null-options.js";
import { OuterKind } from "../secure-channel/channel-message.js";

/** What a channel end hands its cipher once, after the handshake. */
export interface ChannelKeys {
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
}

/** Options of a channel's cipher: the crypto provider, the rekey interval and the AEAD. */
export interface ChannelCipherOptions {
  readonly provider: CryptoProvider;
  readonly rekeyInterval: number;
  /** Default "AESGCM", the secure channel's suite. */
  readonly cipher?: AeadCipher;
}

/**
 * Where a cipher's results go: one object per channel end (no closure per message). For
 * one channel, calls come in exactly the order of the seal() and open() calls that caused
 * them, seal and open interleaved as they were issued.
 */
export interface ChannelCipherSink {
  /**
   * A sealed message: the outer TRANSPORT payload (kind byte, nonce, ciphertext, tag), ready
   * to route — in one buffer, or in pieces to be sent one after the other (not joined).
   */
  sealed(transportPayload: Uint8Array | readonly Uint8Array[]): void;
  /** An authenticated plaintext: in one buffer, or in pieces (openParts) to be read in order, not joined. */
  opened(plaintext: Uint8Array | readonly Uint8Array[]): void;
  /** A ciphertext that was dropped (already counted in `dropped`). */
  dropped(reason: DropReason): void;
  /** The cipher cannot go on (keys refused, nonce exhausted, its thread died): close the channel. */
  failed(error: Error): void;
  /** The crypto threads are stopping (node.stop()): close the channel now, while a CLOSE can still be sealed. */
  stopping?(): void;
}

/**
 * The transport ciphers of one channel end, wherever they run. Inline: on the calling
 * thread, the sink is called before seal()/open() return. Threaded: on a crypto thread,
 * the sink is called later, from a result batch, in order.
 */
export interface ChannelCipher {
  /** True if results come back asynchronously from a crypto thread. */
  readonly threaded: boolean;
  /** Ciphertexts dropped so far (forged, tampered, replayed, too old), as results came back. */
  readonly dropped: number;
  /**
   * Encrypts the plaintext `[kind] || head || body` (given in parts so that a threaded
   * cipher writes them straight into its batch). The parts are read before this returns
   * (inline: sealed; threaded: copied into the thread's batch), so the caller may reuse
   * them then: a channel end seals from a shared scratch buffer and from staging memory
   * that is written over once the seal returns.
   */
  seal(kind: number, head: Uint8Array, body: Uint8Array): void;
  /** Decrypts a transport message (nonce || ciphertext || tag), with replay protection. */
  open(transportMessage: Uint8Array): void;
  /**
   * open() of a transport message given in parts, after `skip` bytes of the first (a record
   * that spanned socket reads): the plaintext goes to the sink in pieces. Optional: where it is
   * missing (a threaded cipher posts one buffer anyway), the caller joins the parts.
   */
  openParts?(parts: readonly Uint8Array[], skip: number): void;
  /** Drops the keys (in the crypto thread, after the ops already issued). Further ops are ignored. */
  dispose(): void;
}

/**
 * Bytes that are written in full at once: Buffer.allocUnsafe skips the zero-fill and serves
 * sizes up to 4 KiB from Node's shared 8 KiB pool (a fresh ArrayBuffer per message costs
 * ~1 µs), handed on as a plain Uint8Array.
 */
function allocate(length: number): Uint8Array {
  const buffer = Buffer.allocUnsafe(length);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
}

/** Plaintexts above this many bytes are sealed from their parts (measured on the 2-core machine: break-even near 2 KiB). */
const SEAL_FROM_PARTS_MIN = 2048;

function joinPlaintext(kind: number, head: Uint8Array, body: Uint8Array, length: number): Uint8Array {
  const plaintext = allocate(length);
  plaintext[0] = kind;
  plaintext.set(head, 1);
  plaintext.set(body, 1 + head.length);
  return plaintext;
}

const KIND_BYTES = Array.from({ length: 256 }, (_, k) => Uint8Array.of(k));

/** The one-byte plaintext prefix of a record of `kind`, shared (the cipher only reads it). */
function kindByte(kind: number): Uint8Array {
  return KIND_BYTES[kind & 0xff]!;
}

/** Heads shorter than this are sealed with their kind byte in one cipher call (a record's routes are ~40-90 bytes). */
const JOINED_HEAD_MAX = 256;
const joinedHeadScratch = new Uint8Array(1 + JOINED_HEAD_MAX);

/**
 * [kind] ‖ head, in a buffer every inline seal of this thread reuses (the seal has read it
 * when it returns): one cipher update for both instead of two (each update costs a native
 * call and an output buffer; a 16 KiB message is a record of its own).
 */
function joinedHead(kind: number, head: Uint8Array): Uint8Array {
  const joined = joinedHeadScratch.subarray(0, 1 + head.length);
  joined[0] = kind;
  joined.set(head, 1);
  return joined;
}

/** Today's behaviour: the channel's ciphers on the calling (main) thread, results synchronous. */
export class InlineChannelCipher implements ChannelCipher {
  readonly threaded = false;
  readonly #sink: ChannelCipherSink;
  #encryptor: TransportEncryptor | undefined;
  #decryptor: TransportDecryptor | undefined;
  #dropped = 0;

  constructor(keys: ChannelKeys, options: ChannelCipherOptions, sink: ChannelCipherSink) {
    checkNoNullOptions(options, "InlineChannelCipher options");
    const cipherOptions = { provider: options.provider, rekeyInterval: options.rekeyInterval, cipher: options.cipher ?? "AESGCM" };
    this.#encryptor = new TransportEncryptor(keys.sendKey, cipherOptions);
    this.#decryptor = new TransportDecryptor(keys.receiveKey, cipherOptions);
    this.#sink = sink;
  }

  get dropped(): number {
    return this.#decryptor?.dropped ?? this.#dropped;
  }

  seal(kind: number, head: Uint8Array, body: Uint8Array): void {
    const encryptor = this.#encryptor;
    if (!encryptor) return;
    // [TRANSPORT] ‖ nonce ‖ AEAD([kind] ‖ head ‖ body). A small record is copied into one
    // plaintext and sealed into one buffer, as each extra cipher call costs about what
    // copying 2 KiB does. A large one is sealed from its parts where they are, and its
    // ciphertext goes on as the cipher's own buffers: no fresh record buffer to copy it
    // into (on this host every fresh page faults; docs/architecture.md).
    let payload: Uint8Array | Uint8Array[];
    try {
      const length = 1 + head.length + body.length;
      if (length > SEAL_FROM_PARTS_MIN) {
        const prefix = allocate(1 + TRANSPORT_NONCE_LENGTH);
        prefix[0] = OuterKind.TRANSPORT;
        payload = encryptor.encryptParts(head.length < JOINED_HEAD_MAX ? [joinedHead(kind, head), body] : [kindByte(kind), head, body], prefix, 1);
      } else {
        payload = allocate(1 + TRANSPORT_OVERHEAD + length);
        payload[0] = OuterKind.TRANSPORT;
        encryptor.encryptInto(joinPlaintext(kind, head, body, length), payload, 1);
      }
    } catch (error) {
      this.#sink.failed(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.#sink.sealed(payload);
  }

  open(transportMessage: Uint8Array): void {
    const decryptor = this.#decryptor;
    if (!decryptor) return;
    const result = decryptor.decrypt(transportMessage);
    if (result.ok) this.#sink.opened(result.plaintext);
    else this.#sink.dropped(result.reason);
  }

  openParts(parts: readonly Uint8Array[], skip: number): void {
    const decryptor = this.#decryptor;
    if (!decryptor) return;
    const result = decryptor.decryptParts(parts, skip);
    if (!result.ok) this.#sink.dropped(result.reason);
    else this.#sink.opened(result.pieces.length === 1 ? result.pieces[0]! : result.pieces);
  }

  dispose(): void {
    if (this.#decryptor) this.#dropped = this.#decryptor.dropped;
    this.#encryptor?.dispose();
    this.#decryptor?.dispose();
    this.#encryptor = undefined;
    this.#decryptor = undefined;
  }
}
