// Envelopes as Hopwire's router moves them between threads: msgpack [onwardRoute,
// returnRoute, payload], each length-prefixed (u32 BE) into one ArrayBuffer that is
// transferred, not copied, so a batch of envelopes costs one cross-thread wake-up.
import { Packr } from "msgpackr";

export type Envelope = [onwardRoute: string[], returnRoute: string[], payload: Uint8Array];

/** A transferable batch: `used` bytes of `buffer` hold `count` length-prefixed envelopes. */
export interface EnvelopeBatch {
  buffer: ArrayBuffer;
  used: number;
  count: number;
}

export class EnvelopeBatchBuilder {
  // useRecords: false keeps the wire plain msgpack, decodable by any peer.
  private readonly packr = new Packr({ useRecords: false });
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private used = 0;
  private count = 0;

  /** Packs one envelope and copies it in at once: pack() returns a view into msgpackr's shared buffer. */
  add(envelope: Envelope): void {
    this.addFrame(this.packr.pack(envelope));
  }

  /** Copies `payload` in behind its u32 length (an envelope's bytes, or a bare payload: the "frames" format). */
  addFrame(payload: Uint8Array): void {
    this.reserve(4 + payload.length);
    this.view.setUint32(this.used, payload.length);
    this.buf.set(payload, this.used + 4);
    this.used += 4 + payload.length;
    this.count++;
  }

  /** Hands the batch over; the builder starts a fresh buffer sized like this one. */
  take(): EnvelopeBatch {
    const batch = { buffer: this.buf.buffer as ArrayBuffer, used: this.used, count: this.count };
    this.buf = new Uint8Array(Math.max(1024, this.used));
    this.view = new DataView(this.buf.buffer);
    this.used = 0;
    this.count = 0;
    return batch;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(2 * this.buf.length, this.used + n, 1024));
    grown.set(this.buf.subarray(0, this.used));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }
}

/** Calls `onFrame` with a view of each frame of a batch of the "frames" format. */
export function forEachFrame(batch: EnvelopeBatch, onFrame: (payload: Uint8Array) => void): void {
  const view = new DataView(batch.buffer);
  let off = 0;
  while (off < batch.used) {
    const len = view.getUint32(off);
    onFrame(new Uint8Array(batch.buffer, off + 4, len));
    off += 4 + len;
  }
}

/** Calls `onEnvelope` for each envelope of a received batch. */
export function forEachEnvelope(batch: EnvelopeBatch, decode: (bytes: Buffer) => unknown, onEnvelope: (e: Envelope) => void): void {
  const view = new DataView(batch.buffer);
  let off = 0;
  while (off < batch.used) {
    const len = view.getUint32(off);
    onEnvelope(decode(Buffer.from(batch.buffer, off + 4, len)) as Envelope);
    off += 4 + len;
  }
}
