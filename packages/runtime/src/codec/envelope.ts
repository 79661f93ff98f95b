import { Address, MAX_ADDRESS_VALUE_BYTES } from "../address/address.js";
import { DecodeError, InvalidRouteError } from "../errors/errors.js";
import { LocalMessage, NO_LOCAL_INFO, type LocalInfo } from "../message/local-message.js";
import { addressesOf, adoptRoute, MAX_ROUTE_LENGTH, type Route } from "../route/route.js";
import { unencodableError } from "./body.js";
import { copyingUnpackr, packValue } from "./packr.js";
import { keptHeadCost, RecentHeads, sameBytes, type KeptHeadsBudget, type KnownHead } from "./recent-heads.js";
import { keepCopy, readU32BE } from "../util/bytes.js";

/**
 * Envelopes are msgpack arrays whose last element is the payload as a msgpack bin:
 *   network: [onwardRoute, returnRoute, payload]
 *   local (between threads of one node): [onwardRoute, returnRoute, localInfo, payload]
 * A route is an array of [type, value] pairs. Because the payload comes last, an envelope
 * is a small head followed by the untouched payload bytes: a relay or a transport rewrites
 * routes without reading or copying payloads. This module is the one codec for them:
 *
 * - writing: `writeEnvelopeHead` (into a caller's buffer, optionally without the first
 *   `skip` onward hops, which is how a transport's sender pops its own hop),
 *   `envelopeHeadBound`, and `encodeEnvelopeHead` / `encodeEnvelope` (fresh buffers);
 * - reading: `decodeEnvelopeHead` (routes, local info and where the payload lies, without
 *   touching payload bytes), `EnvelopeHeadDecoder` (the same for a stream of network
 *   envelopes, reusing the routes of a repeated head), and `decodeEnvelope`.
 *
 * The writer emits exactly what msgpackr emits for the same arrays (the smallest header for
 * each length; a bin32 payload header, always). The readers accept any valid msgpack
 * spelling of the same structure, and reject anything else with a DecodeError that never
 * quotes the bytes.
 */
export type EnvelopeScope = "network" | "local";

const BIN32 = 0xc6;
/**
 * What writeEnvelopeHead puts between a head and its payload: the bin32 tag and a u32
 * length, always. A reader that remembers a head's bytes finds where they end by it.
 */
export const PAYLOAD_HEADER = { tag: BIN32, length: 5 } as const;
/**
 * The most bytes a network envelope's head (its routes) may take: routes through relays and
 * channels take a few hundred. A connection keeps its last decoded head, so this bounds what
 * a peer makes it hold (255 addresses of 1 KiB each way decoded to ≈ 0.6 MB a connection).
 * MAX_CHANNEL_MESSAGE_LENGTH leaves this much room for the outer routes.
 */
export const MAX_NETWORK_HEAD_BYTES = 64 * 1024;

/**
 * Heads longer than this are not remembered for the messages that repeat them (a head is
 * routes and local info: ~40-200 bytes), by the thread batches' writer and reader alike.
 */
export const MAX_REMEMBERED_HEAD = 1024;
/** An empty map as msgpackr writes it (map16 with no entries). */
const EMPTY_MAP = Uint8Array.of(0xde, 0x00, 0x00);

// ---- writing ------------------------------------------------------------------------------

/**
 * The bytes that precede the payload in an envelope (array header … bin32 header), in a
 * fresh buffer the caller owns; `skip` leaves out the first onward hops, as in writeEnvelopeHead. To write many envelopes into one buffer without an
 * allocation per message, use `envelopeHeadBound` and `writeEnvelopeHead`.
 */
export function encodeEnvelopeHead(message: LocalMessage, scope: EnvelopeScope, skip = 0): Uint8Array {
  const bound = envelopeHeadBound(message, scope, skip);
  if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(Math.max(bound, scratch.length * 2));
  const end = writeEnvelopeHead(scratch, 0, message, scope, skip);
  // A fresh, exact copy: the caller owns it (it may be transferred or kept).
  return Uint8Array.prototype.slice.call(scratch, 0, end);
}

/** Where `encodeEnvelopeHead` writes before copying out. */
let scratch = Buffer.allocUnsafeSlow(4096);

/**
 * At least the number of bytes `writeEnvelopeHead(…, scope, skip)` writes for `message`.
 * Throws InvalidRouteError for a route longer than MAX_ROUTE_LENGTH, which no reader takes:
 * every writer sizes its head here first, so the sender learns it, not the peer.
 */
