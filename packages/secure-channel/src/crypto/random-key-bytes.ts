import { randomFillSync } from "node:crypto";

// node:crypto's CSPRNG costs ≈ 5-12 µs per call whatever its size (a job object and a call
// into OpenSSL), and a handshake draws an ephemeral key on each side. So keys are cut from a
// 4 KiB block drawn at once, and every byte handed out is wiped from the block at once: what
// stays in memory is randomness no key has used yet (as the CSPRNG's own state, which
// predicts it anyway), never a key in use.
const BLOCK_BYTES = 4096;
const block = new Uint8Array(BLOCK_BYTES);
let offset = BLOCK_BYTES;

/** Fills `out` (at most 4 KiB) with bytes from node:crypto's CSPRNG, as randomFillSync(out) would. */
export function fillRandomKeyBytes(out: Uint8Array): void {
  const length = out.length;
  if (length > BLOCK_BYTES) {
    randomFillSync(out);
    return;
  }
  if (offset + length > BLOCK_BYTES) {
    randomFillSync(block);
    offset = 0;
  }
  out.set(block.subarray(offset, offset + length));
  block.fill(0, offset, offset + length);
  offset += length;
}

/** @internal for tests: the block keys are cut from. */
export function randomKeyBlockForTests(): Uint8Array {
  return block;
}
