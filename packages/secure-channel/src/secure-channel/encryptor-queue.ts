import { MailboxBound, bytesBodyLength, type MailboxBudget, copyBytes, repeatedHeadWord, writeBytesBody, writeU32BE, type ResolvedMailboxLimits } from "@hopwire/runtime";
import { release, stage, stagedAt, STAGING_CHUNK_BYTES, type StagingChunk } from "./staging.js";

/** The u32 payload length that ends an envelope head (after the bin32 tag): queued heads leave it out. */
export const PAYLOAD_LENGTH_BYTES = 4;

/**
 * The encryptor's queue: envelopes (head and payload, not yet sealed) waiting for the end of
 * the turn, for credit from the peer or for room in the first hop. Its MailboxBound is what
 * the encryptor mailbox reports as `isFull`, so local senders wait rather than grow it.
 * A ring over parallel arrays (a power of two long), so taking is O(1) and a queue that is
 * never empty (a stream the peer's credit or the socket paces) writes over the slots it took,
 * making no garbage per message: growing arrays and compacting them made ~100 B a message,
 * whose scavenges a 1 KiB sender paid for in page faults. It doubles when full, and is kept
 * when emptied (a stream fills it again within a turn or two: dropping a ring a burst had
 * grown and growing it again each time made as much garbage). A ring past REUSE_MAX_SLOTS
 * halves (or more) when a take leaves it three quarters empty a second or more after it last
 * grew or shrank, and `trim`, on the channel's liveness tick, drops it once the queue is empty.
 */
export class EncryptorQueue {
  readonly bound: MailboxBound;
  /** The ring's arrays: NO_SLOTS until the first push, and again once its slots are let go (#forgetSlots). */
  #heads: Uint8Array[] = NO_SLOTS;
  /** A payload of its own (or its parts, pushParts); EMPTY for one in staging memory. */
  #payloads: (Uint8Array | readonly Uint8Array[])[] = NO_SLOTS;
  /**
   * For a payload in staging memory (pushLentBytes): its chunk (released when it is taken) and
   * where it starts there, with no view made per message (takeRecord copies runs of them from
   * the chunk). Every payload's length.
   */
  #chunks: (StagingChunk | undefined)[] = NO_SLOTS;
  #starts: number[] = NO_SLOTS;
  #lengths: number[] = NO_SLOTS;
  /** The oldest queued envelope's slot, how many are queued from it on (wrapping), and slots - 1; free slots hold EMPTY. */
  #first = 0;
  #count = 0;
  #mask = -1;
  /** When the ring last grew or shrank (performance.now()). */
  #resizedAt = 0;

  /** `budget`: what the node's channel ends may hold together (send-queue-budget.ts). */
  constructor(
    limits: ResolvedMailboxLimits,
    readonly budget?: MailboxBudget,
  ) {
    this.bound = new MailboxBound(limits, budget);
  }

  /** Whether `bytes` more would take it past its byte bound, or past its allowance under a spent budget. */
  wouldPass(bytes: number): boolean {
    return this.bytes + bytes > this.bound.limits.maxBytes || this.budget?.wouldFill(this.bytes, bytes) === true;
  }

  get length(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.bound.bytes;
  }

  /**
   * Queues an envelope whose payload is `encodeBody(bytes)`, for bytes a sender lent (they are
   * its own again once this returns): the payload is written into staging memory (staging.ts),
   * written over again once it is sealed, where a copy at the send took a fresh buffer whose
   * pages fault in (docs/architecture.md, "A bytes body is copied once"). A body larger than a
   * chunk, or one that would put the thread's staging past its bound, gets a buffer of its own.
   */
  pushLentBytes(head: Uint8Array, bytes: Uint8Array): void {
    this.#pushLent(head, bytes, bytesBodyLength(bytes), true);
  }

  /** As pushLentBytes, for a lent payload as it is (an encoded body): copied into staging memory before this returns. */
  pushLentPayload(head: Uint8Array, payload: Uint8Array): void {
    this.#pushLent(head, payload, payload.length, false);
  }

