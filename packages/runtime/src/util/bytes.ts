/**
 * Byte writers for the paths that build frames and records message by message (the TCP frame
 * writer, a secure channel's MESSAGES records, LocalMessage's payload copies).
 */

/** Writes `value` (a u32) big-endian at `at`, without Buffer#writeUInt32BE's argument checks; returns the offset after it. */
export function writeU32BE(target: Uint8Array, at: number, value: number): number {
  target[at] = value >>> 24;
  target[at + 1] = value >>> 16;
  target[at + 2] = value >>> 8;
  target[at + 3] = value;
  return at + 4;
}

/** Reads a u32 big-endian at `at`, without Buffer#readUInt32BE's bounds checks (the caller checked them). */
export function readU32BE(source: Uint8Array, at: number): number {
  return ((source[at]! << 24) | (source[at + 1]! << 16) | (source[at + 2]! << 8) | source[at + 3]!) >>> 0;
}

/**
 * Copies bytes [start, end) of `source` to `at` in `target`; returns the offset after them.
 * TypedArray#set (through a view from `viewOf` for a range) for more than 32 bytes, a loop
 * for fewer: on Node 20 a loop costs ~1.3 ns a byte, set ~17 ns whatever the size.
 */
export function copyBytes(target: Uint8Array, at: number, source: Uint8Array, start = 0, end = source.length): number {
  const n = end - start;
  if (n > 32) target.set(start === 0 && end === source.length ? source : viewOf(source, start, n), at);
  else for (let i = start; i < end; i++) target[at + i - start] = source[i]!;
  return at + n;
}

/**
 * Copies source[start, start + length) to the start of `kept`, in its place a larger buffer if it
 * is too short (rounded up to 64 bytes, so that heads of a few lengths share one; at most
 * `max`); returns the buffer that holds them. What a decoder keeps of the head it decoded
 * last: one buffer for every head. A loop: a head is ~40-90 bytes, and set() would need a view
 * object per call.
 */
export function keepCopy(kept: Uint8Array, source: Uint8Array, start: number, length: number, max: number): Uint8Array {
  const into = kept.length >= length ? kept : new Uint8Array(Math.min(max, (length + 63) & ~63));
  for (let i = 0; i < length; i++) into[i] = source[start + i]!;
  return into;
}

type ViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Buffer;

/**
 * The constructor behind `Buffer#subarray` (Node's FastBuffer, which Buffer names as its
 * species), checked once; Buffer.from's view, which costs more, if a Node lacks it.
 */
const BufferView: ViewConstructor = (() => {
  const species = (Buffer as unknown as { [Symbol.species]?: ViewConstructor })[Symbol.species];
  try {
    const probe = species && new species(new ArrayBuffer(2), 1, 1);
    if (probe && Buffer.isBuffer(probe) && probe.byteOffset === 1 && probe.length === 1) return species!;
  } catch {
    // not a view constructor: the fallback below
  }
  return function (buffer: ArrayBufferLike, byteOffset: number, length: number) {
    return Buffer.from(buffer, byteOffset, length);
  } as unknown as ViewConstructor;
})();

/** A source at most this large is remembered by `viewOf` (one per thread): holding on to a larger one would be a waste. */
const REMEMBERED_SOURCE_BYTES = 4 * 1024 * 1024;
let lastSource: Uint8Array | undefined;
let lastBuffer: ArrayBufferLike = new ArrayBuffer(0);
let lastOffset = 0;

/**
 * A Buffer over `source[start, start + length)`, not copied, as `Buffer#subarray` makes it
 * (the caller checked the range), for less than half its cost: reading a typed array's
 * `buffer` is a call into V8's C++ runtime (~25 ns of a subarray's ~50 on Node 20), so the
 * last source's ArrayBuffer is remembered. Views come in runs from one source: the messages
 * of one socket read, of one record, of one batch.
 */
export function viewOf(source: Uint8Array, start: number, length: number): Buffer {
  if (source !== lastSource) {
    const buffer = source.buffer;
    const offset = source.byteOffset;
    if (buffer.byteLength > REMEMBERED_SOURCE_BYTES) return new BufferView(buffer, offset + start, length);
    lastSource = source;
    lastBuffer = buffer;
    lastOffset = offset;
  }
  return new BufferView(lastBuffer, lastOffset + start, length);
}