export function envelopeHeadBound(message: LocalMessage, scope: EnvelopeScope, skip = 0): number {
  const info = scope === "local" ? localInfoBytes(message.localInfo) : undefined;
  return (
    1 +
    routeBound(addressesOf(message.onwardRoute), skip, "onward") +
    routeBound(addressesOf(message.returnRoute), 0, "return") +
    (scope === "local" ? (info ? info.length : EMPTY_MAP.length) : 0) +
    5
  );
}

/**
 * Writes the head of `message`'s envelope into `target` at `offset` (which must have
 * `envelopeHeadBound(message, scope, skip)` bytes of room) and returns the offset after it,
 * where the payload goes. The onward route is written without its first `skip` hops: a
 * transport's sender pops its own hop this way, without building a new route. The head
 * always ends with a bin32 header (0xc6, then the payload length as a big-endian u32).
 * Routes are written by hand (this runs once per message per hop); the bytes are exactly
 * what msgpackr writes for the same arrays.
 */
export function writeEnvelopeHead(target: Buffer, offset: number, message: LocalMessage, scope: EnvelopeScope, skip = 0): number {
  const onward = addressesOf(message.onwardRoute);
  if (skip !== 0 && !(Number.isInteger(skip) && skip > 0 && skip <= onward.length)) {
    throw new InvalidRouteError(`Cannot skip ${String(skip)} hops of an onward route of ${onward.length}`);
  }
  target[offset] = scope === "network" ? 0x93 : 0x94;
  let at = writeRoute(target, offset + 1, onward, skip);
  at = writeRoute(target, at, addressesOf(message.returnRoute), 0);
  // What no reader takes (the caller has not committed these bytes yet: the sender learns it).
  if (scope === "network" && at - offset > MAX_NETWORK_HEAD_BYTES) {
    throw new InvalidRouteError(`The routes take ${at - offset} bytes in an envelope; a network envelope's take at most ${MAX_NETWORK_HEAD_BYTES}`);
  }
  if (scope === "local") {
    const bytes = localInfoBytes(message.localInfo) ?? EMPTY_MAP;
    target.set(bytes, at);
    at += bytes.length;
  }
  target[at] = BIN32;
  target.writeUInt32BE(message.payloadLength, at + 1);
  return at + 5;
}

/** A whole envelope in one fresh buffer (head + payload). */
export function encodeEnvelope(message: LocalMessage, scope: EnvelopeScope): Uint8Array {
  const head = encodeEnvelopeHead(message, scope);
  const out = new Uint8Array(head.length + message.payload.length);
  out.set(head, 0);
  out.set(message.payload, head.length);
  return out;
}

/**
 * Local info encoded and decoded last, per thread, this many of each: the messages of one
 * channel share their local info (the peer's identifier), and a thread worker serving a few
 * clients gets their channels' messages in turn, where one kept value missed every time.
 */
const KEPT_LOCAL_INFOS = 4;

/** The last local info objects encoded and their bytes, most recent first. */
const encodedLocalInfos: { readonly info: LocalInfo; readonly bytes: Uint8Array | undefined }[] = [];

/**
 * The msgpack bytes of non-empty local info (undefined when empty). The last few are kept:
 * the messages of one channel or connection usually share their local info object, which is
 * read-only by contract.
 */
function localInfoBytes(info: LocalInfo): Uint8Array | undefined {
  if (info === NO_LOCAL_INFO) return undefined;
  const kept = encodedLocalInfos;
  for (let i = 0; i < kept.length; i++) {
    const entry = kept[i]!;
    if (entry.info !== info) continue;
    if (i > 0) keepFirst(kept, i);
    return entry.bytes;
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = hasKeys(info) ? Uint8Array.from(packValue(info)) : undefined;
  } catch (cause) {
    // As a body's: an EncodeError naming the bad value's path, not msgpackr's bare TypeError.
    throw unencodableError("The message's local info cannot be encoded to cross to another thread", "localInfo", info, cause);
  }
  keepNew(kept, { info, bytes });
  return bytes;
}

/** Moves entry `i` of a kept list to its front (the most recent). */
function keepFirst<T>(kept: T[], i: number): void {
  const entry = kept[i]!;
  for (let j = i; j > 0; j--) kept[j] = kept[j - 1]!;
  kept[0] = entry;
}

/** Puts `entry` at the front of a kept list, dropping the oldest past KEPT_LOCAL_INFOS. */
function keepNew<T>(kept: T[], entry: T): void {
  kept.unshift(entry);
  if (kept.length > KEPT_LOCAL_INFOS) kept.pop();
}

function hasKeys(object: object): boolean {
  for (const _ in object) return true;
  return false;
}

