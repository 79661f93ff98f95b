import { envelopeHeadBound, MAX_REMEMBERED_HEAD, PAYLOAD_HEADER, writeEnvelopeHead } from "../codec/envelope.js";
import { DecodeError } from "../errors/errors.js";
import { LocalMessage, NO_LOCAL_INFO, type LocalInfo } from "../message/local-message.js";
import type { Route } from "../route/route.js";
import { bytesBodyLength, lentBytesMessage, writeBytesBody } from "../codec/body.js";
import { forEachRepeatedPayload } from "../codec/repeated-head.js";
import { copyBytes, writeU32BE } from "../util/bytes.js";
import { atTurnEnd } from "../util/turn-end.js";

/**
 * The byte stream between the main thread and a worker's thread (or a pool task).
 *
 * Everything bound for one port in one turn of the event loop is written into ONE
 * ArrayBuffer and posted (transferred, or copied when small) with one postMessage: a thread
 * wake-up costs ~50-100 µs, so it is paid per batch, never per message. A batch is
 *
 *   u32 usedBytes | u32 firstSeq | u32 creditMessages | u32 creditBytes | frame | frame | ...
 *   frame = u8 kind | u32 length | bytes
 *
 * An envelope whose routes and local info are the previous envelope's of the same batch
 * (the same local-info object, and the same Route objects or routes with the same hops: a
 * stream's messages share them) is written as FRAME_ENVELOPE_SAME_HEAD, its payload alone:
 * its head is neither copied nor decoded again.
 *
 * (big-endian). Envelopes and control operations share the stream, so their order is kept.
 * Frames are numbered: the n-th frame of a batch has seq firstSeq + n, so a malformed batch
 * cannot shift the numbering of later ones. The credit fields return what the sender of
 * the batch consumed of the receiver's stream since its last batch; they ride in the
 * header, outside the ordered frames, so that credit flows even while the other side is
 * not reading frames (see docs/architecture.md, "Flow").
 */

/** An envelope sent by the link's own worker (main side: delivered to it); no reply expected. */
export const FRAME_ENVELOPE = 1;
/** An envelope whose sender waits for the main thread's ack (or nack with the routing error). */
export const FRAME_ENVELOPE_ACK = 2;
/** A msgpack-encoded control operation (see protocol.ts). */
export const FRAME_OP = 3;
/**
 * An envelope as FRAME_ENVELOPE whose head (routes and local info) is that of the envelope
 * frame before it in the same batch; the frame's bytes are the payload alone.
 */
export const FRAME_ENVELOPE_SAME_HEAD = 4;
/**
 * FRAME_ENVELOPE and FRAME_ENVELOPE_ACK of a send with `{ ifFull: "drop" }`: the main thread
 * drops the envelope if its first hop is full, and never stops reading for that hop.
 */
export const FRAME_ENVELOPE_DROP_IF_FULL = 5;
export const FRAME_ENVELOPE_ACK_DROP_IF_FULL = 6;

/** Bytes bodies written into a batch with no message made (`pushSameHeadBytesBody`; tests and probes read it). */
export const bytesBodiesWritten = { frames: 0 };

/** Bytes a frame takes in a batch beyond its contents. */
export const FRAME_HEADER = 5;
const BATCH_HEADER = 16;
const INITIAL_CAPACITY = 16 * 1024;
/** Batches up to this size are copied out (exact size) by `take`, and the writer keeps its buffer... */
const COPY_OUT_MAX = 4 * 1024;
/** ...if that buffer is no larger than this (a writer does not hold on to a large one). */
const KEEP_MAX = 64 * 1024;
const LARGE_BATCH = 64 * 1024;
/** Room for an envelope's frame header and head, beyond its payload, when deciding whether it fits (a longer head may still grow the batch). */
const HEAD_ROOM = FRAME_HEADER + MAX_REMEMBERED_HEAD;
/** A batch past LARGE_BATCH is given room up to the eager flush (1 MiB) and one large frame. */
const LARGE_BATCH_CAPACITY = 1024 * 1024 + 128 * 1024;
const EMPTY = Buffer.alloc(0);
/** A writer drops its spares after this long without writing into one. */
const SPARE_IDLE_MS = 5_000;
/** A writer keeps at most this many buffers given back by the other side... */
const MAX_SPARES = 4;
/** ...and only those of at least this size: a smaller batch is cheap to allocate (or is copied out by `take`)... */
export const SPARE_MIN_BYTES = 256 * 1024;
/** ...and at most this one (a batch's room, doubled): the buffer of one huge message is not kept. */
export const SPARE_MAX_BYTES = 2 * LARGE_BATCH_CAPACITY;

