import { MailboxBound, copyBytes, repeatedHeadWord, writeU32BE, type ResolvedMailboxLimits } from "@hopwire/runtime";

/** The u32 payload length that ends an envelope head (after the bin32 tag): queued heads leave it out. */
export const PAYLOAD_LENGTH_BYTES = 4;

/**
 * The encryptor's queue: envelopes (head and payload, not yet sealed) waiting for the end of
 * the turn, for credit from the peer or for room in the first hop. Its MailboxBound is what
 * the encryptor mailbox reports as `isFull`, so local senders wait rather than grow it.
 * A FIFO over two arrays with a moving head and tail, so taking is O(1). Emptied (as it is
 * every turn of a stream) it keeps its arrays and writes over them, instead of growing new
 * ones from nothing each turn; arrays grown past REUSE_MAX_SLOTS by a burst are dropped then.
 */
export class EncryptorQueue {
  readonly bound: MailboxBound;
  #heads: Uint8Array[] = [];
  #payloads: Uint8Array[] = [];
  /** [#first, #end) of the arrays is queued; slots outside it hold EMPTY. */
  #first = 0;
  #end = 0;

  constructor(limits: ResolvedMailboxLimits) {
    this.bound = new MailboxBound(limits);
  }

  get length(): number {
    return this.#end - this.#first;
  }

  get bytes(): number {
    return this.bound.bytes;
  }

  /** Queues an envelope: its head without the payload's u32 length (often shared by a stream), and its payload. */
  push(head: Uint8Array, payload: Uint8Array): void {
    const at = this.#end++;
    if (at < this.#heads.length) {
      this.#heads[at] = head;
      this.#payloads[at] = payload;
    } else {
      this.#heads.push(head);
      this.#payloads.push(payload);
    }
    this.bound.add(head.length + PAYLOAD_LENGTH_BYTES + payload.length);
  }

  /** The i-th queued envelope's head (without the payload length) / payload / envelope size (0 = the oldest). */
  head(i: number): Uint8Array {
    return this.#heads[this.#first + i]!;
  }

  payload(i: number): Uint8Array {
    return this.#payloads[this.#first + i]!;
  }

  size(i: number): number {
    return this.head(i).length + PAYLOAD_LENGTH_BYTES + this.payload(i).length;
  }

  /** Removes the `count` oldest envelopes (`bytes` in all); wakes waiting senders when there is room. */
  take(count: number, bytes: number): void {
    for (let i = 0; i < count; i++) {
      this.#heads[this.#first + i] = EMPTY;
      this.#payloads[this.#first + i] = EMPTY;
    }
    this.#advance(count, bytes);
  }

  /**
   * Removes the `count` oldest envelopes (`bytes` in all, as `size` counts them) and writes
   * them at the start of `into` as the body of a MESSAGES record: for each, its length (u32),
   * head, payload length (u32) and payload — or, when its head is the one before it (a
   * stream's), REPEATED_HEAD | payload length (u32) and the payload alone: at 64 B a head is
   * most of an envelope. Returns that part of `into` (at most bytes + 4 × count). One pass
   * over the queue, as a stream of small messages makes records of hundreds.
   */
  takeRecord(count: number, bytes: number, into: Uint8Array): Uint8Array {
    const heads = this.#heads;
    const payloads = this.#payloads;
    let at = 0;
    let previous: Uint8Array | undefined;
    for (let i = this.#first, end = this.#first + count; i < end; i++) {
      const head = heads[i]!;
      const payload = payloads[i]!;
      heads[i] = EMPTY;
      payloads[i] = EMPTY;
      if (head === previous) {
        at = writeU32BE(into, at, repeatedHeadWord(payload.length));
      } else {
        at = writeU32BE(into, at, head.length + PAYLOAD_LENGTH_BYTES + payload.length);
        at = copyBytes(into, at, head);
        at = writeU32BE(into, at, payload.length);
        previous = head;
      }
      at = copyBytes(into, at, payload);
    }
    this.#advance(count, bytes);
    return into.subarray(0, at);
  }

  #advance(count: number, bytes: number): void {
    this.#first += count;
    if (this.#first === this.#end) this.#rewind();
    else if (this.#first >= 1024 && this.#first * 2 >= this.#end) this.#compact();
    this.bound.release(count, bytes);
  }

  /** Forgets what is queued (the channel closed) and wakes every waiting sender. */
  dropAll(): number {
    const dropped = this.length;
    this.#heads = [];
    this.#payloads = [];
    this.#first = this.#end = 0;
    this.bound.reset();
    return dropped;
  }

  /** Empty: write from the start again (every taken slot already holds EMPTY). */
  #rewind(): void {
    if (this.#heads.length > REUSE_MAX_SLOTS) {
      this.#heads = [];
      this.#payloads = [];
    }
    this.#first = this.#end = 0;
  }

  #compact(): void {
    this.#heads = this.#heads.slice(this.#first, this.#end);
    this.#payloads = this.#payloads.slice(this.#first, this.#end);
    this.#end -= this.#first;
    this.#first = 0;
  }
}

const EMPTY = new Uint8Array(0);
/** Slots an emptied queue keeps for the next turn (a 64 KiB turn of 64 B messages is 1,024). */
const REUSE_MAX_SLOTS = 2048;
