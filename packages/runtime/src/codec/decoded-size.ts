import { randomBytes } from "node:crypto";
import { addIndexKey, canonicalIndex, MAX_TRANSITIONS, mixBytes, shapeCost, type Elements } from "./object-costs.js";
import { ADDRESS_EXTENSION, ROUTE_EXTENSION } from "./packr.js";
import { INVALID_NAME, nameOfConstant, nameOfNumber, nameOfString } from "./property-names.js";

/**
 * What decoding a msgpack body would cost in heap, estimated from its structure before it
 * is decoded, and whether it is a body at all: only what encodeBody writes is let through to
 * msgpackr. A few bytes of msgpack can decode to a great deal more (two adversarial reviews,
 * session 55):
 * - an array of empty maps, one byte each, to ≈ 64 bytes of heap a byte (16 MiB: 1 GiB, 4 s);
 * - keys that are array indices, or named keys in ever new orders, to what V8 allocates for
 *   an object's elements and hidden classes (object-costs.ts): up to ≈ 3,500 bytes of heap a
 *   byte, or 20 s of a thread for 355 KB;
 * - map keys of 16,384 characters or more, which V8 hashes by their length alone: they all
 *   collide in its string table (seconds, and for later bodies too);
 * - msgpackr's own extensions, which it decodes whatever its options say: records, bundled
 *   strings, Error, Set, RegExp, typed arrays (an Error costs a stack trace: ≈ 2 s a MiB),
 *   and 0xc1, which it decodes to one shared, mutable object.
 * So the scan reads every header (strings and bins are skipped by their length, keys hashed),
 * follows the containers to know each map's keys, refuses what encodeBody does not write and
 * any byte after the value, and stops as soon as the estimate passes the limit.
 *
 * The model (bytes, 64-bit V8): every value takes a slot of 8 in its parent; a map is an
 * object of 56 (96 more per entry past 16 entries, where V8 goes to a dictionary), an array
 * 48, a string 24 plus two bytes a character at most, a bin a Buffer view of 96 (msgpackr
 * does not copy it), a float or a wide integer a heap number of 16, a Date 112, an Address or
 * Route extension 64 plus the value it carries; then what object-costs.ts says the keys cost.
 */

/** Containers nested deeper than this are refused (msgpackr's own recursion gives out at 2,000-3,000 here). */
export const MAX_DEPTH = 4096;

/** The longest map key taken: V8 hashes a string of 16,384 characters or more by its length alone (and a character takes at least a byte). */
export const MAX_KEY_BYTES = 16383;

/** Why a scan refused a body outright: it is not one encodeBody writes, or not one msgpackr can decode. */
export interface Refusal {
  /** What the body does, to follow "The body " in an error's message. */
  readonly why: string;
}

/** Bytes after the value: msgpackr would decode the value, then walk all of it again to say so. */
const TRAILING: Refusal = { why: "has bytes after its value" };
const DEEP: Refusal = { why: `nests containers more than ${MAX_DEPTH} deep` };
const LONG_KEY: Refusal = { why: `has a map key longer than ${MAX_KEY_BYTES} bytes` };
const BAD_KEY: Refusal = { why: "has a map key that is not valid UTF-8" };
/** encodeBody never writes one property twice in a map (property-names.ts). */
const REPEATED_KEY: Refusal = { why: "has a map that names one property twice" };
/** The named keys of a map whose repeats are looked for: past 19, V8 keeps them in a dictionary, where a repeat costs nothing more. */
const MAX_TRACKED_NAMES = 20;
/** msgpackr decodes 0xc1 to one shared, mutable object: what a handler set on it would show in later bodies. */
const NEVER_USED: Refusal = { why: "holds the byte 0xc1, which msgpack never uses" };
const NO_BYTES = new Uint8Array(0);


const SLOT = 8;
const MAP = 56;
const MAP_FAST_ENTRIES = 16;
const MAP_DICTIONARY_ENTRY = 96;
const ARRAY = 48;
const STRING = 24;
const BIN = 96;
const NUMBER = 16;
const EXTENSION = 64;
const DATE = 112;
/** Distinct key sequences a scan remembers (its own memory); past them every object's is counted new. */
const MAX_SHAPES = 1 << 16;
/**
 * The seed of a key sequence's hash, random per process: with a known one, a peer could choose
 * distinct key sequences that hash alike, each then counted as one already seen.
 */
const SHAPE_SEED = randomBytes(4).readInt32BE(0);

/** The extensions encodeBody writes: undefined (fixext1 0), Date (type −1), Address and Route. */
const UNDEFINED_EXTENSION = 0x00;
const DATE_EXTENSION = 0xff;

