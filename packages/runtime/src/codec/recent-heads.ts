import type { Route } from "../route/route.js";

/** A head an EnvelopeHeadDecoder decoded in full, kept to hand its routes back for the same bytes. */
export interface KnownHead {
  /**
   * The head's bytes, up to and including the payload's bin tag: `length` bytes from `at` in
   * the arena of the RecentHeads that kept it (its `view` while the head is kept).
   */
  readonly at: number;
  readonly length: number;
  /** The size of the payload length field after the head (1, 2 or 4). */
  readonly lengthSize: 1 | 2 | 4;
  readonly onwardRoute: Route;
  readonly returnRoute: Route;
}

/** Heads kept per decoder by default; past this many it starts over (a peer's variety, or heads crafted to share a hash, cannot grow it). */
const MAX_KEPT = 1024;
/**
 * What the heads a decoder keeps may cost by default, as keptHeadCost estimates it; past it, it
 * starts over, as past MAX_KEPT. A head per channel (~60-200 bytes, 2-6 addresses: ~0.6-1.1 KB
 * estimated) fits 1,024 times; before this bound, 1,024 heads of 30 one-character addresses
 * each (124 bytes a head, sent twice) held ≈ 2 MB of heap per connection.
 */
export const MAX_KEPT_HEAD_BYTES = 1024 * 1024;
/** A kept head's cost besides its bytes and addresses: its KnownHead, two Routes and their arrays, its map entry. */
const KEPT_HEAD_OVERHEAD = 320;
/** A decoded address's cost besides its characters: the Address, its string's header, its slot in the route's array. */
const KEPT_ADDRESS_OVERHEAD = 64;

/**
 * What keeping a head of `length` bytes with these routes costs in memory, as an upper
 * estimate: its copy in the arena and its strings (at most its bytes again: a character that
 * V8 stores in two bytes takes at least two in UTF-8), and the objects of its routes.
 */
export function keptHeadCost(length: number, onwardRoute: Route, returnRoute: Route): number {
  return KEPT_HEAD_OVERHEAD + 2 * length + KEPT_ADDRESS_OVERHEAD * (onwardRoute.length + returnRoute.length);
}

/**
 * A bound that the kept heads of several decoders share (a transport's connections: one peer
 * may hold a thousand of them), in keptHeadCost's bytes. A decoder keeps no new head while the
 * total would pass `max` (its heads are then decoded in full, as one-off heads are), and gives
 * back what it held when it starts over or forgets its heads.
 */
export interface KeptHeadsBudget {
  held: number;
  readonly max: number;
}
/** The first arena's size, made with the first head kept: room for ~12 heads of a few hops (it doubles as heads are kept). */
const FIRST_ARENA_BYTES = 1024;
/** The arena of a RecentHeads that keeps nothing yet (every connection's and thread's decoder has one): none. */
const NO_ARENA = new Uint8Array(0);
const NO_ARENA_VIEW = new DataView(NO_ARENA.buffer);

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
 *
 * Kept heads' bytes sit side by side in one arena, not in a buffer each: a buffer of its own
 * (its ArrayBuffer, backing store and DataView) cost ≈ 0.4 KiB per head, and a connection
 * carrying many channels keeps a head per channel. Bytes once written to an arena never
 * change: a full arena is replaced by a larger copy (kept heads keep their offsets), and
 * starting over takes a fresh one, so a view of the arena a decoder took for its last head
 * stays valid for as long as it holds it.
 */
export class RecentHeads {
  readonly #kept = new Map<number, KnownHead>();
  readonly #seen = new Set<number>();
  readonly #maxKept: number;
  readonly #maxSeen: number;
  #arena = NO_ARENA;
  #arenaView = NO_ARENA_VIEW;
  #used = 0;
  /** Heads kept into this arena, counting those kept again under a hash already in #kept (their bytes stay in it too). */
  #keeps = 0;
  /** What the heads kept into this arena cost (keptHeadCost), charged to #budget too if there is one. */
  #cost = 0;
  readonly #maxCost: number;
  readonly #budget: KeptHeadsBudget | undefined;
  /** After forget(): keeps nothing more. */
  #forgotten = false;
  /** The last `find`'s hash and head end (-1: not the writer's spelling). */
  #hash = 0;
  #end = -1;

