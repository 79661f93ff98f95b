import { ADDRESS_EXTENSION, ROUTE_EXTENSION } from "./packr.js";

/**
 * What decoding a msgpack body costs in heap, estimated from its structure before it is
 * decoded. A few bytes of msgpack can decode to many more of objects: an array of empty
 * maps, one byte each, decodes to ≈ 64 bytes of heap per byte, so a 16 MiB body took 1 GiB
 * and 4 s of one thread (measured, session 55). The estimate reads only headers (strings
 * and bins are skipped by their length) and stops as soon as it passes the limit.
 *
 * The model (bytes, 64-bit V8): every value takes a slot of 8 in its parent; a map is an
 * object of 56, an array 32, a string 16 plus two bytes a character at most, a bin a Buffer
 * view of 96 (msgpackr does not copy it), a float or a wide integer a heap number of 16, an
 * Address or Route extension 64 plus the value it carries, any other extension 64 plus its
 * bytes. No value costs more than COST_PER_BYTE_MAX per byte it takes.
 */
export const COST_PER_BYTE_MAX = 64;

const SLOT = 8;
const MAP = 56;
const ARRAY = 32;
const STRING = 16;
const BIN = 96;
const NUMBER = 16;
const EXTENSION = 64;

/** msgpackr's own extensions, which it reads whatever its options say: a record definition and bundled strings. */
const RECORD_DEFINITION = 0x72;
const BUNDLED_STRINGS = 0x62;

/** Why `estimateDecodedBytes` gave up on a body it will not estimate (it is refused). */
export type Unestimated = "records";

/**
 * The heap bytes decoding `bytes` (one msgpack value) would take, counted until it passes
 * `limit` (the count returned is then over it; the caller refuses the body). Malformed or
 * truncated bytes count as far as they read: msgpackr refuses them. "records": the body uses
 * msgpackr's records or bundled strings, which plain msgpack does not have and this model does
 * not follow (a record's values follow its id without a header).
 */
export function estimateDecodedBytes(bytes: Uint8Array, limit: number): number | Unestimated {
  const end = bytes.length;
  let at = 0;
  let pending = 1;
  let cost = 0;
  while (pending > 0 && at < end && cost <= limit) {
    pending--;
    const tag = bytes[at++]!;
    cost += SLOT;
    if (tag < 0x80 || tag >= 0xe0) continue; // fixint
    if (tag < 0x90) {
      pending += 2 * (tag & 0x0f); // fixmap
      cost += MAP;
      continue;
    }
    if (tag < 0xa0) {
      pending += tag & 0x0f; // fixarray
      cost += ARRAY;
      continue;
    }
    if (tag < 0xc0) {
      const n = tag & 0x1f; // fixstr
      at += n;
      cost += STRING + 2 * n;
      continue;
    }
    switch (tag) {
      case 0xc4: // bin8, bin16, bin32
      case 0xc5:
      case 0xc6: {
        const size = 1 << (tag - 0xc4);
        at += size + readLength(bytes, at, size);
        cost += BIN;
        break;
      }
      case 0xd9: // str8, str16, str32
      case 0xda:
      case 0xdb: {
        const size = 1 << (tag - 0xd9);
        const n = readLength(bytes, at, size);
        at += size + n;
        cost += STRING + 2 * n;
        break;
      }
      case 0xc7: // ext8, ext16, ext32: a length, a type, the bytes
      case 0xc8:
      case 0xc9: {
        const size = 1 << (tag - 0xc7);
        const n = readLength(bytes, at, size);
        at += size + 1 + n;
        cost += EXTENSION + n;
        break;
      }
      case 0xca: // float32, float64, uint32, uint64, int32, int64
      case 0xce:
      case 0xd2:
        at += 4;
        cost += NUMBER;
        break;
      case 0xcb:
      case 0xcf:
      case 0xd3:
        at += 8;
        cost += NUMBER;
        break;
      case 0xcc: // uint8, int8, uint16, int16
      case 0xd0:
        at += 1;
        break;
      case 0xcd:
      case 0xd1:
        at += 2;
        break;
      case 0xd4: {
        // fixext1: an Address or a Route is written as one, followed by the value it carries
        const type = bytes[at];
        if (type === RECORD_DEFINITION) return "records";
        at += 2;
        cost += EXTENSION;
        if (type === ADDRESS_EXTENSION || type === ROUTE_EXTENSION) pending++;
        break;
      }
      case 0xd5: // fixext2, 4, 8, 16 (a Date is a fixext4 or 8)
      case 0xd6:
      case 0xd7:
      case 0xd8: {
        if (bytes[at] === BUNDLED_STRINGS) return "records";
        const n = 2 << (tag - 0xd5);
        at += 1 + n;
        cost += EXTENSION + n;
        break;
      }
      case 0xdc: // array16, array32
      case 0xdd: {
        const size = tag === 0xdc ? 2 : 4;
        pending += readLength(bytes, at, size);
        at += size;
        cost += ARRAY;
        break;
      }
      case 0xde: // map16, map32
      case 0xdf: {
        const size = tag === 0xde ? 2 : 4;
        pending += 2 * readLength(bytes, at, size);
        at += size;
        cost += MAP;
        break;
      }
      default: // nil, false, true, and 0xc1 (never used: msgpackr refuses it)
        break;
    }
  }
  return cost;
}

/** A big-endian length of `size` (1, 2 or 4) bytes at `at`; 0 past the end (the caller stops there). */
function readLength(bytes: Uint8Array, at: number, size: number): number {
  if (at + size > bytes.length) return 0;
  if (size === 1) return bytes[at]!;
  if (size === 2) return (bytes[at]! << 8) | bytes[at + 1]!;
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}
