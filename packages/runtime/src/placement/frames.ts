import { envelopeHeadBound, writeEnvelopeHead } from "../codec/envelope.js";
import { DecodeError } from "../errors/errors.js";
import type { LocalMessage } from "../message/local-message.js";

/**
 * The byte stream between the main thread and a worker's thread (or a pool task).
 *
 * Everything bound for one port in one turn of the event loop is written into ONE
 * ArrayBuffer and transferred with one postMessage: a thread wake-up costs ~50-100 µs, so
 * it is paid per batch, never per message. A batch is
 *
 *   u32 usedBytes | frame | frame | ...        frame = u8 kind | u32 length | bytes
 *
 * (big-endian). Envelopes and control operations share the stream, so their order is kept.
 */

/** An envelope sent by the link's own worker (main side: delivered to it); no reply expected. */
export const FRAME_ENVELOPE = 1;
/** An envelope whose sender waits for the main thread's ack (or nack with the routing error). */
export const FRAME_ENVELOPE_ACK = 2;
/** A msgpack-encoded control operation (see protocol.ts). */
export const FRAME_OP = 3;

const FRAME_HEADER = 5;
const BATCH_HEADER = 4;
const INITIAL_CAPACITY = 16 * 1024;
const EMPTY = Buffer.alloc(0);

/** Where frames are written: a FrameWriter, or a PortWriter that posts them. */
export interface FrameSink {
  /** Writes one frame whose bytes are `head` followed by `tail`. */
  push(kind: number, head: Uint8Array, tail?: Uint8Array): void;
  /** Writes one frame holding `message` as a local envelope, encoded in place. */
  pushEnvelope(kind: number, message: LocalMessage): void;
}

/**
 * Accumulates frames in one growable buffer; `take` hands over the buffer to transfer.
 *
 * Envelopes are encoded straight into the batch: allocating even a small ArrayBuffer per
 * message made transferring the batch cost ~0.5 ms (V8's detach waits for its sweep of
 * array buffers), against ~20 µs without them. Buffers are allocated without zeroing; a
 * reader never looks past `usedBytes`.
 */
export class FrameWriter implements FrameSink {
  /** Empty until the first frame after a `take`: a writer that is not written again allocates nothing. */
  #buffer: Buffer = EMPTY;
  #capacity: number;
  #used = BATCH_HEADER;
  #count = 0;

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

  push(kind: number, head: Uint8Array, tail?: Uint8Array): void {
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
  }

  pushEnvelope(kind: number, message: LocalMessage): void {
    const payload = message.payload;
    this.#reserve(FRAME_HEADER + envelopeHeadBound(message, "local") + payload.length);
    const buffer = this.#buffer;
    const at = this.#used;
    const start = at + FRAME_HEADER;
    const headEnd = writeEnvelopeHead(buffer, start, message, "local");
    buffer.set(payload, headEnd);
    const end = headEnd + payload.length;
    buffer[at] = kind;
    buffer.writeUInt32BE(end - start, at + 1);
    this.#used = end;
    this.#count++;
  }

  /** The batch so far (to be transferred: the writer no longer touches it), or undefined if empty. */
  take(): ArrayBuffer | undefined {
    if (this.#count === 0) return undefined;
    this.#buffer.writeUInt32BE(this.#used, 0);
    const batch = this.#buffer.buffer as ArrayBuffer;
    // The next batch likely resembles this one: start at its size (bounded) to avoid regrowing.
    this.#capacity = Math.min(Math.max(INITIAL_CAPACITY, this.#used), 4 * 1024 * 1024);
    this.#buffer = EMPTY;
    this.#used = BATCH_HEADER;
    this.#count = 0;
    return batch;
  }

  #reserve(extra: number): void {
    const needed = this.#used + extra;
    if (needed <= this.#buffer.length) return;
    let capacity = Math.max(this.#buffer.length * 2, this.#capacity);
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafeSlow(capacity);
    this.#buffer.copy(grown, 0, 0, this.#used);
    this.#buffer = grown;
  }
}

/** Calls `onFrame` for every frame of a batch, in order. Frame bytes are views into `batch`. */
export function readFrames(batch: ArrayBuffer, onFrame: (kind: number, bytes: Uint8Array) => void): void {
  if (!(batch instanceof ArrayBuffer) || batch.byteLength < BATCH_HEADER) throw new DecodeError("A batch must be an ArrayBuffer");
  const view = new DataView(batch);
  const used = view.getUint32(0);
  if (used > batch.byteLength) throw new DecodeError("A batch claims more bytes than it holds");
  const bytes = new Uint8Array(batch, 0, used);
  let at = BATCH_HEADER;
  while (at < used) {
    if (at + FRAME_HEADER > used) throw new DecodeError("A batch ends inside a frame header");
    const kind = view.getUint8(at);
    const length = view.getUint32(at + 1);
    const start = at + FRAME_HEADER;
    if (start + length > used) throw new DecodeError("A frame runs past the end of its batch");
    onFrame(kind, bytes.subarray(start, start + length));
    at = start + length;
  }
}

/** Something a batch can be posted to: a MessagePort (either end). */
export interface BatchPort {
  postMessage(value: unknown, transferList?: readonly ArrayBuffer[]): void;
}

/** Above this many bytes a batch is posted at once instead of at the end of the turn. */
const EAGER_FLUSH_BYTES = 1024 * 1024;

/**
 * Frames bound for one port, posted as one transferred buffer per event-loop turn. The
 * flush runs in setImmediate (the check phase) rather than a microtask, so that several
 * I/O callbacks of one poll phase share a batch.
 */
export class PortWriter implements FrameSink {
  readonly #frames = new FrameWriter();
  #scheduled = false;
  #closed = false;

  constructor(readonly port: BatchPort) {}

  push(kind: number, head: Uint8Array, tail?: Uint8Array): void {
    if (this.#closed) return;
    this.#frames.push(kind, head, tail);
    this.#written();
  }

  pushEnvelope(kind: number, message: LocalMessage): void {
    if (this.#closed) return;
    this.#frames.pushEnvelope(kind, message);
    this.#written();
  }

  #written(): void {
    if (this.#frames.size >= EAGER_FLUSH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#onImmediate);
    }
  }

  readonly #onImmediate = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Posts what is pending now. */
  flush(): void {
    const batch = this.#frames.take();
    if (batch && !this.#closed) this.port.postMessage(batch, [batch]);
  }

  /** Drops anything still pending; later pushes are ignored. */
  close(): void {
    this.#closed = true;
    this.#frames.take();
  }
}