/** An upper bound of a route's encoded size (from hop `skip`): headers + 3 bytes per UTF-16 unit of each value. */
function routeBound(addresses: readonly Address[], skip: number, which: "onward" | "return"): number {
  if (addresses.length - skip > MAX_ROUTE_LENGTH) {
    throw new InvalidRouteError(`The ${which} route has ${addresses.length - skip} addresses; an envelope carries at most ${MAX_ROUTE_LENGTH}`);
  }
  let size = 5;
  for (let i = skip; i < addresses.length; i++) size += 1 + 2 + 5 + 3 * addresses[i]!.value.length;
  return size;
}

function writeRoute(out: Buffer, at: number, addresses: readonly Address[], skip: number): number {
  const n = addresses.length - skip;
  if (n < 16) out[at++] = 0x90 | n;
  else if (n < 0x10000) {
    out[at] = 0xdc;
    out.writeUInt16BE(n, at + 1);
    at += 3;
  } else {
    out[at] = 0xdd;
    out.writeUInt32BE(n, at + 1);
    at += 5;
  }
  for (let i = skip; i < addresses.length; i++) {
    const address = addresses[i]!;
    out[at++] = 0x92;
    const type = address.type;
    if (type < 0x80) out[at++] = type;
    else {
      out[at++] = 0xcc;
      out[at++] = type;
    }
    at = writeString(out, at, address.value);
  }
  return at;
}

function writeString(out: Buffer, at: number, value: string): number {
  const length = value.length;
  // Addresses are nearly always short ASCII (a random one is 32 characters: str8): written
  // char by char after the shortest header, without Buffer.write's native call.
  if (length < 0x100) {
    const head = length < 32 ? 1 : 2;
    let ascii = true;
    for (let i = 0; i < length; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      out[at + head + i] = c;
    }
    if (ascii) {
      if (head === 1) out[at] = 0xa0 | length;
      else {
        out[at] = 0xd9;
        out[at + 1] = length;
      }
      return at + head + length;
    }
  }
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes < 32) out[at++] = 0xa0 | bytes;
  else if (bytes < 0x100) {
    out[at++] = 0xd9;
    out[at++] = bytes;
  } else if (bytes < 0x10000) {
    out[at] = 0xda;
    out.writeUInt16BE(bytes, at + 1);
    at += 3;
  } else {
    out[at] = 0xdb;
    out.writeUInt32BE(bytes, at + 1);
    at += 5;
  }
  return at + out.write(value, at, bytes, "utf8");
}

// ---- reading ------------------------------------------------------------------------------

/** An envelope's head, decoded without reading its payload. */
export interface EnvelopeHead {
  readonly onwardRoute: Route;
  readonly returnRoute: Route;
  /** NO_LOCAL_INFO for a network envelope (or a local one without local info). */
  readonly localInfo: LocalInfo;
  /** Where the payload starts in the decoded bytes; it runs to the end of the envelope. */
  readonly payloadOffset: number;
  readonly payloadLength: number;
}

/**
 * Decodes the head of the envelope in `bytes[start, end)` (exactly one envelope: nothing may
 * follow its payload). The payload is not read: take it as `bytes.subarray(payloadOffset, end)`.
 * A network envelope has exactly 3 elements; a 4-element (local) one is rejected, so local
 * info never comes from the network. Throws DecodeError saying what is wrong.
 */
export function decodeEnvelopeHead(bytes: Uint8Array, scope: EnvelopeScope, start = 0, end = bytes.length): EnvelopeHead {
  begin(bytes, start, end);
  readEnvelopeStart(scope);
  const onwardRoute = adoptRoute(readRoute("onward route", undefined));
  const returnRoute = adoptRoute(readRoute("return route", undefined));
  const localInfo = scope === "local" ? readLocalInfo() : NO_LOCAL_INFO;
  const payloadLength = readPayloadHeader();
  const payloadOffset = pos;
  finish();
  return { onwardRoute, returnRoute, localInfo, payloadOffset, payloadLength };
}

/**
 * Decodes an envelope. The payload is returned as a view into `bytes` (no copy).
 * Network envelopes never carry local info: a 4-element envelope from the network is rejected.
 */
export function decodeEnvelope(bytes: Uint8Array, scope: EnvelopeScope): LocalMessage {
  const head = decodeEnvelopeHead(bytes, scope);
  return new LocalMessage(head.onwardRoute, head.returnRoute, bytes.subarray(head.payloadOffset), head.localInfo);
}

/** Heads longer than this are not kept by an EnvelopeHeadDecoder. */
const MAX_CACHED_HEAD = 1024;
const NO_BYTES = new Uint8Array(0);

