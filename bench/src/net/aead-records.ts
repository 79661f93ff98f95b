// AES-256-GCM records for the floor of scale/channels (scale/raw-records): what any stack
// pays when each message is a record of its own and the AEAD is node:crypto's, with nothing
// else around it. A record is [u32 channel][u64 nonce][ciphertext][16-byte tag], its IV four
// zero bytes then the nonce (Noise's AESGCM nonce). node:crypto cannot take a new IV on a
// cipher it made, so each record makes its own cipher: the calls Hopwire's node provider makes
// per record (createCipheriv, update, final, getAuthTag; and their opening counterparts).
// `prepare` makes a channel's next cipher ahead, as a channel's spare ciphers do (the round
// trip floor calls it after each write; the throughput floor does not: it gains nothing there).
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCM, type DecipherGCM } from "node:crypto";

const CHANNEL_BYTES = 4;
const NONCE_BYTES = 8;
const TAG_BYTES = 16;
/** Bytes a record adds to its payload. */
export const RECORD_OVERHEAD = CHANNEL_BYTES + NONCE_BYTES + TAG_BYTES;
const HEADER = CHANNEL_BYTES + NONCE_BYTES;

/** `count` fresh 32-byte keys, as hex (they cross the harness's IPC from the sink to the sender). */
export function recordKeys(count: number): string[] {
  return Array.from({ length: count }, () => randomBytes(32).toString("hex"));
}

/** `nonce` as a big-endian u64 at `at` (a safe integer: 2^53 records per key is beyond any run). */
function writeNonce(buffer: Buffer, at: number, nonce: number): void {
  buffer.writeUInt32BE(Math.floor(nonce / 2 ** 32), at);
  buffer.writeUInt32BE(nonce >>> 0, at + 4);
}

/** The IV of `nonce`, in one buffer the calls of this thread share (createCipheriv copies it). */
const iv = Buffer.alloc(12);
function ivOf(nonce: number): Buffer {
  writeNonce(iv, 4, nonce);
  return iv;
}

const keysOf = (hexKeys: readonly string[]): Buffer[] => hexKeys.map((k) => Buffer.from(k, "hex"));

type Sealer = CipherGCM;
type Opener = DecipherGCM;

/** One direction of `keys.length` channels: seals each payload as a record of its own. */
export class RecordSealer {
  readonly #keys: Buffer[];
  readonly #nonces: number[];
  /** Ciphers made by `prepare` for a channel's next nonce (what a secure channel's spare ciphers do). */
  readonly #prepared = new Map<number, Sealer>();

  constructor(hexKeys: readonly string[]) {
    this.#keys = keysOf(hexKeys);
    this.#nonces = hexKeys.map(() => 0);
  }

  /** Makes the cipher of `channel`'s next record now (after a write: off the next record's path). */
  prepare(channel: number): void {
    this.#prepared.set(channel, this.#cipher(channel, this.#nonces[channel]!));
  }

  #cipher(channel: number, nonce: number): Sealer {
    return createCipheriv("aes-256-gcm", this.#keys[channel]!, ivOf(nonce), { authTagLength: TAG_BYTES });
  }

  /**
   * The record of `payload` on `channel`, in one buffer (the header, then the cipher's output
   * copied in, as an inline seal does), after `headroom` bytes left for the caller (a frame's length).
   */
  seal(channel: number, payload: Uint8Array, headroom = 0): Buffer {
    const nonce = this.#nonces[channel]!++;
    const buffer = Buffer.allocUnsafe(headroom + RECORD_OVERHEAD + payload.length);
    const at = headroom + HEADER;
    buffer.writeUInt32BE(channel, headroom);
    writeNonce(buffer, headroom + CHANNEL_BYTES, nonce);
    const prepared = this.#prepared.get(channel);
    if (prepared !== undefined) this.#prepared.delete(channel);
    const cipher = prepared ?? this.#cipher(channel, nonce);
    buffer.set(cipher.update(payload), at);
    cipher.final();
    buffer.set(cipher.getAuthTag(), at + payload.length);
    return buffer;
  }
}

/** The other direction: opens records, each channel's nonces strictly increasing (the least replay check). */
export class RecordOpener {
  readonly #keys: Buffer[];
  readonly #next: number[];
  /** Deciphers made by `prepare` for a channel's next nonce, with that nonce. */
  readonly #prepared = new Map<number, { nonce: number; decipher: Opener }>();

  constructor(hexKeys: readonly string[]) {
    this.#keys = keysOf(hexKeys);
    this.#next = hexKeys.map(() => 0);
  }

  /** Makes the decipher of `channel`'s next record (the nonce after the last opened) now. */
  prepare(channel: number): void {
    const nonce = this.#next[channel]!;
    this.#prepared.set(channel, { nonce, decipher: createDecipheriv("aes-256-gcm", this.#keys[channel]!, ivOf(nonce), { authTagLength: TAG_BYTES }) });
  }

  /** How many channels have had a record opened. */
  get channelsOpened(): number {
    return this.#next.filter((n) => n > 0).length;
  }

  /** The plaintext of `record`; throws for an unknown channel, a replayed or old nonce, or a record that does not authenticate. */
  open(record: Buffer): Buffer {
    if (record.length < RECORD_OVERHEAD) throw new Error(`a record of ${record.length} bytes is shorter than its overhead`);
    const channel = record.readUInt32BE(0);
    const key = this.#keys[channel];
    if (key === undefined) throw new Error(`a record for channel ${channel}, of ${this.#keys.length}`);
    const nonce = record.readUInt32BE(CHANNEL_BYTES) * 2 ** 32 + record.readUInt32BE(CHANNEL_BYTES + 4);
    if (nonce < this.#next[channel]!) throw new Error(`channel ${channel}: nonce ${nonce} replayed or out of order`);
    const tagAt = record.length - TAG_BYTES;
    const prepared = this.#prepared.get(channel);
    if (prepared !== undefined) this.#prepared.delete(channel);
    const decipher = prepared?.nonce === nonce ? prepared.decipher : createDecipheriv("aes-256-gcm", key, ivOf(nonce), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(record.subarray(tagAt));
    const plaintext = decipher.update(record.subarray(HEADER, tagAt));
    decipher.final(); // throws if the record does not authenticate
    this.#next[channel] = nonce + 1; // only an authentic record moves the channel on
    return plaintext;
  }
}
