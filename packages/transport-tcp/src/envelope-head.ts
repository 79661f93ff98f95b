import { Address, Route } from "@hopwire/runtime";
import { MalformedFrameError } from "./errors.js";

/*
 * The network envelope, as the runtime's codec defines it, is the msgpack array
 *   [onwardRoute, returnRoute, payload]      route = [[type, value], ...], payload = bin
 * Because the payload comes last, the transport reads and writes only the head (everything
 * before the payload bytes) itself: receiving decodes the two routes and takes the payload
 * as a view of the frame; sending writes the head into the batch buffer and hands the
 * payload to the socket as it is. Nothing here touches payload bytes.
 *
 * The writer emits exactly what the runtime's encodeEnvelopeHead emits (fixarray / array16
 * / array32 headers, the shortest string header, a bin32 payload header); the reader
 * accepts any valid msgpack spelling of the same structure.
 */

const BIN32 = 0xc6;

/** Upper bound of the bytes `writeHead` writes for these routes (strings counted at 3 bytes a char). */
export function headBound(onward: readonly Address[], skip: number, returnRoute: readonly Address[]): number {
  let n = 1 + 5 + 5 + 5;
  for (let i = skip; i < onward.length; i++) n += 1 + 2 + 5 + 3 * onward[i]!.value.length;
  for (const a of returnRoute) n += 1 + 2 + 5 + 3 * a.value.length;
  return n;
}

/**
 * Writes the envelope head at `offset` of `out`: the onward route without its first `skip`
 * hops, the return route, and the bin32 header announcing `payloadLength` bytes. Returns
 * the offset after the head. `out` must hold `headBound(...)` bytes from `offset`.
 */
export function writeHead(
  out: Buffer,
  offset: number,
  onward: readonly Address[],
  skip: number,
  returnRoute: readonly Address[],
  payloadLength: number,
): number {
  out[offset++] = 0x93;
  offset = writeRoute(out, offset, onward, skip);
  offset = writeRoute(out, offset, returnRoute, 0);
  out[offset] = BIN32;
  out.writeUInt32BE(payloadLength, offset + 1);
  return offset + 5;
}

function writeRoute(out: Buffer, offset: number, addresses: readonly Address[], skip: number): number {
  const n = addresses.length - skip;
  if (n < 16) out[offset++] = 0x90 | n;
  else if (n < 0x10000) {
    out[offset] = 0xdc;
    out.writeUInt16BE(n, offset + 1);
    offset += 3;
  } else {
    out[offset] = 0xdd;
    out.writeUInt32BE(n, offset + 1);
    offset += 5;
  }
  for (let i = skip; i < addresses.length; i++) {
    const a = addresses[i]!;
    out[offset++] = 0x92;
    if (a.type < 0x80) out[offset++] = a.type;
    else {
      out[offset++] = 0xcc;
      out[offset++] = a.type;
    }
    offset = writeString(out, offset, a.value);
  }
  return offset;
}

function writeString(out: Buffer, offset: number, value: string): number {
  const length = value.length;
  // Addresses are nearly always ASCII and short: write them char by char after the shortest header.
  if (length < 32) {
    let ascii = true;
    for (let i = 0; i < length; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      out[offset + 1 + i] = c;
    }
    if (ascii) {
      out[offset] = 0xa0 | length;
      return offset + 1 + length;
    }
  }
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes < 32) out[offset++] = 0xa0 | bytes;
  else if (bytes < 0x100) {
    out[offset++] = 0xd9;
    out[offset++] = bytes;
  } else if (bytes < 0x10000) {
    out[offset] = 0xda;
    out.writeUInt16BE(bytes, offset + 1);
    offset += 3;
  } else {
    out[offset] = 0xdb;
    out.writeUInt32BE(bytes, offset + 1);
    offset += 5;
  }
  out.write(value, offset, bytes, "utf8");
  return offset + bytes;
}

/** A decoded network envelope: routes as address arrays, payload as a view of the frame. */
export interface DecodedEnvelope {
  onward: Address[];
  returnRoute: Address[];
  payload: Buffer;
  /** Bytes of the head before the payload length field, and the size of that field. */
  headLength: number;
  lengthSize: 1 | 2 | 4;
}

/**
 * Decodes the envelope in `bytes[start, end)` (a whole frame); throws MalformedFrameError
 * saying what is wrong (never quoting the bytes).
 */
export function readEnvelope(bytes: Buffer, start = 0, end = bytes.length): DecodedEnvelope {
  const reader = new HeadReader(bytes, start, end);
  const elements = reader.arrayLength("envelope");
  if (elements !== 3) {
    throw new MalformedFrameError(
      elements === 4
        ? "A network envelope has 3 elements; a 4-element (local) envelope never comes from the network"
        : `A network envelope has 3 elements, this one has ${elements}`,
    );
  }
  const onward = reader.route("onward");
  const returnRoute = reader.route("return");
  const { length: payloadLength, size } = reader.binHeader();
  if (reader.offset + payloadLength !== end) {
    throw new MalformedFrameError(
      `The payload announces ${payloadLength} bytes but the frame holds ${end - reader.offset} after the head`,
    );
  }
  return {
    onward,
    returnRoute,
    payload: bytes.subarray(reader.offset, end),
    headLength: reader.offset - start - size,
    lengthSize: size,
  };
}

/** Heads longer than this are not cached. */
const MAX_CACHED_HEAD = 1024;