  /**
   * `heads` bounds what it tracks: heads kept, and hashes of heads seen once (four times as
   * many). A connection's decoder keeps up to 1,024 (a head per channel it carries); a channel
   * end's, a few (its messages go to a few workers), since a request's reply address makes a
   * new head each time and a long list of hashes seen once would stay with an idle channel.
   */
  constructor(heads = MAX_KEPT, options: { maxBytes?: number; budget?: KeptHeadsBudget } = {}) {
    this.#maxKept = heads;
    this.#maxSeen = heads * 4;
    this.#maxCost = options.maxBytes ?? MAX_KEPT_HEAD_BYTES;
    this.#budget = options.budget;
  }

  /** What the heads kept now cost (keptHeadCost's estimate), bounded by `maxBytes`. */
  get keptBytes(): number {
    return this.#cost;
  }

  /** Forgets every kept head, gives back what they were charged, and keeps none from now on (its decoder's stream is over). */
  forget(): void {
    this.#startOver();
    this.#seen.clear();
    this.#forgotten = true;
  }

  /** The arena the kept heads' bytes are in (replaced as it grows: take it with the head, at `find` or `keep`). */
  get view(): DataView {
    return this.#arenaView;
  }

  /** The kept head that `bytes[start, end)` starts with, if any. */
  find(bytes: Uint8Array, start: number, end: number, view: DataView): KnownHead | undefined {
    const headEnd = skimHeadEnd(bytes, start, end);
    this.#end = headEnd;
    if (headEnd < 0) return undefined;
    const hash = hashRange(bytes, start, headEnd);
    this.#hash = hash;
    const known = this.#kept.get(hash);
    if (known === undefined || known.length !== headEnd - start || !sameBytes(view, start, this.#arenaView, known.at, known.length)) return undefined;
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
    if (this.#seen.size >= this.#maxSeen) this.#seen.clear();
    this.#seen.add(hash);
    return false;
  }

  /**
   * Keeps the head `bytes[start, start + length)` that `sighted` just said to keep (its
   * routes decoded from those bytes), and returns it; undefined if the shared budget has no
   * room for it (or after `forget`): the caller keeps it as a one-off head.
   */
  keep(bytes: Uint8Array, start: number, length: number, lengthSize: 1 | 2 | 4, onwardRoute: Route, returnRoute: Route): KnownHead | undefined {
    if (this.#forgotten) return undefined;
    const cost = keptHeadCost(length, onwardRoute, returnRoute);
    if (this.#keeps + 1 > this.#maxKept || this.#cost + cost > this.#maxCost) this.#startOver();
    const budget = this.#budget;
    if (budget !== undefined) {
      if (budget.held + cost > budget.max) return undefined;
      budget.held += cost;
    }
    this.#cost += cost;
    this.#keeps++;
    if (this.#used + length > this.#arena.length) this.#grow(length);
    const at = this.#used;
    const arena = this.#arena;
    for (let i = 0; i < length; i++) arena[at + i] = bytes[start + i]!; // ~40-90 bytes: no view object for set()
    this.#used = at + length;
    const head: KnownHead = { at, length, lengthSize, onwardRoute, returnRoute };
    this.#kept.set(this.#hash, head);
    return head;
  }

  /** Forgets every kept head; the next goes into a fresh arena (the old one's bytes stay as they are for whoever holds them). */
  #startOver(): void {
    this.#kept.clear();
    this.#keeps = 0;
    if (this.#budget !== undefined) this.#budget.held -= this.#cost;
    this.#cost = 0;
    this.#arena = NO_ARENA;
    this.#arenaView = NO_ARENA_VIEW;
    this.#used = 0;
  }

  /** Moves the kept bytes to an arena twice as large (or large enough for `length` more), the first one made here. */
  #grow(length: number): void {
    const arena = new Uint8Array(Math.max(FIRST_ARENA_BYTES, this.#arena.length * 2, this.#used + length));
    arena.set(this.#arena.subarray(0, this.#used));
    this.#arena = arena;
    this.#arenaView = new DataView(arena.buffer);
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
 * Whether `a` from `start` holds the `n` bytes of `b` from `bAt`: four at a time (a head is
 * ~40-90 bytes; 2-3 times quicker than byte by byte, and quicker than a native compare's call).
 */
export function sameBytes(a: DataView, start: number, b: DataView, bAt: number, n: number): boolean {
  let i = 0;
  for (; i + 4 <= n; i += 4) if (a.getUint32(start + i) !== b.getUint32(bAt + i)) return false;
  for (; i < n; i++) if (a.getUint8(start + i) !== b.getUint8(bAt + i)) return false;
  return true;
}
