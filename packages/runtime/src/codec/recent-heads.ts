import type { Route } from "../route/route.js";

/** A head an EnvelopeHeadDecoder decoded in full, kept to hand its routes back for the same bytes. */
export interface KnownHead {
  /** The head's bytes, up to and including the payload's bin tag (a copy). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** The size of the payload length field after `bytes` (1, 2 or 4). */
  readonly lengthSize: 1 | 2 | 4;
  readonly onwardRoute: Route;
  readonly returnRoute: Route;
}

/** Heads kept per decoder; past this many it starts over (a peer's variety cannot grow it). */
const MAX_KEPT = 1024;
/** Hashes of heads seen once, kept to recognise a second sighting; bounded the same way. */
const MAX_SEEN = 4096;

/**
 * The heads a stream of envelopes repeats, by their bytes, for a decoder whose envelopes
 * alternate (one connection carrying the records of many channels: each channel's head
 * differs from the last frame's). A head is kept from its second sighting on, so that
 * one-off heads (a handshake's, each request's own reply address) cost a number, not a
 * copy. Finding one costs a skim of the head's structure, a hash and a byte compare, where
 * decoding it again costs its strings, Address objects and routes.
 *
 * The skim reads only the writer's own spelling (writeEnvelopeHead); any other spelling is
 * decoded in full every time. A match is always exact: the bytes up to the payload length
 * equal a head that was decoded in full, so they decode to the same routes.
 */
export class RecentHeads {
  readonly #kept = new Map<number, KnownHead>();
  readonly #seen = new Set<number>();
  /** The last `find`'s hash and head end (-1: not the writer's spelling). */
  #hash = 0;
  #end = -1;

  /** The kept head that `bytes[start, end)` starts with, if any. */
  find(bytes: Uint8Array, start: number, end: number, view: DataView): KnownHead | undefined {
    const headEnd = skimHeadEnd(bytes, start, end);
    this.#end = headEnd;
    if (headEnd < 0) return undefined;
    const hash = hashRange(bytes, start, headEnd);
    this.#hash = hash;
    const known = this.#kept.get(hash);
    if (known === undefined || known.bytes.length !== headEnd - start || !sameBytes(view, start, known.view, headEnd - start)) return undefined;
    return known;
  }

  /**
   * After a `find` that missed and a full decode of the same envelope (whose head is
   * `headLength` bytes): true if this is the head's second sighting (and the skim found the
   * same head end the decode did), and the caller should `keep` a copy of it now. Asked
   * before the copy is made, so that a head seen once costs a number, not a copy.
   */
  sighted(start: number, headLength: number): boolean {
    if (this.#end < 0 || this.#end - start !== headLength) return false;
    const hash = this.#hash;
    if (this.#seen.has(hash)) return true;
    if (this.#seen.size >= MAX_SEEN) this.#seen.clear();
    this.#seen.add(hash);
    return false;
  }

  /** Keeps `head`, the copy of a head `sighted` just said to keep. */
  keep(head: KnownHead): void {
    if (this.#kept.size >= MAX_KEPT) this.#kept.clear();
    this.#kept.set(this.#hash, head);
  }
}

/**
 * Where the head of the network envelope at `start` ends (after the payload's bin32 tag), if
 * it is spelt as writeEnvelopeHead spells it: fixarray 3, two routes (fixarray of [type,
 * string] pairs, type a fixint or uint8, string a fixstr or str8), bin32. Else -1.
 */
function skimHeadEnd(b: Uint8Array, start: number, end: number): number {
  let at = start;
  if (b[at] !== 0x93) return -1;
  at++;
  for (let route = 0; route < 2; route++) {
    if (at >= end) return -1;
    const tag = b[at++]!;
    if ((tag & 0xf0) !== 0x90) return -1;
    for (let n = tag & 0x0f; n > 0; n--) {
      if (at + 3 > end || b[at] !== 0x92) return -1;
      let type = b[at + 1]!;
      at += 2;
      if (type >= 0x80) {
        if (type !== 0xcc) return -1;
        at++;
      }
      if (at >= end) return -1;
      type = b[at++]!;
      if ((type & 0xe0) === 0xa0) at += type & 0x1f;
      else if (type === 0xd9 && at < end) at += 1 + b[at]!;
      else return -1;
    }
  }
  return at < end && b[at] === 0xc6 ? at + 1 : -1;
}

/** FNV-1a over the bytes: cheap, and collisions only cost a miss (matches are compared byte by byte). */
function hashRange(b: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ b[i]!, 0x01000193);
  return hash;
}

/**
 * Whether `a` from `start` holds the `n` bytes of `b`: four at a time (a head is ~40-90
 * bytes; 2-3 times quicker than byte by byte, and quicker than a native compare's call).
 */
export function sameBytes(a: DataView, start: number, b: DataView, n: number): boolean {
  let i = 0;
  for (; i + 4 <= n; i += 4) if (a.getUint32(start + i) !== b.getUint32(i)) return false;
  for (; i < n; i++) if (a.getUint8(start + i) !== b.getUint8(i)) return false;
  return true;
}