  /** Copies `source` (a bytes body to encode, or a payload as it is) into staging, `length` payload bytes. */
  #pushLent(head: Uint8Array, source: Uint8Array, length: number, bytesBody: boolean): void {
    // Staged as a MESSAGES record holds a stream's envelope: its REPEATED_HEAD word, then the
    // payload. Consecutive ones are then a record's bytes already, copied in one piece.
    const chunk = RECORD_WORD_BYTES + length > STAGING_CHUNK_BYTES ? undefined : stage(RECORD_WORD_BYTES + length);
    const target = chunk === undefined ? Buffer.allocUnsafeSlow(length) : chunk.buffer;
    const start = chunk === undefined ? 0 : stagedAt + RECORD_WORD_BYTES;
    if (bytesBody) writeBytesBody(target, start, source);
    else target.set(source, start);
    // Past a chunk, or past the staging memory a thread keeps in use: a buffer of its own.
    if (chunk === undefined) return this.push(head, target);
    writeU32BE(chunk.buffer, stagedAt, repeatedHeadWord(length));
    this.#put(head, EMPTY, chunk, start, length);
  }

  /** Queues an envelope: its head without the payload's u32 length (often shared by a stream), and its payload. */
  push(head: Uint8Array, payload: Uint8Array): void {
    this.#put(head, payload, undefined, 0, payload.length);
  }

  /**
   * As push, for a payload given in parts (LocalMessage.fromParts: a portal's kind byte and the
   * bytes its socket read), `length` bytes in all: kept as they are, never joined here.
   */
  pushParts(head: Uint8Array, parts: readonly Uint8Array[], length: number): void {
    this.#put(head, parts, undefined, 0, length);
  }

  #put(head: Uint8Array, payload: Uint8Array | readonly Uint8Array[], chunk: StagingChunk | undefined, start: number, length: number): void {
    if (this.#count > this.#mask) this.#grow();
    const at = (this.#first + this.#count++) & this.#mask;
    this.#heads[at] = head;
    this.#payloads[at] = payload;
    this.#chunks[at] = chunk;
    this.#starts[at] = start;
    this.#lengths[at] = length;
    this.bound.add(head.length + PAYLOAD_LENGTH_BYTES + length);
  }

  /** Twice the slots (16 at first), the queued envelopes moved to the start, in order. */
  #grow(): void {
    this.#resize(Math.max(MIN_SLOTS, 2 * (this.#mask + 1)));
  }

  /** `slots` slots (a power of two, at least the count), the queued envelopes moved to the start, in order. */
  #resize(slots: number): void {
    this.#heads = this.#reordered(this.#heads, slots, EMPTY);
    this.#payloads = this.#reordered(this.#payloads, slots, EMPTY);
    this.#chunks = this.#reordered(this.#chunks, slots, undefined);
    this.#starts = this.#reordered(this.#starts, slots, 0);
    this.#lengths = this.#reordered(this.#lengths, slots, 0);
    this.#first = 0;
    this.#mask = slots - 1;
    this.#resizedAt = performance.now();
  }

  /** `array`'s queued slots, oldest first, in a new array of `slots` (the rest `fill`); pushed, so V8 keeps it packed. */
  #reordered<T>(array: T[], slots: number, fill: T): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.#count; i++) out.push(array[(this.#first + i) & this.#mask]!);
    while (out.length < slots) out.push(fill);
    return out;
  }

  /** The slot of the i-th queued envelope (0 = the oldest). */
  #slot(i: number): number {
    return (this.#first + i) & this.#mask;
  }

  /** The i-th queued envelope's head (without the payload length) / payload / payload length / envelope size (0 = the oldest). */
  head(i: number): Uint8Array {
    return this.#heads[this.#slot(i)]!;
  }

  /**
   * The payload, or its parts if it was pushed in parts; a view for one in staging memory,
   * valid until it is taken (and, via takeFirst, released).
   */
  payload(i: number): Uint8Array | readonly Uint8Array[] {
    const at = this.#slot(i);
    const chunk = this.#chunks[at];
    return chunk === undefined ? this.#payloads[at]! : chunk.buffer.subarray(this.#starts[at]!, this.#starts[at]! + this.#lengths[at]!);
  }

  payloadLength(i: number): number {
    return this.#lengths[this.#slot(i)]!;
  }

  size(i: number): number {
    return this.head(i).length + PAYLOAD_LENGTH_BYTES + this.payloadLength(i);
  }

  /** Removes the `count` oldest envelopes (`bytes` in all); wakes waiting senders when there is room. */
  take(count: number, bytes: number): void {
    for (let i = 0; i < count; i++) {
      const at = this.#slot(i);
      this.#heads[at] = EMPTY;
      this.#payloads[at] = EMPTY;
    }
    this.#advance(count, bytes);
  }

  /**
   * Removes the oldest envelope (`bytes`, as `size` counts it) and returns its staging chunk,
   * if it has one, unreleased: the caller seals the payload (a view from `payload(0)` taken
   * before), then releases it (staging.ts).
   */
  takeFirst(bytes: number): StagingChunk | undefined {
    const chunk = this.#chunks[this.#first];
    this.#chunks[this.#first] = undefined;
    this.take(1, bytes);
    return chunk;
  }

  /**
   * The staging memory of the `count` oldest envelopes is free: they are being sealed, and a
   * seal reads its plaintext before it returns (inline, or into a crypto thread's batch).
   */
  #releaseStaged(count: number): void {
    const chunks = this.#chunks;
    for (let i = 0; i < count; i++) {
      const at = this.#slot(i);
      const chunk = chunks[at];
      if (chunk !== undefined) {
        chunks[at] = undefined;
        release(chunk);
      }
    }
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
    const chunks = this.#chunks;
    const starts = this.#starts;
    const lengths = this.#lengths;
    let at = 0;
    let previous: Uint8Array | undefined;
    // Staged envelopes that repeat the head before them and follow each other in one chunk, word
    // and payload, are these bytes of the record already: [runStart, runEnd) of runChunk, copied
    // in one piece when the run ends (a copy per message made a view per message, for the GC).
    let runChunk: StagingChunk | undefined;
    let runStart = 0;
    let runEnd = 0;
    const first = this.#first;
    const mask = this.#mask;
    for (let k = 0; k < count; k++) {
      const i = (first + k) & mask;
      const head = heads[i]!;
      const length = lengths[i]!;
      const chunk = chunks[i];
      heads[i] = EMPTY;
      if (head === previous && chunk !== undefined) {
        const wordAt = starts[i]! - RECORD_WORD_BYTES;
        if (chunk !== runChunk || wordAt !== runEnd) {
          if (runChunk !== undefined) at = copyBytes(into, at, runChunk.buffer, runStart, runEnd);
          runChunk = chunk;
          runStart = wordAt;
        }
        runEnd = starts[i]! + length;
        continue;
      }
      if (runChunk !== undefined) {
        at = copyBytes(into, at, runChunk.buffer, runStart, runEnd);
        runChunk = undefined;
      }
      if (head === previous) {
        at = writeU32BE(into, at, repeatedHeadWord(length));
      } else {
        at = writeU32BE(into, at, head.length + PAYLOAD_LENGTH_BYTES + length);
        at = copyBytes(into, at, head);
        at = writeU32BE(into, at, length);
        previous = head;
      }
      if (chunk === undefined) {
        at = copyPayload(into, at, payloads[i]!);
        payloads[i] = EMPTY;
      } else {
        const start = starts[i]!;
        at = copyBytes(into, at, chunk.buffer, start, start + length);
      }
    }
    if (runChunk !== undefined) at = copyBytes(into, at, runChunk.buffer, runStart, runEnd);
    this.#advance(count, bytes);
    return into.subarray(0, at);
  }

  #advance(count: number, bytes: number): void {
    this.#releaseStaged(count);
    this.#first = (this.#first + count) & this.#mask;
    this.#count -= count;
    if (this.#count === 0) this.#first = 0; // every taken slot already holds EMPTY, and no chunk
    // A burst's ring that the stream after it does not use (a quarter or less, for a second) shrinks.
    if (this.#mask >= REUSE_MAX_SLOTS && this.#count * 4 <= this.#mask && performance.now() - this.#resizedAt >= SHRINK_AFTER_MS) {
      this.#resize(Math.max(REUSE_MAX_SLOTS, nextPowerOfTwo(2 * this.#count)));
    }
    this.bound.release(count, bytes);
  }

  /** Forgets what is queued (the channel closed) and wakes every waiting sender. */
  dropAll(): number {
    const dropped = this.length;
    this.#releaseStaged(dropped);
    this.#forgetSlots();
    this.bound.reset();
    return dropped;
  }

  /** Lets go of the slots of an empty queue past REUSE_MAX_SLOTS (a burst's, now idle): the channel calls it now and then. */
  trim(): void {
    if (this.#count === 0 && this.#mask >= REUSE_MAX_SLOTS) this.#forgetSlots();
  }

  /** How many envelopes the queue has room for before it grows (tests read it). */
  get slots(): number {
    return this.#mask + 1;
  }

  #forgetSlots(): void {
    this.#heads = NO_SLOTS;
    this.#payloads = NO_SLOTS;
    this.#chunks = NO_SLOTS;
    this.#starts = NO_SLOTS;
    this.#lengths = NO_SLOTS;
    this.#first = this.#count = 0;
    this.#mask = -1;
  }
}

