import { ADDRESS_EXTENSION, ROUTE_EXTENSION } from "./packr.js";

/**
 * What decoding a msgpack body would cost in heap, estimated from its structure before it
 * is decoded, and whether it is a body at all: only what encodeBody writes is let through to
 * msgpackr. A few bytes of msgpack can decode to a great deal more:
 * - an array of empty maps, one byte each, to ≈ 64 bytes of heap a byte (16 MiB: 1 GiB, 4 s);
 * - a map whose keys look like array indices ({"999": 0}, 8 bytes) makes V8 allocate the
 *   elements up to that index: up to ≈ 3,500 bytes of heap a byte;
 * - msgpackr's own extensions, which it decodes whatever its options say: records, bundled
 *   strings, Error, Set, RegExp, typed arrays (an Error costs a stack trace: ≈ 2 s a MiB).
 * (An adversarial review, session 55.) So the scan reads every header (strings and bins are
 * skipped by their length), follows the containers to know each map's keys, refuses any
 * extension encodeBody does not write and any byte after the value, and stops as soon as the
 * estimate passes the limit.
 *
 * The model (bytes, 64-bit V8): every value takes a slot of 8 in its parent; a map is an
 * object of 56 (96 more per entry past 16 entries, where V8 goes to a dictionary), an array
 * 48, a string 24 plus two bytes a character at most, a bin a Buffer view of 96 (msgpackr
 * does not copy it), a float or a wide integer a heap number of 16, an extension 64 plus its
 * bytes. A key that is an array index grows the object's elements as V8 does (to 1.5× the
 * index + 16, 8 bytes each, unless that is over 5,000 or 1,024 past what it has: then a
 * dictionary, 64 an entry).
 */

/** Containers nested deeper than this are refused (msgpackr's recursion failed between 3,000 and 5,000 here). */
export const MAX_DEPTH = 4096;

/** Why a scan refused a body outright: it is not one encodeBody writes, or not one msgpackr can decode. */
export interface Refusal {
  /** What the body does, to follow "The body " in an error's message. */
  readonly why: string;
}

/** Bytes after the value: msgpackr would decode the value, then walk all of it again to say so. */
const TRAILING: Refusal = { why: "has bytes after its value" };
const DEEP: Refusal = { why: `nests containers more than ${MAX_DEPTH} deep` };
const NO_BYTES = new Uint8Array(0);


const SLOT = 8;
const MAP = 56;
const MAP_FAST_ENTRIES = 16;
const DICTIONARY_ENTRY = 96;
const ARRAY = 48;
const STRING = 24;
const BIN = 96;
const NUMBER = 16;
const EXTENSION = 64;
const ELEMENTS_HEADER = 16;
const ELEMENT_DICTIONARY_ENTRY = 64;
/** V8 keeps an object's indexed properties in a plain backing store up to this many, and grows it by at most this gap. */
const MAX_FAST_ELEMENTS = 5000;
const MAX_ELEMENTS_GAP = 1024;

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
 * inside. One scan serves every body of its thread, its stack made once: a body of a few
 * values is scanned in about half the time msgpackr then takes to decode it.
 */
class Scan {
  bytes: Uint8Array = new Uint8Array(0);
  limit = 0;
  at = 0;
  cost = 0;
  /** Open containers; the stack's entries [0, depth) are theirs (entry 0: the body itself, one value). */
  depth = 0;
  /** Per open container: values still to read. */
  readonly #left = new Float64Array(MAX_DEPTH + 2);
  /** Per open container: -1 for an array; for a map, its elements' capacity (0 to begin with; -2 once a dictionary). */
  readonly #elements = new Int32Array(MAX_DEPTH + 2);
  /** Per open container (a map): 1 when its next value is a key. */
  readonly #keyNext = new Uint8Array(MAX_DEPTH + 2);

  run(bytes: Uint8Array, limit: number): number | Refusal {
    this.bytes = bytes;
    this.limit = limit;
    this.at = 0;
    this.cost = 0;
    this.depth = 0;
    this.#open(1, false);
    try {
      return this.#walk();
    } finally {
      this.bytes = NO_BYTES; // not kept alive by the scan
    }
  }