/**
 * Decodes a stream of network envelopes (one TCP connection's frames, say) head only, like
 * `decodeEnvelopeHead`. Consecutive envelopes of a stream usually carry the same routes, so
 * it keeps the previous head's bytes: an envelope whose head matches them byte for byte (up
 * to the payload length) gets the same Route objects back, and only its payload length is
 * read. Other heads it saw more than once are kept too (RecentHeads), for a stream whose
 * envelopes alternate between several (one connection carrying many channels' records). A
 * caller may rely on that identity (routes are immutable) to skip work it did for an
 * earlier envelope with the same head (see RouteMemo).
 *
 * The results of the last `decode` are in its fields; the payload is
 * `bytes.subarray(payloadOffset, end)`.
 */
export class EnvelopeHeadDecoder {
  onwardRoute: Route = EMPTY_ROUTE;
  returnRoute: Route = EMPTY_ROUTE;
  payloadOffset = 0;
  payloadLength = 0;
  /**
   * The previous head up to (not including) its payload length field: its length (0: none),
   * a view of its bytes (a kept head's arena, or #own's) and where in it they start, and the
   * length field's size.
   */
  #headLength = 0;
  #headView: DataView = NO_VIEW;
  #headAt = 0;
  #lengthSize: 1 | 2 | 4 = 4;
  /**
   * This decoder's copy of the last head it decoded in full, overwritten by the next one: a
   * frame's bytes may be reused once `decode` returns, and a fresh copy per head (an
   * ArrayBuffer, its backing store and a DataView) cost every one-off head (each handshake
   * message's) an allocation and GC work. Heads that RecentHeads keeps are copied into its arena.
   */
  #own: Uint8Array = NO_BYTES;
  #ownView: DataView = NO_VIEW;
  /** A view of the last buffer decoded from (a stream's frames mostly share their chunk). */
  #bytes: Uint8Array = NO_BYTES;
  #bytesView: DataView = NO_VIEW;
  readonly #returnPrefix: Address | undefined;
  /** Heads before the last one, for a stream whose envelopes alternate between several (at most `recentHeads`, 1,024 by default). */
  readonly #recent: RecentHeads;
  /** Heads that cost more than this (keptHeadCost) are one-off heads: neither kept nor held as the last head for its repeats. */
  readonly #maxHeadCost: number;

  /**
   * `returnPrefix`, if given, is put in front of every decoded return route (a transport's
   * receiver does this with its sender's address, so that replies go back the way they came).
   * `recentHeads` bounds the heads it keeps besides the last (1,024 by default: a connection
   * carries a head per channel; a channel end's decoder needs a few). `keptHeadsBudget`, if
   * given, is a bound its kept heads share with other decoders' (a transport's connections:
   * see KeptHeadsBudget); call `forgetHeads()` when the stream is over, to give back their share.
   * `maxKeptHeadBytes` bounds what its kept heads cost (keptHeadCost; MAX_KEPT_HEAD_BYTES by
   * default), and `maxHeadCost` what one head may cost to be kept, or held as the last head
   * for its repeats (by default any head of up to 1 KiB): a costlier one is decoded in full
   * each time, and `release(true)` lets go of its routes. A secure channel end sets both low:
   * a node holds thousands of channels, and each one's peer chooses its heads.
   */
  constructor(options: { returnPrefix?: Address; recentHeads?: number; keptHeadsBudget?: KeptHeadsBudget; maxKeptHeadBytes?: number; maxHeadCost?: number } = {}) {
    this.#returnPrefix = options.returnPrefix;
    this.#recent = new RecentHeads(options.recentHeads, { maxBytes: options.maxKeptHeadBytes, budget: options.keptHeadsBudget });
    this.#maxHeadCost = options.maxHeadCost ?? Infinity;
  }

  /** What the heads it keeps now cost, as estimated (keptHeadCost): at most MAX_KEPT_HEAD_BYTES. */
  get keptHeadBytes(): number {
    return this.#recent.keptBytes;
  }

  /**
   * The stream is over: forgets the heads it keeps (giving back their share of the
   * `keptHeadsBudget`) and keeps no more. The last head stays, and decoding still works.
   */
  forgetHeads(): void {
    this.#recent.forget();
  }

  /**
   * Lets go of the last buffer decoded from (kept so that the next envelope of the same buffer
   * reuses its DataView): a caller that is done with a buffer (a secure channel with a record)
   * calls this so that an idle stream does not keep its last bytes alive. The cached head stays.
   * With `oneOffRoutes`, the routes of a last head it does not hold for repeats (one larger
   * than it caches, or costlier than `maxHeadCost`) go too (`onwardRoute` and `returnRoute`
   * are then empty): for a caller whose repeats of a head never outlast the buffer (a secure
   * channel's records), so that a peer's 64 KiB head does not stay with an idle stream.
   */
  release(oneOffRoutes = false): void {
    this.#bytes = NO_BYTES;
    this.#bytesView = NO_VIEW;
    if (oneOffRoutes && this.#headLength === 0) {
      this.onwardRoute = EMPTY_ROUTE;
      this.returnRoute = EMPTY_ROUTE;
    }
  }

