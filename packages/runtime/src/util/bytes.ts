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
 * TypedArray#set (through a plain Uint8Array view for a range: Buffer#subarray and #copy cost
 * more) for more than 32 bytes, a loop for fewer: on Node 20 a loop costs ~1.3 ns a byte and
 * a view plus set ~50 ns whatever the size.
 */
export function copyBytes(target: Uint8Array, at: number, source: Uint8Array, start = 0, end = source.length): number {
  const n = end - start;
  if (n > 32) target.set(start === 0 && end === source.length ? source : new Uint8Array(source.buffer, source.byteOffset + start, n), at);
  else for (let i = start; i < end; i++) target[at + i - start] = source[i]!;
  return at + n;
}
