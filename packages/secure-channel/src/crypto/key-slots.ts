/**
 * 32-byte slots for AEAD keys, carved from shared off-heap buffers.
 *
 * A key in an ArrayBuffer of its own costs ≈ 330 B of resident memory beyond its 32 bytes
 * (V8's JSArrayBuffer, its backing-store record and extension, and their malloc blocks),
 * and every channel end holds two keys. A slot is a number: its owner keeps no view of it (a
 * Uint8Array is 96 B of heap, two a channel end), and `lendKey` copies the key into one
 * scratch buffer for the call that needs it as bytes. Slots and the scratch stay off the V8
 * heap as before, so no garbage collection moves a key and leaves a copy behind.
 *
 * A slot is zeroed when it is given back. An owner collected without giving its slot back
 * (an AEAD never disposed) has it zeroed and reused then, through a FinalizationRegistry.
 */
export const KEY_SLOT_BYTES = 32;
const SLOTS_PER_SLAB = 128;
const WORDS_PER_SLOT = KEY_SLOT_BYTES / 4;

/** Every slab, as 32-bit words (slot s is words [8 × (s mod 128), + 8) of slab s / 128): off-heap buffers. */
const slabs: Uint32Array[] = [];
/** Slots given back, zeroed, for the next keys. */
const free: number[] = [];
let nextSlot = 0;

/**
 * Where `lendKey` puts a key for one call: off the heap, as the slots, and zeroed again by
 * `returnKey` as soon as that call has copied it (createCipheriv copies the key into its context).
 */
const scratch = new Uint8Array(new ArrayBuffer(KEY_SLOT_BYTES));
const scratchWords = new Uint32Array(scratch.buffer);

const collected = new FinalizationRegistry<number>((slot) => giveBack(slot));

/** A zeroed 32-byte slot for the key of `owner`; comes back with `releaseKeySlot` (or when `owner` is collected). */
export function takeKeySlot(owner: object): number {
  const slot = free.pop() ?? carve();
  collected.register(owner, slot, owner);
  return slot;
}

/** Zeroes `owner`'s `slot` and keeps it for the next key; the owner must not use it again. */
export function releaseKeySlot(owner: object, slot: number): void {
  collected.unregister(owner);
  giveBack(slot);
}

/** Writes the 32 bytes of `key` into `slot`. */
export function writeKey(slot: number, key: Uint8Array): void {
  keySlotView(slot).set(key.subarray(0, KEY_SLOT_BYTES));
}

/**
 * The key in `slot`, copied into the scratch for one synchronous call that copies it in turn
 * (createCipheriv); `returnKey` zeroes it right after, in a finally. Eight word copies.
 */
export function lendKey(slot: number): Uint8Array {
  const words = slabs[(slot / SLOTS_PER_SLAB) | 0]!;
  const at = (slot % SLOTS_PER_SLAB) * WORDS_PER_SLOT;
  for (let i = 0; i < WORDS_PER_SLOT; i++) scratchWords[i] = words[at + i]!;
  return scratch;
}

/** Zeroes the scratch `lendKey` filled. */
export function returnKey(): void {
  scratchWords.fill(0);
}

/** A view of `slot`'s bytes, in place (writeKey; tests). */
export function keySlotView(slot: number): Uint8Array {
  const words = slabs[(slot / SLOTS_PER_SLAB) | 0]!;
  return new Uint8Array(words.buffer, (slot % SLOTS_PER_SLAB) * KEY_SLOT_BYTES, KEY_SLOT_BYTES);
}

function giveBack(slot: number): void {
  const words = slabs[(slot / SLOTS_PER_SLAB) | 0]!;
  const at = (slot % SLOTS_PER_SLAB) * WORDS_PER_SLOT;
  words.fill(0, at, at + WORDS_PER_SLOT);
  free.push(slot);
}

function carve(): number {
  if (nextSlot === slabs.length * SLOTS_PER_SLAB) slabs.push(new Uint32Array(new ArrayBuffer(KEY_SLOT_BYTES * SLOTS_PER_SLAB)));
  return nextSlot++;
}