  /**
   * Decodes the network envelope in `bytes[start, end)`; throws DecodeError (the previous
   * results are then undefined). `envelopeEnd` (past `end`, in the same coordinates) is for
   * an envelope of which `bytes` holds only the first piece: its head must lie in
   * `[start, end)`, and its payload runs to `envelopeEnd` (a frame that spanned socket reads).
   */
  decode(bytes: Uint8Array, start: number, end: number, envelopeEnd = end): void {
    const view = this.#viewOf(bytes);
    const h = this.#headLength;
    if (h > 0 && end - start >= h + this.#lengthSize && sameBytes(view, start, this.#headView, this.#headAt, h)) return this.#readLength(bytes, start, envelopeEnd);
    const known = this.#recent.find(bytes, start, end, view);
    if (known !== undefined && end - start >= known.length + known.lengthSize) {
      this.#use(known);
      return this.#readLength(bytes, start, envelopeEnd);
    }
    this.#headLength = 0;
    begin(bytes, start, end, envelopeEnd);
    readEnvelopeStart("network");
    const onward = readRoute("onward route", undefined);
    const returnRoute = readRoute("return route", this.#returnPrefix);
    const lengthAt = pos + 1;
    const length = readPayloadHeader();
    this.onwardRoute = adoptRoute(onward);
    this.returnRoute = adoptRoute(returnRoute);
    this.payloadOffset = pos;
    this.payloadLength = length;
    this.#lengthSize = (pos - lengthAt) as 1 | 2 | 4;
    finish();
    const headLength = lengthAt - start;
    if (headLength > MAX_CACHED_HEAD || (this.#maxHeadCost < Infinity && keptHeadCost(headLength, this.onwardRoute, this.returnRoute) > this.#maxHeadCost)) return;
    // Seen before: kept, in a copy (the frame's bytes may be reused once this returns), unless a shared budget is spent.
    const kept = this.#recent.sighted(start, headLength) ? this.#recent.keep(bytes, start, headLength, this.#lengthSize, this.onwardRoute, this.returnRoute) : undefined;
    if (kept !== undefined) this.#use(kept);
    else this.#ownCopy(bytes, start, headLength);
  }

  /** Copies the head just decoded into #own (grown if it is too short: sized to heads, as an idle decoder keeps it) and makes it the last head. */
  #ownCopy(bytes: Uint8Array, start: number, headLength: number): void {
    const own = keepCopy(this.#own, bytes, start, headLength, MAX_CACHED_HEAD);
    if (own !== this.#own) {
      this.#own = own;
      this.#ownView = new DataView(own.buffer);
    }
    this.#headLength = headLength;
    this.#headView = this.#ownView;
    this.#headAt = 0;
  }

  /** Takes `known` as the head of the envelope being decoded (and as the last head). */
  #use(known: KnownHead): void {
    this.#headLength = known.length;
    this.#headView = this.#recent.view;
    this.#headAt = known.at;
    this.#lengthSize = known.lengthSize;
    this.onwardRoute = known.onwardRoute;
    this.returnRoute = known.returnRoute;
  }

  /** Reads the payload length after the current head (which `bytes` at `start` matches). */
  #readLength(bytes: Uint8Array, start: number, end: number): void {
    const at = start + this.#headLength;
    const size = this.#lengthSize;
    const length = size === 4 ? readU32BE(bytes, at) : size === 2 ? (bytes[at]! << 8) | bytes[at + 1]! : bytes[at]!;
    const payloadOffset = at + size;
    if (payloadOffset + length !== end) throw lengthMismatch(length, end - payloadOffset);
    this.payloadOffset = payloadOffset;
    this.payloadLength = length;
  }

  /** A DataView of `bytes`, kept for the next frames of the same socket read. */
  #viewOf(bytes: Uint8Array): DataView {
    if (bytes === this.#bytes) return this.#bytesView;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // A large assembled frame is not kept alive.
    if (bytes.byteLength <= MAX_KEPT_BYTES) {
      this.#bytes = bytes;
      this.#bytesView = view;
    }
    return view;
  }
}

const NO_VIEW = new DataView(new ArrayBuffer(0));
/** A socket read is at most 64 KiB. */
const MAX_KEPT_BYTES = 64 * 1024;

const EMPTY_ROUTE = adoptRoute([]);

// The reader's state: one decode at a time (nothing it calls can call back into it).
let src: Uint8Array = NO_BYTES;
let pos = 0;
let limit = 0;
/** Where the routes of the head being read must end (readEnvelopeStart). */
let headLimit = Infinity;

/** Where the envelope ends: `limit`, unless the bytes at hand are only its first piece (EnvelopeHeadDecoder.decode). */
let envelopeLimit = 0;

function begin(bytes: Uint8Array, start: number, end: number, envelopeEnd = end): void {
  if (!(start >= 0 && start <= end && end <= bytes.length && envelopeEnd >= end)) throw new RangeError(`Cannot decode [${start}, ${end}) of ${bytes.length} bytes`);
  src = bytes;
  pos = start;
  limit = end;
  envelopeLimit = envelopeEnd;
}

/** The reader lets go of the bytes it read (a decoded frame's buffer is not kept alive by the codec). */
function finish(): void {
  src = NO_BYTES;
}

function need(n: number, what: string): void {
  if (pos + n > limit) throw new DecodeError(`The envelope ends inside the ${what}`);
}

function byte(what: string): number {
  if (pos >= limit) throw new DecodeError(`The envelope ends inside the ${what}`);
  return src[pos++]!;
}

function uint(size: 1 | 2 | 4, what: string): number {
  need(size, what);
  const at = pos;
  pos += size;
  return size === 1 ? src[at]! : size === 2 ? (src[at]! << 8) | src[at + 1]! : readU32BE(src, at);
}

function arrayLength(what: string): number {
  const tag = byte(what);
  if ((tag & 0xf0) === 0x90) return tag & 0x0f;
  if (tag === 0xdc) return uint(2, what);
  if (tag === 0xdd) return uint(4, what);
  throw new DecodeError(`The ${what} must be a msgpack array (tag 0x${tag.toString(16)})`);
}

function readEnvelopeStart(scope: EnvelopeScope): void {
  // From the network, a head's routes end within MAX_NETWORK_HEAD_BYTES of its start.
  headLimit = scope === "network" ? pos + MAX_NETWORK_HEAD_BYTES : Infinity;
  const elements = arrayLength("envelope");
  const expected = scope === "network" ? 3 : 4;
  if (elements === expected) return;
  if (scope === "network" && elements === 4) {
    throw new DecodeError("A network envelope has 3 elements; a 4-element (local) envelope never comes from the network");
  }
  throw new DecodeError(`A ${scope} envelope has ${expected} elements, this one has ${elements}`);
}

/** A route's addresses, after `prefix` if there is one: a fresh array for adoptRoute. */
function readRoute(what: "onward route" | "return route", prefix: Address | undefined): Address[] {
  const n = arrayLength(what);
  // The count a writer may write, whatever this reader prefixes: a route a conforming peer sent
  // is never malformed here (a prefixed one past the limit is refused if it is written on).
  if (n > MAX_ROUTE_LENGTH) throw new DecodeError(`The ${what} has more than ${MAX_ROUTE_LENGTH} addresses`);
  // Each address takes at least 3 bytes: refuse absurd counts before allocating.
  if (n * 3 > limit - pos) throw new DecodeError(`The ${what} announces more addresses than the envelope holds`);
  // A route of a few addresses is collected in the scratch array and copied out at exactly its
  // length: an array grown by push has room for 17, ≈ 0.13 KiB more per route, and the routes
  // of heads a connection keeps (one per channel) live long. A longer route (rare, and a peer
  // may send one of thousands) gets an array of its own, so that the scratch stays small.
  const into = n + (prefix ? 1 : 0) <= ROUTE_SCRATCH_ADDRESSES ? routeScratch : [];
  let count = 0;
  if (prefix) into[count++] = prefix;
  for (let i = 0; i < n; i++) {
    pairHeader(what);
    const type = addressType(what);
    const value = string(what);
    if (value.length === 0) throw new DecodeError(`An address of the ${what} has an empty value`);
    into[count++] = new Address(type, value);
  }
  if (into !== routeScratch) return into;
  const addresses = routeScratch.slice(0, count);
  routeScratch.fill(NO_ADDRESS, 0, count);
  return addresses;
}

/** Where readRoute collects a route of at most ROUTE_SCRATCH_ADDRESSES (one decode at a time, as the reader's state above). */
const routeScratch: Address[] = [];
const ROUTE_SCRATCH_ADDRESSES = 16;
/** What routeScratch holds where it held addresses, so that it keeps none alive. */
const NO_ADDRESS = new Address(0, "-");

/** The header of an address: a msgpack array of 2 elements. */
function pairHeader(what: string): void {
  const tag = byte(what);
  if (tag === 0x92) return;
  if (tag === 0xdc || tag === 0xdd) {
    pos--;
    if (arrayLength(what) === 2) return;
  }
  throw new DecodeError(`An address of the ${what} must be a [type, value] pair`);
}

/** An unsigned integer 0-255 in any msgpack integer spelling. */
function addressType(what: string): number {
  const tag = byte(what);
  if (tag < 0x80) return tag;
  let value: number;
  switch (tag) {
    case 0xcc: // uint8
      return uint(1, what);
    case 0xcd: // uint16
      value = uint(2, what);
      break;
    case 0xce: // uint32
      value = uint(4, what);
      break;
    case 0xcf: // uint64
      value = uint(4, what) === 0 ? uint(4, what) : 256;
      break;
    case 0xd0: // int8
      value = (uint(1, what) << 24) >> 24;
      break;
    case 0xd1: // int16
      value = (uint(2, what) << 16) >> 16;
      break;
    case 0xd2: // int32
      value = uint(4, what) | 0;
      break;
    case 0xd3: {
      // int64
      const high = uint(4, what);
      value = high === 0 ? uint(4, what) : -1;
      break;
    }
    default:
      throw new DecodeError(`An address type in the ${what} must be an integer`);
  }
  if (value < 0 || value > 255) throw new DecodeError(`An address type in the ${what} must be 0-255`);
  return value;
}

const utf8Slice = Buffer.prototype.utf8Slice as (this: Uint8Array, start: number, end: number) => string;
const fromCharCode = String.fromCharCode;

function string(what: string): string {
  const tag = byte(what);
  let length: number;
  if ((tag & 0xe0) === 0xa0) length = tag & 0x1f;
  else if (tag === 0xd9) length = uint(1, what);
  else if (tag === 0xda) length = uint(2, what);
  else if (tag === 0xdb) length = uint(4, what);
  else throw new DecodeError(`An address value in the ${what} must be a msgpack string`);
  if (length > MAX_ADDRESS_VALUE_BYTES) throw new DecodeError(`An address value in the ${what} is longer than ${MAX_ADDRESS_VALUE_BYTES} bytes`);
  if (pos + length > headLimit) throw new DecodeError(`The routes of a network envelope take more than ${MAX_NETWORK_HEAD_BYTES} bytes`);
  need(length, what);
  const start = pos;
  pos += length;
  if (length <= 8) {
    // Short names: cheaper by hand than through a native call.
    let text = "";
    for (let i = start; i < pos; i++) {
      const c = src[i]!;
      if (c >= 0x80) return utf8Slice.call(src, start, pos);
      text += fromCharCode(c);
    }
    return text;
  }
  return utf8Slice.call(src, start, pos);
}

/** Local info up to this many bytes may be kept as the last read (lastReadLocalInfo). */
const MAX_KEPT_LOCAL_INFO_BYTES = 512;

/**
 * The last local infos read that hold only primitive values (KEPT_LOCAL_INFOS, most recent
 * first), as their bytes and the frozen objects they decode to. The messages a secure channel
 * delivers to a thread all carry the same local info (the peer's identifier) under routes that
 * change with each request's reply address, so the whole head rarely repeats
 * (LocalEnvelopeDecoder) where the local info does: msgpackr's decode of it was a fifth of a
 * thread's work per message in the seed's echo (session 42). Only primitives, so that sharing
 * the object shares nothing a handler could change.
 */
const readLocalInfos: { readonly bytes: Uint8Array; readonly info: LocalInfo }[] = [];

function readLocalInfo(): LocalInfo {
  const start = pos;
  const tag = byte("local info");
  // What the writer writes for no local info: nil, or an empty map (fixmap, map16, map32).
  if (tag === 0xc0 || tag === 0x80) return NO_LOCAL_INFO;
  if (tag === 0xde || tag === 0xdf) {
    const entries = uint(tag === 0xde ? 2 : 4, "local info");
    if (entries === 0) return NO_LOCAL_INFO;
  } else if ((tag & 0xf0) !== 0x80) throw new DecodeError("Local info must be a map");
  pos = start;
  skipValue("local info");
  const kept = readLocalInfos;
  for (let i = 0; i < kept.length; i++) {
    const entry = kept[i]!;
    if (!sameBytesAt(src, start, pos, entry.bytes)) continue;
    if (i > 0) keepFirst(kept, i);
    return entry.info;
  }
  let value: unknown;
  try {
    // Its bytes values copied: local info outlives the batch it came in (see copyingUnpackr).
    value = copyingUnpackr().unpack(src, { start, end: pos });
  } catch {
    // msgpackr's message can quote what it decoded: never carry it along.
    throw new DecodeError("The local info is not valid msgpack");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new DecodeError("Local info must be a map");
  if (pos - start <= MAX_KEPT_LOCAL_INFO_BYTES && hasOnlyPrimitiveValues(value)) {
    const info = Object.freeze(value) as LocalInfo;
    // A copy whatever `src` is: Buffer's slice is a view, which the caller may overwrite.
    keepNew(kept, { bytes: Uint8Array.prototype.slice.call(src, start, pos), info });
    return info;
  }
  return value as LocalInfo;
}

/** Whether `bytes[start, end)` is exactly `kept`. */
function sameBytesAt(bytes: Uint8Array, start: number, end: number, kept: Uint8Array): boolean {
  if (end - start !== kept.length) return false;
  for (let i = 0; i < kept.length; i++) if (bytes[start + i] !== kept[i]) return false;
  return true;
}

function hasOnlyPrimitiveValues(map: object): boolean {
  for (const key in map) {
    const value = (map as Record<string, unknown>)[key];
    if (value !== null && typeof value === "object") return false;
  }
  return true;
}

/** Moves past one msgpack value (iteratively: nesting cannot exhaust the stack). */
function skipValue(what: string): void {
  let pending = 1;
  while (pending > 0) {
    pending--;
    const tag = byte(what);
    if (tag < 0x80 || tag >= 0xe0) continue; // fixint
    if (tag < 0x90) {
      pending += 2 * (tag & 0x0f); // fixmap
      continue;
    }
    if (tag < 0xa0) {
      pending += tag & 0x0f; // fixarray
      continue;
    }
    if (tag < 0xc0) {
      skip(tag & 0x1f, what); // fixstr
      continue;
    }
    switch (tag) {
      case 0xc0: // nil
      case 0xc2: // false
      case 0xc3: // true
        break;
      case 0xc4: // bin8
      case 0xd9: // str8
        skip(uint(1, what), what);
        break;
      case 0xc5: // bin16
      case 0xda: // str16
        skip(uint(2, what), what);
        break;
      case 0xc6: // bin32
      case 0xdb: // str32
        skip(uint(4, what), what);
        break;
      case 0xc7: // ext8
        skip(uint(1, what) + 1, what);
        break;
      case 0xc8: // ext16
        skip(uint(2, what) + 1, what);
        break;
      case 0xc9: // ext32
        skip(uint(4, what) + 1, what);
        break;
      case 0xca: // float32
        skip(4, what);
        break;
      case 0xcb: // float64
        skip(8, what);
        break;
      case 0xcc: // uint8
      case 0xd0: // int8
        skip(1, what);
        break;
      case 0xcd: // uint16
      case 0xd1: // int16
        skip(2, what);
        break;
      case 0xce: // uint32
      case 0xd2: // int32
        skip(4, what);
        break;
      case 0xcf: // uint64
      case 0xd3: // int64
        skip(8, what);
        break;
      case 0xd4: // fixext1
        skip(2, what);
        break;
      case 0xd5: // fixext2
        skip(3, what);
        break;
      case 0xd6: // fixext4
        skip(5, what);
        break;
      case 0xd7: // fixext8
        skip(9, what);
        break;
      case 0xd8: // fixext16
        skip(17, what);
        break;
      case 0xdc: // array16
        pending += uint(2, what);
        break;
      case 0xdd: // array32
        pending += uint(4, what);
        break;
      case 0xde: // map16
        pending += 2 * uint(2, what);
        break;
      case 0xdf: // map32
        pending += 2 * uint(4, what);
        break;
      default: // 0xc1 is never used
        throw new DecodeError(`The ${what} is not valid msgpack`);
    }
    // Every pending value takes at least a byte.
    if (pending > limit - pos) throw new DecodeError(`The envelope ends inside the ${what}`);
  }
}

function skip(n: number, what: string): void {
  need(n, what);
  pos += n;
}

/** Reads the payload's bin header; the payload must run exactly to the end of the envelope. */
function readPayloadHeader(): number {
  const tag = byte("payload header");
  const size = tag === 0xc4 ? 1 : tag === 0xc5 ? 2 : tag === BIN32 ? 4 : 0;
  if (size === 0) throw new DecodeError("The payload must be a msgpack byte string (bin)");
  const length = uint(size, "payload header");
  if (pos + length !== envelopeLimit) throw lengthMismatch(length, envelopeLimit - pos);
  return length;
}

function lengthMismatch(announced: number, held: number): DecodeError {
  return new DecodeError(`The payload announces ${announced} bytes but the envelope holds ${held} after the head`);
}