/** Writes a payload (or its parts, in order) into `into` at `at`; returns where it ends. */
function copyPayload(into: Uint8Array, at: number, payload: Uint8Array | readonly Uint8Array[]): number {
  if (payload instanceof Uint8Array) return copyBytes(into, at, payload);
  for (const part of payload) at = copyBytes(into, at, part);
  return at;
}

const EMPTY = new Uint8Array(0);
/**
 * The arrays of a queue without slots (mask -1), shared by all of them: five empty arrays of
 * its own cost an idle channel ≈ 0.16 KiB. Frozen, and never written: a push grows the ring
 * into new arrays first (#resize), and nothing else writes to a slot that was not pushed.
 */
const NO_SLOTS = Object.freeze([]) as unknown as never[];
/** The u32 in front of each envelope of a MESSAGES record (its length, or REPEATED_HEAD | payload length). */
const RECORD_WORD_BYTES = 4;
/** Slots an idle queue keeps (a 64 KiB turn of 64 B messages is 1,024). */
const REUSE_MAX_SLOTS = 2048;
/** A ring's first size. */
const MIN_SLOTS = 16;
/** How long a ring past REUSE_MAX_SLOTS keeps its size before a mostly empty queue shrinks it. */
const SHRINK_AFTER_MS = 1000;

function nextPowerOfTwo(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}
