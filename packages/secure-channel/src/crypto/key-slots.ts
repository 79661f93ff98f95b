/**
 * 32-byte slots for AEAD keys, carved from shared off-heap buffers.
 *
 * A key in an ArrayBuffer of its own costs ≈ 330 B of resident memory beyond its 32 bytes
 * (V8's JSArrayBuffer, its backing-store record and extension, and their malloc blocks),
 * and every channel end holds two keys. A slot costs only its view. Slots stay off the V8
 * heap as before, so no garbage collection moves a key and leaves a copy behind.
 *
 * A slot is zeroed when it is given back. An owner collected without giving its slot back
 * (an AEAD never disposed) has it zeroed and reused then, through a FinalizationRegistry.
 */
export const KEY_SLOT_BYTES = 32;
const SLOTS_PER_SLAB = 128;

/** Slots given back, zeroed, for the next keys. */
const free: Uint8Array[] = [];
let slab: ArrayBuffer | undefined;
let nextOffset = 0;

const collected = new FinalizationRegistry<Uint8Array>((slot) => giveBack(slot));

/** A zeroed 32-byte slot for the key of `owner`; comes back with `releaseKeySlot` (or when `owner` is collected). */
export function takeKeySlot(owner: object): Uint8Array {
  const slot = free.pop() ?? carve();
  collected.register(owner, slot, owner);
  return slot;
}

/** Zeroes `owner`'s `slot` and keeps it for the next key; the owner must not use it again. */
export function releaseKeySlot(owner: object, slot: Uint8Array): void {
  collected.unregister(owner);
  giveBack(slot);
}

function giveBack(slot: Uint8Array): void {
  slot.fill(0);
  free.push(slot);
}

function carve(): Uint8Array {
  if (slab === undefined || nextOffset === slab.byteLength) {
    slab = new ArrayBuffer(KEY_SLOT_BYTES * SLOTS_PER_SLAB);
    nextOffset = 0;
  }
  const slot = new Uint8Array(slab, nextOffset, KEY_SLOT_BYTES);
  nextOffset += KEY_SLOT_BYTES;
  return slot;
}
