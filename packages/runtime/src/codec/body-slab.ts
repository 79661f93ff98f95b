/**
 * Where encoded bytes bodies up to SLAB_MAX_BODY bytes are written: views carved one after
 * another from a 64 KiB slab, a fresh slab when one is full. Node's Buffer pool does the same
 * with 8 KiB, so a 1 KiB body took a fresh ArrayBuffer every seven sends, and a fresh
 * ArrayBuffer costs microseconds on this kind of host (docs/architecture.md, "Three leads
 * that did not pan out"): 0.5-0.6 µs per 1 KiB body against 0.15 µs from the slab (a loop of
 * 2 M, same minute). msgpackr writes its other bodies the same way, into its own buffer.
 *
 * A view keeps its slab alive, as a view of Node's pool keeps 8 KiB: a worker placed "main"
 * that keeps a received bytes body for long should `slice()` it.
 */
const SLAB_BYTES = 64 * 1024;
/** Larger bodies get a buffer of their own (Node's pool stops at 4 KiB too). */
export const SLAB_MAX_BODY = 4 * 1024;

let slab: Buffer = Buffer.alloc(0);
let used = 0;

/** `length` uninitialised bytes for an encoded body: the caller writes every one of them. */
export function allocBodyBytes(length: number): Buffer {
  if (length > SLAB_MAX_BODY) return Buffer.allocUnsafeSlow(length);
  if (used + length > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    used = 0;
  }
  const out = slab.subarray(used, used + length);
  // 8-byte aligned, as Node's pool: a typed array over a body at its start stays possible.
  used = (used + length + 7) & ~7;
  return out;
}
