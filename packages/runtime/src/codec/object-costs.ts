/**
 * What V8 allocates while msgpackr builds an object key by key (`object[key] = value`), as the
 * body scan (decoded-size.ts) counts it: a key that is an array index lives in the object's
 * elements, any other in its properties, described by a hidden class. Rules from V8's
 * js-objects.cc (ShouldConvertToSlowElements, ShouldConvertToFastElements, NewElementsCapacity)
 * and transitions.h; byte sizes for 64-bit V8 without pointer compression, as Node 20 runs.
 * An adversarial review (session 55) found each of these spent by a crafted body: elements
 * grown to an index (≈ 3,500 bytes of heap a byte of msgpack), elements turned from an array
 * into a dictionary and back on every key (355 KB held a thread for 20 s), keys in ever new
 * orders (5× the heap counted for them).
 */

/** A backing store's header; each element 8. */
export const ELEMENTS_HEADER = 16;
/** An entry of a dictionary of elements or properties (key, value, details, and slack). */
export const DICTIONARY_ENTRY = 64;
/** A new hidden class (a Map and its place among its parent's transitions). */
export const HIDDEN_CLASS = 96;
/** A hidden class's descriptors: a copy for each new class, 24 bytes a key. */
export const DESCRIPTOR = 24;
/** V8 links at most this many classes from one class; past them, each object's classes are its own. */
export const MAX_TRANSITIONS = 1536;

/** V8 grows an array of elements at most this far past its capacity (kMaxGap)... */
const MAX_GAP = 1024;
/** ...and keeps one this long for a young object whatever its use (kMaxUncheckedFastElementsLength). */
const MAX_UNCHECKED_FAST = 5000;

/** An object's elements as the scan follows them: an array of `capacity`, or a dictionary (capacity -1). */
export interface Elements {
  capacity: number;
  /** Index keys so far, a repeated one counted again: at least what V8 holds. */
  count: number;
  /** The largest index so far, -1 before the first. */
  maxIndex: number;
  /**
   * A key came more than 1,024 past every earlier one since the last turn back was counted: V8's
   * elements may be a dictionary now, whatever `capacity` says (see addIndexKey).
   */
  mayBeDictionary: boolean;
}

/**
 * What adding the index key `index` to `elements` allocates (it updates `elements`): a grown
 * array, an array turned into a dictionary (all its entries), a dictionary entry, or a dictionary
 * turned back into an array (all of it). Every turn is counted: they are what made the 20 s.
 */
export function addIndexKey(elements: Elements, index: number): number {
  const count = ++elements.count;
  const previousMax = elements.maxIndex;
  const maxIndex = Math.max(previousMax, index);
  elements.maxIndex = maxIndex;
  return turnBack(elements, index, previousMax, count, maxIndex) + follow(elements, index, count, maxIndex);
}

/**
 * A turn back into an array that V8 may make whatever the model's own state says. The model's
 * counts and capacities are bounds, not V8's (a repeated key counts twice; V8 checks old objects
 * at 500 elements, young ones at 5,000), so its state can differ from V8's: a third review kept
 * it an array while V8 turned its elements into a dictionary and back 974 times (49 s for 400 KB).
 * V8 turns them into a dictionary on a gap only at a key more than MAX_GAP past every earlier one,
 * and back, allocating maxIndex + 1, once dense enough: counted at the first key it could be.
 */
function turnBack(elements: Elements, index: number, previousMax: number, count: number, maxIndex: number): number {
  if (previousMax >= 0 && index - previousMax > MAX_GAP) {
    elements.mayBeDictionary = true;
    return 0;
  }
  if (!elements.mayBeDictionary || 6 * dictionaryCapacity(count) < maxIndex + 1) return 0;
  elements.mayBeDictionary = false;
  return ELEMENTS_HEADER + 8 * (maxIndex + 1) + DICTIONARY_ENTRY * count;
}

/** The model's own state: V8's rules applied to its counts. */
function follow(elements: Elements, index: number, count: number, maxIndex: number): number {
  const capacity = elements.capacity;
  if (capacity < 0) {
    // Back to an array when a dictionary would save less than half (ShouldConvertToFastElements).
    if (6 * dictionaryCapacity(count) < maxIndex + 1) return DICTIONARY_ENTRY;
    elements.capacity = maxIndex + 1;
    return ELEMENTS_HEADER + 8 * elements.capacity;
  }
  if (index < capacity) return 0;
  const grown = index + 1 + ((index + 1) >> 1) + 16;
  if (index - capacity >= MAX_GAP || (grown > MAX_UNCHECKED_FAST && 9 * dictionaryCapacity(count) <= grown)) {
    elements.capacity = -1;
    return DICTIONARY_ENTRY * count;
  }
  elements.capacity = grown;
  return ELEMENTS_HEADER + 8 * grown;
}

/** V8's dictionary capacity for `n` entries (a power of two, at least 1.5 n; here with one more doubling of slack, an upper bound). */
function dictionaryCapacity(n: number): number {
  let capacity = 8;
  while (capacity < 1.5 * n + 2) capacity *= 2;
  return capacity;
}

/**
 * What a new hidden class sequence of `keys` named keys costs: a class for each prefix and a
 * copy of its descriptors (an upper bound: objects whose keys share a prefix share its classes).
 */
export function shapeCost(keys: number): number {
  return keys * HIDDEN_CLASS + (DESCRIPTOR * keys * (keys + 1)) / 2;
}

/** The array index a key string spells ("123": no sign, no leading zero, at most 10 digits, below 2^32 − 1), or -1. */
export function canonicalIndex(bytes: Uint8Array, at: number, n: number): number {
  if (n === 0 || n > 10 || at + n > bytes.length || (n > 1 && bytes[at] === 0x30)) return -1;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[at + i]!;
    if (c < 0x30 || c > 0x39) return -1;
    value = value * 10 + (c - 0x30);
  }
  return value < 0xffff_ffff ? value : -1;
}

/** FNV-1a of bytes[at, at + n), mixed into `hash`: a key's part of its object's key sequence (a collision only merges two sequences). */
export function mixBytes(hash: number, bytes: Uint8Array, at: number, n: number): number {
  const end = Math.min(at + n, bytes.length);
  hash = Math.imul(hash ^ n, 0x01000193);
  for (let i = at; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash;
}