/**
 * The heap bytes decoding `bytes` (one msgpack value) would take, counted until it passes
 * `limit` (the count returned is then over it: the caller refuses the body), or why the body
 * is refused. Truncated bytes count as far as they go: msgpackr refuses them.
 */
export function estimateDecodedBytes(bytes: Uint8Array, limit: number): number | Refusal {
  return scan.run(bytes, limit);
}

/**
 * One pass over a body: `at` moves header to header, the stack holds the containers it is
 * inside. One scan serves every body of its thread, its stack made once.
 */
class Scan {
  bytes: Uint8Array = NO_BYTES;
  limit = 0;
  at = 0;
  cost = 0;
  /** Open containers; the stack's entries [0, depth) are theirs (entry 0: the body itself, one value). */
  depth = 0;
  /** Per open container: values still to read. */
  readonly #left = new Float64Array(MAX_DEPTH + 2);
  /** Per open container: 1 for a map, 0 for an array. */
  readonly #isMap = new Uint8Array(MAX_DEPTH + 2);
  /** Per open map: 1 when its next value is a key. */
  readonly #keyNext = new Uint8Array(MAX_DEPTH + 2);
  /** Per open map: its elements (object-costs.ts), made as its first index key comes. */
  readonly #elements: (Elements | undefined)[] = new Array(MAX_DEPTH + 2).fill(undefined);
  /** Per open map: its named keys so far, and the hash of their sequence. */
  readonly #named = new Int32Array(MAX_DEPTH + 2);
  readonly #sequence = new Int32Array(MAX_DEPTH + 2);
  /** Per open map: where its named keys' names start in #names (they end at #namesTop while it is the innermost). */
  readonly #namesFrom = new Int32Array(MAX_DEPTH + 2);
  /** The names of the open maps' first named keys, innermost last (property-names.ts). */
  readonly #names: number[] = [];
  #namesTop = 0;
  /** Key sequences seen in this body: each new one makes V8 hidden classes (see #closeMap). */
  readonly #shapes = new Set<number>();

  run(bytes: Uint8Array, limit: number): number | Refusal {
    this.bytes = bytes;
    this.limit = limit;
    this.at = 0;
    this.cost = 0;
    this.depth = 0;
    this.#namesTop = 0;
    this.#open(1, false);
    try {
      return this.#walk();
    } finally {
      this.bytes = NO_BYTES; // not kept alive by the scan
      if (this.#shapes.size > 0) this.#shapes.clear();
      this.#elements.fill(undefined, 0, this.depth + 1);
    }
  }

  #walk(): number | Refusal {
    const end = this.bytes.length;
    const left = this.#left;
    const isMap = this.#isMap;
    const keyNext = this.#keyNext;
    while (this.depth > 0 && this.at < end && this.cost <= this.limit) {
      const top = this.depth - 1;
      left[top]!--;
      const isKey = keyNext[top] === 1;
      if (isMap[top] === 1) keyNext[top] = isKey ? 0 : 1;
      const refused = this.#value(isKey);
      if (refused !== undefined) return refused;
      while (this.depth > 0 && left[this.depth - 1] === 0) this.#close();
      // The body's own entry is not a container.
      if (this.depth > MAX_DEPTH + 1) return DEEP;
    }
    if (this.cost <= this.limit && this.depth === 0 && this.at < end) return TRAILING;
    return this.cost;
  }