/** Whether a batch's buffer is worth giving back and keeping as a spare. */
function isSpareSize(buffer: ArrayBuffer): boolean {
  return buffer.byteLength >= SPARE_MIN_BYTES && buffer.byteLength <= SPARE_MAX_BYTES;
}

/** Batches read and given back to the thread that wrote them, for its next batches (tests and probes read it). */
export const batchesGivenBack = { batches: 0, reused: 0 };

/**
 * The last envelope head a writer encoded (up to its payload header) and what it encodes.
 * Its bytes are copied out of the batch only once a second message repeats it, so that
 * messages whose routes all differ cost no allocation.
 */
interface WrittenHead {
  readonly onwardRoute: Route;
  readonly returnRoute: Route;
  readonly localInfo: LocalInfo;
  /** Where it lies in the batch being written, while that batch is (`batch` = the writer's count of takes). */
  readonly start: number;
  readonly end: number;
  readonly batch: number;
  /** Its bytes, copied once a message repeated it (the batch it was written in is transferred). */
  bytes: Uint8Array | undefined;
}

/** Where frames are written: a BatchWriter, or a PortWriter that posts them. */
export interface FrameSink {
  /** Writes one frame whose bytes are `head` followed by `tail`; returns its size in the batch. */
  push(kind: number, head: Uint8Array, tail?: Uint8Array): number;
  /** Writes one frame holding `message` as a local envelope, encoded in place; returns its size in the batch. */
  pushEnvelope(kind: number, message: LocalMessage): number;
}

/**
 * Accumulates frames in one growable buffer; `take` hands over the buffer to transfer.
 *
 * Envelopes are encoded straight into the batch: allocating even a small ArrayBuffer per
 * message made transferring the batch cost ~0.5 ms (V8's detach waits for its sweep of
 * array buffers), against ~20 µs without them. Buffers are allocated without zeroing; a
 * reader never looks past `usedBytes`.
 */
export class BatchWriter implements FrameSink {
  /** Empty until the first frame after a `take`: a writer that is not written again allocates nothing. */
  #buffer: Buffer = EMPTY;
  #capacity: number;
  #used = BATCH_HEADER;
  #count = 0;
  /** Seq of the next frame written. */
  #seq = 0;
  #lastHead: WrittenHead | undefined;
  /** Batches taken so far: a head written in an earlier one is no longer in the buffer. */
  #takes = 0;
  /**
   * The routes and local info of the last envelope frame of this batch, if `pushEnvelope`
   * wrote it (a frame pushed whole, e.g. a message's received bytes, is not looked into):
   * a FRAME_ENVELOPE with the same ones (sameRoute, the same local-info object) is written as
   * FRAME_ENVELOPE_SAME_HEAD.
   */
  #previousOnward: Route | undefined;
  #previousReturn: Route | undefined;
  #previousInfo: LocalInfo | undefined;
  /** Buffers of batches the reader is done with, given back (`addSpare`): the next batches are written into them. */
  readonly #spares: ArrayBuffer[] = [];
  /** A spare was written into since the last `trimSpares`. */
  #spareTaken = false;
  /** `outgrows` said yes to a frame past 64 KiB since the last `take`: more such frames may be coming (see take). */
  #outgrown = false;

  constructor(initialCapacity = INITIAL_CAPACITY) {
    this.#capacity = Math.max(initialCapacity, 64);
  }

  /** Frames written since the last `take`. */
  get count(): number {
    return this.#count;
  }

  /** Bytes written since the last `take`. */
  get size(): number {
    return this.#used;
  }