  #walk(): number | Refusal {
    const end = this.bytes.length;
    const left = this.#left;
    const elements = this.#elements;
    const keyNext = this.#keyNext;
    while (this.depth > 0 && this.at < end && this.cost <= this.limit) {
      const top = this.depth - 1;
      left[top]!--;
      const isKey = keyNext[top] === 1;
      if (elements[top] !== -1) keyNext[top] = isKey ? 0 : 1;
      const refused = this.#value(isKey);
      if (refused !== undefined) return refused;
      while (this.depth > 0 && left[this.depth - 1] === 0) this.depth--;
      if (this.depth > MAX_DEPTH) return DEEP;
    }
    if (this.cost <= this.limit && this.depth === 0 && this.at < end) return TRAILING;
    return this.cost;
  }

  #open(values: number, map: boolean): void {
    if (values === 0) return;
    const at = this.depth++;
    this.#left[at] = values;
    this.#elements[at] = map ? 0 : -1;
    this.#keyNext[at] = map ? 1 : 0;
  }

  #openMap(entries: number): undefined {
    this.cost += MAP + (entries > MAP_FAST_ENTRIES ? entries * DICTIONARY_ENTRY : 0);
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
    const tag = bytes[this.at++]!;
    this.cost += SLOT;
    if (tag < 0x80) return isKey ? this.#indexKey(tag) : undefined; // positive fixint
    if (tag >= 0xe0) return undefined; // negative fixint
    if (tag < 0x90) return this.#openMap(tag & 0x0f);
    if (tag < 0xa0) return this.#openArray(tag & 0x0f);
    if (tag < 0xc0) return this.#string(tag & 0x1f, isKey);
    switch (tag) {
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
        return this.#string(n, isKey);
      }
      case 0xcc: // uint8..64, int8..64: an index when a non-negative key
      case 0xcd:
      case 0xce:
      case 0xcf:
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3:
        return this.#integer(tag, isKey);
      case 0xca: // float32, float64
      case 0xcb:
        return this.#float(tag === 0xca ? 4 : 8, isKey);
      case 0xdc: // array16, array32
      case 0xdd: {
        const size = tag === 0xdc ? 2 : 4;
        const n = this.#length(size);
        this.at += size;
        return this.#openArray(n);
      }
      case 0xde: // map16, map32
      case 0xdf: {
        const size = tag === 0xde ? 2 : 4;
        const n = this.#length(size);
        this.at += size;
        return this.#openMap(n);
      }
      case 0xd4: // fixext1..16, ext8..32
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
      case 0xc7:
      case 0xc8:
      case 0xc9:
        return this.#extension(tag);
      default: // nil, false, true; 0xc1 (never used: msgpackr refuses it)
        return undefined;
    }
  }

  #string(n: number, isKey: boolean): undefined {
    const at = this.at;
    this.at += n;
    this.cost += STRING + 2 * n;
    if (isKey) this.#indexKey(canonicalIndex(this.bytes, at, n));
    return undefined;
  }

  #integer(tag: number, isKey: boolean): undefined {
    const signed = tag >= 0xd0;
    const size = 1 << (tag - (signed ? 0xd0 : 0xcc));
    const negative = signed && this.bytes[this.at]! >= 0x80;
    const value = size <= 4 ? this.#length(size) : this.#length(4) === 0 ? this.#low32() : Number.MAX_SAFE_INTEGER;
    this.at += size;
    if (size >= 4) this.cost += NUMBER;
    if (isKey && !negative) this.#indexKey(value);
    return undefined;
  }

  #float(size: 4 | 8, isKey: boolean): undefined {
    const at = this.at;
    this.at += size;
    this.cost += NUMBER;
    if (!isKey || at + size > this.bytes.length) return undefined;
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + at, size);
    const value = size === 4 ? view.getFloat32(0) : view.getFloat64(0);
    if (Number.isInteger(value) && value >= 0) this.#indexKey(value);
    return undefined;
  }

  /** Only the extensions encodeBody writes, in the forms it writes them; an Address or a Route carries the value after it. */
  #extension(tag: number): Refusal | undefined {
    let n: number;
    if (tag >= 0xd4) n = 1 << (tag - 0xd4);
    else {
      const size = 1 << (tag - 0xc7);
      n = this.#length(size);
      this.at += size;
    }
    const type = this.bytes[this.at]!;
    this.at += 1 + n;
    this.cost += EXTENSION + n;
    const fixed = tag >= 0xd4;
    if (fixed && n === 1 && (type === ADDRESS_EXTENSION || type === ROUTE_EXTENSION)) {
      this.#open(1, false);
      return undefined;
    }
    if (fixed && n === 1 && type === UNDEFINED_EXTENSION) return undefined;
    if (type === DATE_EXTENSION && (fixed ? n === 4 || n === 8 : n === 12)) return undefined;
    return { why: `holds a msgpack extension of type 0x${type.toString(16).padStart(2, "0")} (${n} bytes), which encodeBody never writes (only undefined, Date, Address and Route)` };
  }

  /** A key that is an array index (`index` ≥ 0; -1 for none): V8 grows the object's elements for it. */
  #indexKey(index: number): undefined {
    if (index < 0 || index >= 0xffff_ffff) return undefined;
    const top = this.depth - 1;
    const capacity = this.#elements[top]!;
    if (capacity === -2) {
      this.cost += ELEMENT_DICTIONARY_ENTRY;
      return undefined;
    }
    if (index < capacity) return undefined;
    const grown = index + 1 + ((index + 1) >> 1) + 16;
    if (index - capacity >= MAX_ELEMENTS_GAP || grown > MAX_FAST_ELEMENTS) {
      this.#elements[top] = -2;
      this.cost += ELEMENT_DICTIONARY_ENTRY;
    } else {
      this.#elements[top] = grown;
      this.cost += ELEMENTS_HEADER + 8 * grown;
    }
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

/** The array index a key string spells ("123": no sign, no leading zero, at most 10 digits), or -1. */
function canonicalIndex(bytes: Uint8Array, at: number, n: number): number {
  if (n === 0 || n > 10 || at + n > bytes.length || (n > 1 && bytes[at] === 0x30)) return -1;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[at + i]!;
    if (c < 0x30 || c > 0x39) return -1;
    value = value * 10 + (c - 0x30);
  }
  return value;
}

const scan = new Scan();
