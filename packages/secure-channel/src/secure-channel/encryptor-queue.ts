import { MailboxBound, type ResolvedMailboxLimits } from "@hopwire/runtime";

/** The u32 payload length that ends an envelope head (after the bin32 tag): queued heads leave it out. */
export const PAYLOAD_LENGTH_BYTES = 4;

/**
 * The encryptor's queue: envelopes (head and payload, not yet sealed) waiting for the end of
 * the turn, for credit from the peer or for room in the first hop. Its MailboxBound is what
 * the encryptor mailbox reports as `isFull`, so local senders wait rather than grow it.
 * A FIFO over an array with a moving head, compacted now and then, so taking is O(1).
 */
export class EncryptorQueue {
  readonly bound: MailboxBound;
  #heads: Uint8Array[] = [];
  #payloads: Uint8Array[] = [];
  #first = 0;

  constructor(limits: ResolvedMailboxLimits) {
    this.bound = new MailboxBound(limits);
  }

  get length(): number {
    return this.#heads.length - this.#first;
  }

  get bytes(): number {
    return this.bound.bytes;
  }

  /** Queues an envelope: its head without the payload's u32 length (often shared by a stream), and its payload. */
  push(head: Uint8Array, payload: Uint8Array): void {
    this.#heads.push(head);
    this.#payloads.push(payload);
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
    this.#first += count;
    if (this.#first === this.#heads.length) this.#clear();
    else if (this.#first >= 1024 && this.#first * 2 >= this.#heads.length) this.#compact();
    this.bound.release(count, bytes);
  }

  /** Forgets what is queued (the channel closed) and wakes every waiting sender. */
  dropAll(): number {
    const dropped = this.length;
    this.#clear();
    this.bound.reset();
    return dropped;
  }

  #clear(): void {
    this.#heads = [];
    this.#payloads = [];
    this.#first = 0;
  }

  #compact(): void {
    this.#heads = this.#heads.slice(this.#first);
    this.#payloads = this.#payloads.slice(this.#first);
    this.#first = 0;
  }
}

const EMPTY = new Uint8Array(0);