  #open(values: number, map: boolean): void {
    if (values === 0) return;
    const at = this.depth++;
    this.#left[at] = values;
    this.#isMap[at] = map ? 1 : 0;
    this.#keyNext[at] = map ? 1 : 0;
    this.#elements[at] = undefined;
    this.#named[at] = 0;
    this.#sequence[at] = SHAPE_SEED;
    this.#namesFrom[at] = this.#namesTop;
  }

  /** The innermost container has all its values. */
  #close(): void {
    const top = --this.depth;
    if (this.#isMap[top] === 1) this.#closeMap(top);
    this.#namesTop = this.#namesFrom[top]!;
    this.#elements[top] = undefined;
  }

  /**
   * A map gets V8's hidden classes for the sequence of its first 16 named keys, made the first
   * time the sequence is seen (one lookup per object, not per key). Past MAX_TRANSITIONS
   * sequences V8 stops linking new classes to their parents, so every later object makes its
   * own: each is counted then, seen or not.
   */
  #closeMap(top: number): void {
    const named = this.#named[top]!;
    // Past 16 named keys V8 keeps them in a dictionary (index keys are elements, counted apart).
    if (named > MAP_FAST_ENTRIES) this.cost += named * MAP_DICTIONARY_ENTRY;
    // Before it does, V8 has made the classes of the first 16 (a sixth review): their sequence counts too.
    if (named === 0) return;
    const shapes = this.#shapes;
    const sequence = this.#sequence[top]!;
    if (shapes.size < MAX_TRANSITIONS && shapes.has(sequence)) return;
    if (shapes.size < MAX_SHAPES) shapes.add(sequence);
    this.cost += shapeCost(Math.min(named, MAP_FAST_ENTRIES));
  }

  #openMap(entries: number): undefined {
    this.cost += MAP;
    this.#open(2 * entries, true);
    return undefined;
  }

  #openArray(length: number): undefined {
    this.cost += ARRAY;
    this.#open(length, false);
    return undefined;
  }

  /** Reads one value's header at `at` (a key of the innermost map if `isKey`); a refusal, or undefined. */
  #value(isKey: boolean): Refusal | undefined {
    const bytes = this.bytes;
    const start = this.at;
    const tag = bytes[this.at++]!;
    this.cost += SLOT;
    if (tag < 0x80) return isKey ? this.#indexKey(tag) : undefined; // positive fixint
    if (tag >= 0xe0) return isKey ? this.#namedKey(start, this.#tracksNames() ? nameOfNumber(tag - 0x100) : 0) : undefined; // negative fixint
    if (tag < 0x90) return this.#openMap(tag & 0x0f);
    if (tag < 0xa0) return this.#openArray(tag & 0x0f);
    if (tag < 0xc0) return this.#string(tag & 0x1f, isKey, start);
    switch (tag) {
      case 0xc0: // nil, false, true: as keys, "null", "false", "true"
      case 0xc2:
      case 0xc3:
        return isKey ? this.#namedKey(start, this.#tracksNames() ? nameOfConstant(tag) : 0) : undefined;
      case 0xc1:
        return NEVER_USED;
      case 0xc4: // bin8, bin16, bin32
      case 0xc5:
      case 0xc6: {
        const size = 1 << (tag - 0xc4);
        this.at += size + this.#length(size);
        this.cost += BIN;
        return undefined;
      }
      case 0xd9: // str8, str16, str32
      case 0xda:
      case 0xdb: {
        const size = 1 << (tag - 0xd9);
        const n = this.#length(size);
        this.at += size;
        return this.#string(n, isKey, start);
      }
      case 0xcc: // uint8..64, int8..64: an index when a non-negative key
      case 0xcd:
      case 0xce:
      case 0xcf:
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3:
        return this.#integer(tag, isKey, start);
      case 0xca: // float32, float64
      case 0xcb:
        return this.#float(tag === 0xca ? 4 : 8, isKey, start);
      case 0xdc: // array16, array32, map16, map32
      case 0xdd:
      case 0xde:
      case 0xdf: {
        const size = (tag & 1) === 0 ? 2 : 4;
        const n = this.#length(size);
        this.at += size;
        return tag < 0xde ? this.#openArray(n) : this.#openMap(n);
      }
      case 0xd4: // fixext1..16, ext8..32
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
      case 0xc7:
      case 0xc8:
      case 0xc9:
        return this.#extension(tag, isKey);
      default:
        return undefined;
    }
  }

  #string(n: number, isKey: boolean, start: number): Refusal | undefined {
    const at = this.at;
    this.at += n;
    this.cost += STRING + 2 * n;
    if (!isKey) return undefined;
    if (n > MAX_KEY_BYTES) return LONG_KEY;
    const index = canonicalIndex(this.bytes, at, n);
    if (index >= 0) return this.#indexKey(index);
    if (!this.#tracksNames()) return this.#namedKey(start, 0);
    const name = nameOfString(this.bytes, at, n);
    return name === INVALID_NAME ? BAD_KEY : this.#namedKey(start, name);
  }

  #integer(tag: number, isKey: boolean, start: number): Refusal | undefined {
    const signed = tag >= 0xd0;
    const size = 1 << (tag - (signed ? 0xd0 : 0xcc));
    const negative = signed && this.bytes[this.at]! >= 0x80;
    const value = size <= 4 ? this.#length(size) : this.#length(4) === 0 ? this.#low32() : Number.MAX_SAFE_INTEGER;
    this.at += size;
    if (size >= 4) this.cost += NUMBER;
    if (!isKey) return undefined;
    if (!negative && value < 0xffff_ffff) return this.#indexKey(value);
    return this.#namedKey(start, this.#tracksNames() ? nameOfNumber(integerAt(this.bytes, this.at - size, size, signed)) : 0);
  }

  #float(size: 4 | 8, isKey: boolean, start: number): Refusal | undefined {
    const at = this.at;
    this.at += size;
    this.cost += NUMBER;
    if (!isKey || at + size > this.bytes.length) return undefined;
    const value = readFloat(this.bytes, at, size);
    if (Number.isInteger(value) && value >= 0 && value < 0xffff_ffff) return this.#indexKey(value);
    return this.#namedKey(start, this.#tracksNames() ? nameOfNumber(value) : 0);
  }

  /** Only the extensions encodeBody writes, in the forms it writes them; an Address or a Route carries the value after it. */
  #extension(tag: number, isKey: boolean): Refusal | undefined {
    const start = this.at - 1;
    let n: number;
    if (tag >= 0xd4) n = 1 << (tag - 0xd4);
    else {
      const size = 1 << (tag - 0xc7);
      n = this.#length(size);
      this.at += size;
    }
    const type = this.bytes[this.at];
    if (type === undefined) return undefined; // cut short: the scan ends here, and msgpackr refuses it
    this.at += 1 + n;
    const fixed = tag >= 0xd4;
    if (fixed && n === 1 && (type === ADDRESS_EXTENSION || type === ROUTE_EXTENSION)) {
      this.cost += EXTENSION + n;
      this.#open(1, false);
      return undefined;
    }
    // The slot alone; as a key (a Map's), "undefined", a named one.
    if (fixed && n === 1 && type === UNDEFINED_EXTENSION) return isKey ? this.#namedKey(start, this.#tracksNames() ? nameOfConstant(-1) : 0) : undefined;
    // A Date: fixext4 or 8, or ext8 of 12 bytes; fixext1 is what msgpackr writes for new Date(NaN).
    if (type === DATE_EXTENSION && (fixed ? n === 1 || n === 4 || n === 8 : n === 12)) {
      this.cost += DATE;
      return undefined;
    }
    return { why: `holds a msgpack extension of type 0x${type.toString(16).padStart(2, "0")} (${n} bytes), which encodeBody never writes (only undefined, Date, Address and Route)` };
  }

  /** A key that is an array index: what V8 does with the object's elements (object-costs.ts). */
  #indexKey(index: number): undefined {
    const top = this.depth - 1;
    const elements = (this.#elements[top] ??= { capacity: 0, count: 0, maxIndex: -1, mayBeDictionary: false });
    this.cost += addIndexKey(elements, index);
    return undefined;
  }

  /** Whether the innermost map's next named key is among those whose names are compared (so worth naming). */
  #tracksNames(): boolean {
    return this.#named[this.depth - 1]! < MAX_TRACKED_NAMES;
  }

  /**
   * A named key, its bytes from `start` (its header too) to `at`, naming the property `name`:
   * part of the object's key sequence; a repeat of a name among its first keys is refused.
   */
  #namedKey(start: number, name: number): Refusal | undefined {
    const top = this.depth - 1;
    const named = ++this.#named[top]!;
    // The sequence of the first 16: past them V8 makes no more classes.
    if (named <= MAP_FAST_ENTRIES) this.#sequence[top] = mixBytes(this.#sequence[top]!, this.bytes, start, this.at - start);
    if (named > MAX_TRACKED_NAMES) return undefined;
    const names = this.#names;
    for (let i = this.#namesFrom[top]!; i < this.#namesTop; i++) if (names[i] === name) return REPEATED_KEY;
    names[this.#namesTop++] = name;
    return undefined;
  }

  /** The low half of a 64-bit integer at `at` (its high half is 0: a key such as 999 written in 8 bytes is still an index). */
  #low32(): number {
    this.at += 4;
    const low = this.#length(4);
    this.at -= 4;
    return low;
  }

  /** A big-endian length of `size` (1, 2 or 4) bytes at `at`; 0 past the end (the scan stops there). */
  #length(size: number): number {
    const bytes = this.bytes;
    const at = this.at;
    if (at + size > bytes.length) return 0;
    if (size === 1) return bytes[at]!;
    if (size === 2) return (bytes[at]! << 8) | bytes[at + 1]!;
    return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  }
}

/** The integer of `size` bytes at `at` (signed or not) as msgpackr reads it for a key: a number, or a bigint past 2^53. */
function integerAt(bytes: Uint8Array, at: number, size: number, signed: boolean): number | bigint {
  let value = 0n;
  for (let i = 0; i < size; i++) value = (value << 8n) | BigInt(bytes[at + i] ?? 0);
  if (signed && size > 0 && (bytes[at]! & 0x80) !== 0) value -= 1n << BigInt(8 * size);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** Where readFloat copies a float's bytes to read them (no DataView made per key). */
const floatBytes = new Uint8Array(8);
const floatView = new DataView(floatBytes.buffer);

/** The big-endian float32 or float64 at `at`. */
function readFloat(bytes: Uint8Array, at: number, size: 4 | 8): number {
  for (let i = 0; i < size; i++) floatBytes[i] = bytes[at + i]!;
  return size === 4 ? floatView.getFloat32(0) : floatView.getFloat64(0);
}

const scan = new Scan();
