/** Small byte helpers shared by the package; none of them is on a per-message hot path. */

const HEX_PATTERN = /^(?:[0-9a-f]{2})*$/i;

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Bytes of an even-length hex string, or undefined if it is not hex. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (!HEX_PATTERN.test(hex)) return undefined;
  return asUint8Array(Buffer.from(hex, "hex"));
}

/** One new array holding every part in order (handshake-time only; hot paths write in place). */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Constant-time equality for equal-length inputs; false for different lengths. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * A plain Uint8Array view of a Buffer's bytes (no copy). Callers compare and store
 * Uint8Array; a Buffer's different `slice` semantics and `toJSON` must not leak out.
 */
export function asUint8Array(buffer: Uint8Array): Uint8Array {
  return buffer.constructor === Uint8Array ? buffer : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Overwrites secret bytes we own. */
export function wipe(bytes: Uint8Array | null | undefined): void {
  bytes?.fill(0);
}

/** Below this size zero-filled allocation measured faster than allocUnsafeSlow. */
const UNFILLED_ALLOCATION_THRESHOLD = 4096;

/**
 * A new array of exactly `length` bytes that the caller will overwrite entirely before
 * anyone reads it. Large arrays skip the zero-fill; allocUnsafeSlow (not allocUnsafe)
 * so the result never shares Node's Buffer pool, whose slab a postMessage would copy.
 */
export function allocateForOverwrite(length: number): Uint8Array {
  if (length < UNFILLED_ALLOCATION_THRESHOLD) return new Uint8Array(length);
  const buffer = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
}