/**
 * A connection's envelope decoder. Consecutive frames usually carry the same routes, so
 * it keeps the previous frame's head bytes and routes: a frame whose head matches byte
 * for byte (up to the payload length) reuses them, and nothing but the payload length is
 * read. Otherwise the head is decoded in full.
 */
export class EnvelopeDecoder {
  /** Results of the last `decode`. */
  onward: Route = Route.EMPTY;
  returnRoute: Route = Route.EMPTY;
  payload: Buffer = Buffer.alloc(0);
  #head: Buffer = Buffer.alloc(0);
  #lengthSize: 1 | 2 | 4 = 4;

  /** `returnPrefix` is prepended to every return route (the connection's sender). */
  constructor(readonly returnPrefix: Address | undefined) {}

  decode(bytes: Buffer, start: number, end: number): void {
    const head = this.#head;
    const h = head.length;
    if (h > 0 && end - start >= h + this.#lengthSize) {
      let same = true;
      for (let i = 0; i < h; i++) {
        if (bytes[start + i] !== head[i]) {
          same = false;
          break;
        }
      }
      if (same) {
        const at = start + h;
        const size = this.#lengthSize;
        const length = size === 4 ? bytes.readUInt32BE(at) : size === 2 ? bytes.readUInt16BE(at) : bytes[at]!;
        const payloadStart = at + size;
        if (payloadStart + length !== end) {
          throw new MalformedFrameError(`The payload announces ${length} bytes but the frame holds ${end - payloadStart} after the head`);
        }
        this.payload = bytes.subarray(payloadStart, end);
        return;
      }
    }
    const decoded = readEnvelope(bytes, start, end);
    if (this.returnPrefix) decoded.returnRoute.unshift(this.returnPrefix);
    this.onward = new Route(decoded.onward);
    this.returnRoute = new Route(decoded.returnRoute);
    this.payload = decoded.payload;
    this.#lengthSize = decoded.lengthSize;
    this.#head = decoded.headLength <= MAX_CACHED_HEAD ? Buffer.from(bytes.subarray(start, start + decoded.headLength)) : Buffer.alloc(0);
  }
}

class HeadReader {
  offset: number;
  constructor(
    readonly bytes: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.offset = start;
  }

  #need(n: number, what: string): void {
    if (this.offset + n > this.end) throw new MalformedFrameError(`The frame ends inside the ${what}`);
  }

  #byte(what: string): number {
    this.#need(1, what);
    return this.bytes[this.offset++]!;
  }

  #uint(size: 1 | 2 | 4, what: string): number {
    this.#need(size, what);
    const b = this.bytes;
    const o = this.offset;
    this.offset += size;
    return size === 1 ? b[o]! : size === 2 ? b.readUInt16BE(o) : b.readUInt32BE(o);
  }

  arrayLength(what: string): number {
    const tag = this.#byte(what);
    if ((tag & 0xf0) === 0x90) return tag & 0x0f;
    if (tag === 0xdc) return this.#uint(2, what);
    if (tag === 0xdd) return this.#uint(4, what);
    throw new MalformedFrameError(`The ${what} must be a msgpack array (tag 0x${tag.toString(16)})`);
  }

  route(which: string): Address[] {
    const what = `${which} route`;
    const n = this.arrayLength(what);
    // Each address takes at least 3 bytes: refuse absurd counts before allocating.
    if (n * 3 > this.end - this.offset) throw new MalformedFrameError(`The ${what} announces more addresses than the frame holds`);
    const addresses = new Array<Address>(n);
    for (let i = 0; i < n; i++) {
      if (this.arrayLength(`address of the ${what}`) !== 2) {
        throw new MalformedFrameError(`An address of the ${what} must be a [type, value] pair`);
      }
      const type = this.#addressType(what);
      const value = this.#string(what);
      if (value.length === 0) throw new MalformedFrameError(`An address of the ${what} has an empty value`);
      addresses[i] = new Address(type, value);
    }
    return addresses;
  }

  #addressType(what: string): number {
    const tag = this.#byte(what);
    let value: number;
    if (tag < 0x80) value = tag;
    else if (tag === 0xcc) value = this.#uint(1, what);
    else if (tag === 0xcd) value = this.#uint(2, what);
    else if (tag === 0xce) value = this.#uint(4, what);
    else throw new MalformedFrameError(`An address type in the ${what} must be an unsigned integer`);
    if (value > 255) throw new MalformedFrameError(`An address type in the ${what} exceeds 255`);
    return value;
  }

  #string(what: string): string {
    const tag = this.#byte(what);
    let length: number;
    if ((tag & 0xe0) === 0xa0) length = tag & 0x1f;
    else if (tag === 0xd9) length = this.#uint(1, what);
    else if (tag === 0xda) length = this.#uint(2, what);
    else if (tag === 0xdb) length = this.#uint(4, what);
    else throw new MalformedFrameError(`An address value in the ${what} must be a msgpack string`);
    this.#need(length, what);
    const start = this.offset;
    this.offset += length;
    return this.bytes.toString("utf8", start, start + length);
  }

  binHeader(): { length: number; size: 1 | 2 | 4 } {
    const tag = this.#byte("payload header");
    const size = tag === 0xc4 ? 1 : tag === 0xc5 ? 2 : tag === 0xc6 ? 4 : 0;
    if (size === 0) throw new MalformedFrameError("The payload must be a msgpack byte string (bin)");
    return { length: this.#uint(size, "payload header"), size };
  }
}