  /**
   * True when a frame of up to `bytes` does not fit in the batch's buffer and growing it
   * would take the batch past 64 KiB, i.e. give it room for a 1 MiB batch and copy all of it:
   * a writer that can hand over what it has (post it, run it as a task) should rather do that.
   */
  outgrows(bytes: number): boolean {
    const needed = this.#used + bytes;
    if (!(this.#count > 0 && needed > this.#buffer.length && needed > LARGE_BATCH)) return false;
    // A frame past 64 KiB of its own: more may follow in this turn (see take). Small frames keep batches under 64 KiB.
    if (bytes > LARGE_BATCH) this.#outgrown = true;
    return true;
  }

  /** As `outgrows`, for the frame `pushEnvelope` would write for `message` (its head counted as up to 1 KiB). */
  outgrowsWith(message: LocalMessage): boolean {
    return this.outgrows(message.payloadLength + HEAD_ROOM);
  }

  /** Seq of the next frame written (frames are numbered from 0 for the life of the writer). */
  get nextSeq(): number {
    return this.#seq;
  }

  /**
   * Numbers `frames` frames written elsewhere as the next ones of this stream (see
   * PortWriter.passOn); returns the seq of the first. Only between batches: none pending.
   */
  claimSeqs(frames: number): number {
    if (this.#count > 0) throw new Error("claimSeqs with frames pending: they would be numbered after the claimed ones");
    const first = this.#seq;
    this.#seq += frames;
    return first;
  }

  push(kind: number, head: Uint8Array, tail?: Uint8Array): number {
    // An envelope written whole: the reader's previous head is now one this writer did not note.
    if (kind !== FRAME_OP) this.#previousOnward = undefined;
    const length = head.length + (tail ? tail.length : 0);
    this.#reserve(FRAME_HEADER + length);
    const buffer = this.#buffer;
    const at = this.#used;
    buffer[at] = kind;
    buffer.writeUInt32BE(length, at + 1);
    buffer.set(head, at + FRAME_HEADER);
    if (tail) buffer.set(tail, at + FRAME_HEADER + head.length);
    this.#used = at + FRAME_HEADER + length;
    this.#count++;
    this.#seq++;
    return FRAME_HEADER + length;
  }

  pushEnvelope(kind: number, message: LocalMessage): number {
    // The payload is copied from wherever the message holds it: a frame read off TCP in
    // pieces is not joined first (one copy, not two), nor is a range made into a view.
    const payloadLength = message.payloadLength;
    if (
      kind === FRAME_ENVELOPE &&
      sameRoute(message.onwardRoute, this.#previousOnward) &&
      sameRoute(message.returnRoute, this.#previousReturn) &&
      message.localInfo === this.#previousInfo
    ) {
      return this.#pushSameHead(message, payloadLength);
    }
    const head = this.#repeatedHead(message);
    this.#reserve(FRAME_HEADER + (head ? head.length + PAYLOAD_HEADER.length : envelopeHeadBound(message, "local")) + payloadLength);
    const buffer = this.#buffer;
    const at = this.#used;
    const start = at + FRAME_HEADER;
    let headEnd: number;
    if (head !== undefined) {
      const payloadHeader = copyBytes(buffer, start, head);
      buffer[payloadHeader] = PAYLOAD_HEADER.tag;
      headEnd = writeU32BE(buffer, payloadHeader + 1, payloadLength);
    } else {
      headEnd = writeEnvelopeHead(buffer, start, message, "local");
      this.#remember(message, start, headEnd - PAYLOAD_HEADER.length);
    }
    message.copyPayloadTo(buffer, headEnd);
    const end = headEnd + payloadLength;
    buffer[at] = kind;
    buffer.writeUInt32BE(end - start, at + 1);
    this.#used = end;
    this.#count++;
    this.#seq++;
    // Noted only once the frame is written: a head that failed to encode (local info holding
    // a function) must not be the one the next envelope repeats, or that envelope would be
    // read under the head of the frame before it (and routed there).
    this.#previousOnward = message.onwardRoute;
    this.#previousReturn = message.returnRoute;
    this.#previousInfo = message.localInfo;
    return end - at;
  }

  /** Writes `message` as a FRAME_ENVELOPE_SAME_HEAD frame: its payload, nothing else. */
  #pushSameHead(message: LocalMessage, payloadLength: number): number {
    const at = this.#openSameHead(payloadLength); // may grow the buffer: read #buffer after it
    message.copyPayloadTo(this.#buffer, at);
    return FRAME_HEADER + payloadLength;
  }

  /**
   * True if an envelope with these routes and local info and a payload of `payloadLength`
   * bytes may be written as `pushSameHeadPayload` or `pushSameHeadBytesBody` write it: it
   * repeats the last envelope frame's head, and fits without outgrowing the batch. Else the
   * caller writes it as a message (with its head, after handing over the batch if need be).
   */
  takesSameHead(onwardRoute: Route, returnRoute: Route, localInfo: LocalInfo, payloadLength: number): boolean {
    return (
      sameRoute(onwardRoute, this.#previousOnward) &&
      sameRoute(returnRoute, this.#previousReturn) &&
      localInfo === this.#previousInfo &&
      !this.outgrows(FRAME_HEADER + payloadLength)
    );
  }

  /**
   * Writes `source[start, end)` as the payload of a FRAME_ENVELOPE_SAME_HEAD frame: an envelope
   * under the last envelope frame's head, as `pushEnvelope` would write it for a message with
   * those routes (the caller checked `takesSameHead`); returns the frame's size.
   */
  pushSameHeadPayload(source: Uint8Array, start: number, end: number): number {
    const payloadLength = end - start;
    const at = this.#openSameHead(payloadLength);
    copyBytes(this.#buffer, at, source, start, end);
    return FRAME_HEADER + payloadLength;
  }

  /**
   * Writes `encodeBody(bytes)` (a bytes body: msgpack's bin header, then the bytes) as the
   * payload of a FRAME_ENVELOPE_SAME_HEAD frame, as `pushSameHeadPayload` does; returns the frame's size.
   */
  pushSameHeadBytesBody(bytes: Uint8Array): number {
    bytesBodiesWritten.frames++;
    const payloadLength = bytesBodyLength(bytes);
    const at = this.#openSameHead(payloadLength);
    writeBytesBody(this.#buffer, at, bytes);
    return FRAME_HEADER + payloadLength;
  }

  /** Starts a FRAME_ENVELOPE_SAME_HEAD frame of `payloadLength` bytes; returns where its payload goes. */
  #openSameHead(payloadLength: number): number {
    this.#reserve(FRAME_HEADER + payloadLength);
    const buffer = this.#buffer;
    const at = this.#used;
    buffer[at] = FRAME_ENVELOPE_SAME_HEAD;
    writeU32BE(buffer, at + 1, payloadLength);
    this.#used = at + FRAME_HEADER + payloadLength;
    this.#count++;
    this.#seq++;
    return at + FRAME_HEADER;
  }

  /**
   * The bytes of the last head written, if `message` has the same Route and local info
   * objects: a stream repeats its routes (a connection's decoder hands back the same Routes
   * for a repeated head; Routes and local info never change), and copying its head beats
   * encoding it again (encoding was ~30 % of a TCP-to-thread stream's main thread at 64 B).
   */
  #repeatedHead(message: LocalMessage): Uint8Array | undefined {
    const last = this.#lastHead;
    if (last === undefined || last.onwardRoute !== message.onwardRoute || last.returnRoute !== message.returnRoute || last.localInfo !== message.localInfo) {
      return undefined;
    }
    if (last.bytes === undefined) {
      if (last.batch !== this.#takes) return undefined; // written in a batch already posted: encoded again, and remembered anew
      last.bytes = Uint8Array.prototype.slice.call(this.#buffer, last.start, last.end);
    }
    return last.bytes;
  }

  /** Notes the head just written at [start, end) of the buffer, for the next message with the same routes and local info. */
  #remember(message: LocalMessage, start: number, end: number): void {
    this.#lastHead =
      end - start <= MAX_REMEMBERED_HEAD
        ? { onwardRoute: message.onwardRoute, returnRoute: message.returnRoute, localInfo: message.localInfo, start, end, batch: this.#takes, bytes: undefined }
        : undefined;
  }

  /**
   * The batch so far (to be transferred: the writer no longer touches it), or undefined if
   * it has no frame and no credit to return (unless `evenEmpty`: buffers given back ride on it).
   */
  take(credit: Credit = NO_CREDIT, evenEmpty = false): ArrayBuffer | undefined {
    if (this.#count === 0) {
      if (!evenEmpty && credit.messages === 0 && credit.bytes === 0) return undefined;
      this.#reserve(0);
    }
    // A batch's first envelope always carries its head: a reader starts each batch afresh.
    this.#previousOnward = undefined;
    const header = this.#buffer;
    const used = this.#used;
    writeBatchHeader(header, used, this.#seq - this.#count, credit);
    // A batch handed over because the next frame outgrew it (a turn of large frames) gives the
    // next one a whole batch's room, exactly (a spare of that size serves it), so that the rest
    // of the turn shares it.
    const outgrown = this.#outgrown;
    this.#outgrown = false;
    if (used <= COPY_OUT_MAX && header.length <= KEEP_MAX) {
      if (outgrown) this.#capacity = LARGE_BATCH_CAPACITY;
      // A small batch leaves as an exact-size copy and the writer keeps its buffer: a round
      // trip posts one small batch each way, and a fresh 16 KiB buffer per post cost more
      // than the copy (fresh pages fault on this host; docs/architecture.md).
      const out = Buffer.allocUnsafeSlow(used);
      header.copy(out, 0, 0, used);
      this.#used = BATCH_HEADER;
      this.#count = 0;
      this.#takes++;
      return out.buffer as ArrayBuffer;
    }
    const batch = this.#buffer.buffer as ArrayBuffer;
    // Start the next batch half as large again as the largest recent one (the capacity shrinks
    // by an eighth a batch), so that a stream of like batches does not regrow, and copy, every
    // one of them. Sized exactly as the last one, a sender's turn of 1024 64 B messages and a
    // tick grew at the tick (a head that is not repeated is given room for the largest it
    // could be) into room for a 1 MiB batch, copying the ~100 KiB before it: ~10 % of the
    // main thread's time in runtime/main->thread (session 26). A batch of a 1 MiB stream keeps
    // the room it had before, a whole batch and a large frame: half as large again, it took
    // twice the page faults (TCP into a worker thread at 16 KiB, session 26). Never more than
    // that room, whatever the last batch held: after one 32 MiB message, the next batch (a
    // 64 B message, an ack) was a 32 MiB buffer, kept alive by any body still viewing it.
    this.#capacity = outgrown
      ? LARGE_BATCH_CAPACITY
      : Math.min(Math.max(INITIAL_CAPACITY, used + (used >> 1), this.#capacity - (this.#capacity >> 3)), LARGE_BATCH_CAPACITY);
    this.#buffer = EMPTY;
    this.#used = BATCH_HEADER;
    this.#count = 0;
    this.#takes++;
    return batch;
  }

  #reserve(extra: number): void {
    const needed = this.#used + extra;
    if (needed <= this.#buffer.length && this.#buffer !== EMPTY) return;
    let capacity = Math.max(this.#buffer.length * 2, this.#capacity);
    if (needed > LARGE_BATCH) {
      // Past 64 KiB, jump to the size of a whole batch: doubling would copy the batch again and
      // again. But a frame that alone takes more than 64 KiB and less than a spare gets the room
      // recent batches took, or its own: a 64 KiB message a turn, each in a batch of 1.1 MiB, had
      // both threads' collectors counting 1.1 MiB a message (the batch, then the spare given
      // back), and a thread streaming them into a connection ran at a third of the speed of
      // 65,000-byte ones. (A turn of several such frames gets a whole batch's room after the
      // first: see #outgrown.)
      const lone = this.#count === 0 && needed < SPARE_MIN_BYTES;
      capacity = Math.max(capacity, lone ? needed : LARGE_BATCH_CAPACITY);
    }
    while (capacity < needed) capacity *= 2;
    // A spare only for a batch given a spare's size (a small batch only while the room of large
    // recent ones lasts). A batch of one 256 KiB frame, given its own room, took fresh memory
    // each time, whose pages fault in, until it took spares too.
    const grown = (capacity >= SPARE_MIN_BYTES ? this.#spareOf(capacity) : undefined) ?? Buffer.allocUnsafeSlow(capacity);
    this.#buffer.copy(grown, 0, 0, this.#used);
    this.#buffer = grown;
  }

  /**
   * A batch the reader gave back, to write the next ones into: memory already paged in, where a
   * fresh buffer's pages fault in as they are first written (≈ 12 µs a page on this project's
   * hosts) and glibc returns freed batches to the system and takes them back again.
   */
  addSpare(buffer: ArrayBuffer): void {
    if (!isSpareSize(buffer)) return;
    const spares = this.#spares;
    if (spares.length < MAX_SPARES) {
      spares.push(buffer);
      return;
    }
    // Full: a larger one replaces the smallest (a stream's first batches are smaller than the rest).
    let smallest = 0;
    for (let i = 1; i < spares.length; i++) if (spares[i]!.byteLength < spares[smallest]!.byteLength) smallest = i;
    if (spares[smallest]!.byteLength < buffer.byteLength) spares[smallest] = buffer;
  }

  /** How many spares the writer holds. */
  get spares(): number {
    return this.#spares.length;
  }

  /** Drops the spares unless one was written into since the last call: an idle writer holds no memory. Returns how many are left. */
  trimSpares(): number {
    if (!this.#spareTaken) this.#spares.length = 0;
    this.#spareTaken = false;
    return this.#spares.length;
  }

  /** The smallest spare of at least `capacity` bytes, taken from the list, as a Buffer over all of it. */
  #spareOf(capacity: number): Buffer | undefined {
    const spares = this.#spares;
    let best = -1;
    for (let i = 0; i < spares.length; i++) {
      const size = spares[i]!.byteLength;
      if (size >= capacity && (best < 0 || size < spares[best]!.byteLength)) best = i;
    }
    if (best < 0) return undefined;
    const [spare] = spares.splice(best, 1);
    this.#spareTaken = true;
    batchesGivenBack.reused++;
    return Buffer.from(spare!);
  }
}

/** What one side consumed of the other's stream: returned in batch headers. */
export interface Credit {
  messages: number;
  bytes: number;
}

const NO_CREDIT: Credit = Object.freeze({ messages: 0, bytes: 0 });

/** Writes a batch's header at the start of `target`. */
export function writeBatchHeader(target: Uint8Array, used: number, firstSeq = 0, credit: Credit = NO_CREDIT): void {
  writeU32BE(target, 0, used);
  writeU32BE(target, 4, firstSeq >>> 0);
  writeU32BE(target, 8, credit.messages);
  writeU32BE(target, 12, credit.bytes);
}

/**
 * The frames of `batch` from byte `at` on, copied into a batch of their own whose first
 * frame has seq `firstSeq` (its credit was counted with `batch`): what is left to read of a
 * batch whose first frames were passed on (PortWriter.passOn).
 */
export function restOfBatch(batch: Batch, at: number, firstSeq: number): Batch {
  const length = batch.used - at;
  const bytes = new Uint8Array(BATCH_HEADER + length);
  bytes.set(new Uint8Array(batch.buffer, at, length), BATCH_HEADER);
  writeBatchHeader(bytes, bytes.length, firstSeq);
  return openBatch(bytes.buffer);
}

/** A received batch: its header, and where its frames are. */
export interface Batch {
  readonly buffer: ArrayBuffer;
  readonly view: DataView;
  readonly used: number;
  readonly firstSeq: number;
  readonly credit: Credit;
}

/** Reads and checks a batch's header; throws DecodeError for anything that is not a batch. */
export function openBatch(buffer: unknown): Batch {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < BATCH_HEADER) throw new DecodeError("A batch must be an ArrayBuffer");
  const view = new DataView(buffer);
  const used = view.getUint32(0);
  if (used > buffer.byteLength || used < BATCH_HEADER) throw new DecodeError("A batch claims more bytes than it holds");
  return { buffer, view, used, firstSeq: view.getUint32(4), credit: { messages: view.getUint32(8), bytes: view.getUint32(12) } };
}

/** Offset of a batch's first frame. */
export const FIRST_FRAME = BATCH_HEADER;

/**
 * Calls `onFrame` for the frames of `batch` from byte offset `from`, in order, with each
 * frame's seq and its size on the wire. Frame bytes are views into the batch. `onFrame`
 * returns false to stop after that frame; the offset to resume from is returned (or -1
 * when the batch is done). A malformed frame throws DecodeError.
 */
export function readBatch(
  batch: Batch,
  onFrame: (kind: number, bytes: Uint8Array, seq: number, size: number) => boolean | void,
  from = FIRST_FRAME,
  seqAt = batch.firstSeq,
): number {
  // Frame views made from the ArrayBuffer itself: subarray would read a view's buffer per frame (a call into V8's runtime).
  const { buffer, view, used } = batch;
  let at = from;
  let seq = seqAt;
  while (at < used) {
    if (at + FRAME_HEADER > used) throw new DecodeError("A batch ends inside a frame header");
    const kind = view.getUint8(at);
    const length = view.getUint32(at + 1);
    const start = at + FRAME_HEADER;
    if (start + length > used) throw new DecodeError("A frame runs past the end of its batch");
    at = start + length;
    if (onFrame(kind, new Uint8Array(buffer, start, length), seq++, FRAME_HEADER + length) === false) return at < used ? at : -1;
  }
  return -1;
}

/** Calls `onFrame` for every frame of a batch, in order. Frame bytes are views into `batch`. */
export function readFrames(batch: ArrayBuffer, onFrame: (kind: number, bytes: Uint8Array, seq: number) => void): Batch {
  const opened = openBatch(batch);
  readBatch(opened, (kind, bytes, seq) => {
    onFrame(kind, bytes, seq);
  });
  return opened;
}

/** Something a batch can be posted to: a MessagePort (either end). */
export interface BatchPort {
  postMessage(value: unknown, transferList?: readonly ArrayBuffer[]): void;
}

/** Batches up to this size are posted as copies, not transferred (see PortWriter's #post). */
export const POST_COPY_MAX = COPY_OUT_MAX;

/** Above this many bytes a batch is posted at once instead of at the end of the turn. */
const EAGER_FLUSH_BYTES = 1024 * 1024;
/**
 * ...or above this many frames: an eighth of a mailbox's default message bound. One turn of
 * the main thread can read a whole window of small messages off a socket (at 64 B, 8192 of
 * them are ~0.8 MB); posted as one batch, the thread then works while the main thread waits
 * for its credit, and the other way round. Posting every 1024 lets them overlap (TCP into a
 * worker thread at 64 B: 1.38-1.64 → 1.79-2.20 M msg/s, session 19).
 */
const EAGER_FLUSH_FRAMES = 1024;

/**
 * Frames bound for one port, posted as one transferred buffer per event-loop turn. The
 * flush runs at the end of the turn (atTurnEnd: the check phase) rather than in a
 * microtask, so that several I/O callbacks of one poll phase share a batch.
 */
export class PortWriter implements FrameSink {
  readonly #frames = new BatchWriter();
  #scheduled = false;
  #closed = false;
  /** Credit to return with the next batch. */
  readonly #credit: Credit = { messages: 0, bytes: 0 };
  /** Batches read off the other side's stream, to give back with the next post (`giveBack`). */
  readonly #givingBack: ArrayBuffer[] = [];
  /** Drops the spares of a writer that stopped using them (see `addSpare`). */
  #spareTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly port: BatchPort,
    /** Called after each post of a batch with frames in it (NodeOptions.busyPollMicros: the thread keeps polling for the answer). */
    readonly onPosted?: () => void,
  ) {}

  /** Seq of the next frame pushed. */
  get nextSeq(): number {
    return this.#frames.nextSeq;
  }

  /** Bytes pending in the batch being written. */
  get size(): number {
    return this.#frames.size;
  }

  /**
   * Returns credit to the other side: `"now"` posts it at once (a port delivers every queued
   * batch before the check phase runs, so credit left for the end of the turn would come
   * back only after ALL of them were handled, and a sender waiting on it would stop once per
   * window); `"with-next"` lets it ride on the next batch, whenever that goes, and costs no
   * post of its own. Callers hold back less than a quarter of the sender's window this way,
   * so a sender never waits on held-back credit (see docs/architecture.md, "Flow").
   */
  /** Credit added but not yet posted (callers count it when they decide whether to post now). */
  get pendingCredit(): Readonly<Credit> {
    return this.#credit;
  }

  addCredit(messages: number, bytes: number, when: "now" | "with-next"): void {
    if (this.#closed || (messages === 0 && bytes === 0)) return;
    this.#credit.messages += messages;
    this.#credit.bytes += bytes;
    if (when === "now") this.flush();
  }

  push(kind: number, head: Uint8Array, tail?: Uint8Array): number {
    if (this.#closed) return 0;
    if (this.#frames.outgrows(FRAME_HEADER + head.length + (tail ? tail.length : 0))) this.flush();
    const size = this.#frames.push(kind, head, tail);
    this.#written();
    return size;
  }

  pushEnvelope(kind: number, message: LocalMessage): number {
    if (this.#closed) return 0;
    // Posted rather than grown past 64 KiB (a copy of all of it): after a turn of small
    // batches had shrunk the room, a 1 KiB stream from TCP into a worker thread spent 13 % of
    // its main thread regrowing ~1 MiB batches (session 26).
    if (this.#frames.outgrowsWith(message)) this.flush();
    const size = this.#frames.pushEnvelope(kind, message);
    this.#written();
    return size;
  }

  /**
   * Writes the payloads of a REPEATED_HEAD_PAYLOADS run (`source[start, end)`, as a transport
   * read them) as envelopes with these routes and no local info, each as `pushEnvelope` would
   * write a message holding it, but with no message made: the first in a batch carries the
   * head, the rest are FRAME_ENVELOPE_SAME_HEAD frames. Returns the frames' total size.
   */
  pushRepeatedPayloads(onwardRoute: Route, returnRoute: Route, source: Uint8Array, start: number, end: number): number {
    let size = 0;
    forEachRepeatedPayload(source, start, end, (payloadStart, payloadEnd) => {
      size += this.#pushPayload(onwardRoute, returnRoute, source, payloadStart, payloadEnd);
    });
    return size;
  }

  #pushPayload(onwardRoute: Route, returnRoute: Route, source: Uint8Array, start: number, end: number): number {
    if (this.#closed) return 0;
    if (!this.#frames.takesSameHead(onwardRoute, returnRoute, NO_LOCAL_INFO, end - start)) {
      // The head is written (a new batch starts with it): as any message.
      return this.pushEnvelope(FRAME_ENVELOPE, LocalMessage.fromRange(onwardRoute, returnRoute, source, start, end));
    }
    const size = this.#frames.pushSameHeadPayload(source, start, end);
    this.#written();
    return size;
  }

  /**
   * Writes an envelope whose payload is the bytes body `bytes` (`encodeBody(bytes)`), as
   * `pushEnvelope` would write a message holding it, but with no message made: a send of
   * bytes that repeats the batch's last head (a stream) is its payload alone, copied once.
   * Returns the frame's size.
   */
  pushBytesBody(onwardRoute: Route, returnRoute: Route, localInfo: LocalInfo, bytes: Uint8Array): number {
    if (this.#closed) return 0;
    if (!this.#frames.takesSameHead(onwardRoute, returnRoute, localInfo, bytesBodyLength(bytes))) {
      return this.pushEnvelope(FRAME_ENVELOPE, lentBytesMessage(onwardRoute, returnRoute, bytes, localInfo));
    }
    const size = this.#frames.pushSameHeadBytesBody(bytes);
    this.#written();
    return size;
  }

  #written(): void {
    if (this.#frames.size >= EAGER_FLUSH_BYTES || this.#frames.count >= EAGER_FLUSH_FRAMES) this.flush();
    else this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    atTurnEnd(this.#onTurnEnd);
  }

  readonly #onTurnEnd = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /**
   * Posts frames [FIRST_FRAME, used) of `buffer`, a batch read off another port, as they are:
   * the next frames of this stream, after what is pending (posted first). They are given
   * their seqs and the credit to return in the header, and `buffer` is posted as it is
   * (transferred, unless small: #post). The caller vouches for the frames: envelopes, the
   * first with its head.
   */
  passOn(buffer: ArrayBuffer, used: number, frames: number): void {
    if (this.#closed) return;
    if (this.#frames.count > 0) this.flush();
    writeBatchHeader(new Uint8Array(buffer, 0, BATCH_HEADER), used, this.#frames.claimSeqs(frames), this.#credit);
    this.#credit.messages = 0;
    this.#credit.bytes = 0;
    this.#post(buffer);
    this.onPosted?.();
  }

  /** Posts what is pending now (a batch of no frame, if buffers given back wait for one). */
  flush(): void {
    if (this.#closed) return;
    const frames = this.#frames.count;
    const batch = this.#frames.take(this.#credit, this.#givingBack.length > 0);
    this.#credit.messages = 0;
    this.#credit.bytes = 0;
    if (!batch) return;
    this.#post(batch);
    // A batch of frames may bring an answer; one that only returns credit or buffers does not.
    if (frames > 0) this.onPosted?.();
  }

  /**
   * Gives `buffer`, a batch this side read off the other side's stream and holds no view
   * into, back to the other side's writer for its next batches (BatchWriter.addSpare). It
   * rides on the next batch posted, at the latest at the end of this turn.
   */
  giveBack(buffer: ArrayBuffer): void {
    if (this.#closed || this.#givingBack.length >= MAX_SPARES || !isSpareSize(buffer)) return;
    this.#givingBack.push(buffer);
    batchesGivenBack.batches++;
    this.#schedule();
  }

  /** A batch the other side gave back (`giveBack`), for this writer's next batches; dropped once they stop taking them. */
  addSpare(buffer: ArrayBuffer): void {
    if (this.#closed) return;
    this.#frames.addSpare(buffer);
    if (this.#spareTimer === undefined && this.#frames.spares > 0) this.#armSpareTimer();
  }

  #armSpareTimer(): void {
    this.#spareTimer = setTimeout(() => {
      this.#spareTimer = undefined;
      if (!this.#closed && this.#frames.trimSpares() > 0) this.#armSpareTimer();
    }, SPARE_IDLE_MS);
    this.#spareTimer.unref();
  }

  /**
   * Posts `batch` with the buffers given back since the last post (the receiver tells them
   * apart: an array). A batch is transferred, unless it is small (POST_COPY_MAX) and goes
   * alone: then it is copied. Transferring detaches the buffer, and V8's detach first waits
   * for any concurrent sweep of array buffers, which a scavenge starts. A one-hop round trip to
   * a thread-placed echo, nine alternating pairs (`rtt-cpu.js --case hw-thread`): the
   * responder's CPU per round trip lower in 8 with small batches copied (docs/architecture.md).
   */
  #post(batch: ArrayBuffer): void {
    const back = this.#givingBack;
    if (back.length === 0) {
      if (batch.byteLength <= POST_COPY_MAX) this.port.postMessage(batch);
      else this.port.postMessage(batch, [batch]);
      return;
    }
    const all = [batch, ...back];
    back.length = 0;
    this.port.postMessage(all, all);
  }

  /** Drops anything still pending; later pushes are ignored. */
  close(): void {
    this.#closed = true;
    this.#frames.take();
    this.#givingBack.length = 0;
    if (this.#spareTimer !== undefined) clearTimeout(this.#spareTimer);
    this.#spareTimer = undefined;
  }
}

/**
 * What a port delivers: a batch, or (PortWriter.giveBack) a batch followed by buffers given
 * back to this side's writer. Anything else is returned as the batch, for openBatch to refuse.
 */
export function batchAndSpares(value: unknown): { batch: unknown; spares: ArrayBuffer[] } {
  if (!Array.isArray(value)) return { batch: value, spares: NO_SPARES };
  const spares = value.slice(1).filter((spare): spare is ArrayBuffer => spare instanceof ArrayBuffer);
  return { batch: value[0], spares };
}

const NO_SPARES: ArrayBuffer[] = [];

/**
 * Whether `a` is `b` or holds the same hops: a sender that builds its route per send
 * (`route(connection, "sink")`) has equal routes in new objects, which repeat the head all
 * the same. Local info is compared as the object it is (a channel's is one per peer).
 */
function sameRoute(a: Route, b: Route | undefined): boolean {
  return a === b || (b !== undefined && a.equals(b));
}
