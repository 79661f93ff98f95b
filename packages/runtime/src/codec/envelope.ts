import { Address } from "../address/address.js";
import { DecodeError } from "../errors/errors.js";
import { LocalMessage, NO_LOCAL_INFO, type LocalInfo } from "../message/local-message.js";
import { Route } from "../route/route.js";
import { packr } from "./packr.js";

/**
 * Envelopes are msgpack arrays whose last element is the payload as a msgpack bin:
 *   network: [onwardRoute, returnRoute, payload]
 *   local (between threads of one node): [onwardRoute, returnRoute, localInfo, payload]
 * A route is an array of [type, value] pairs. Because the payload comes last, an envelope
 * can be written as a small head followed by the untouched payload bytes, so a relay
 * rewrites routes without copying payloads.
 */
const BIN32 = 0xc6;
/** An empty map as msgpackr writes it (map16 with no entries). */
const EMPTY_MAP = Uint8Array.of(0xde, 0x00, 0x00);

/**
 * The bytes that precede the payload in an envelope (array header … bin32 header), in a
 * fresh buffer the caller owns. To write many envelopes into one buffer without an
 * allocation per message, use `envelopeHeadBound` and `writeEnvelopeHead`.
 */
export function encodeEnvelopeHead(message: LocalMessage, scope: "network" | "local"): Uint8Array {
  const bound = envelopeHeadBound(message, scope);
  if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(Math.max(bound, scratch.length * 2));
  const end = writeEnvelopeHead(scratch, 0, message, scope);
  // A fresh, exact copy: the caller owns it (it may be transferred or kept).
  return Uint8Array.prototype.slice.call(scratch, 0, end);
}

/** Where `encodeEnvelopeHead` writes before copying out. */
let scratch = Buffer.allocUnsafeSlow(4096);

/** At least the number of bytes `writeEnvelopeHead` writes for `message`. */
export function envelopeHeadBound(message: LocalMessage, scope: "network" | "local"): number {
  const info = scope === "local" ? localInfoBytes(message.localInfo) : undefined;
  return 1 + routeBound(message.onwardRoute.addresses) + routeBound(message.returnRoute.addresses) + (scope === "local" ? (info ? info.length : EMPTY_MAP.length) : 0) + 5;
}

/**
 * Writes the head of `message`'s envelope into `target` at `offset` (which must have
 * `envelopeHeadBound` bytes of room) and returns the offset after it, where the payload goes.
 * Routes are written by hand (this runs once per message per hop); the bytes are exactly
 * what msgpackr writes for the same arrays: the smallest msgpack header for each length.
 */
export function writeEnvelopeHead(target: Buffer, offset: number, message: LocalMessage, scope: "network" | "local"): number {
  target[offset] = scope === "network" ? 0x93 : 0x94;
  let at = writeRoute(target, offset + 1, message.onwardRoute.addresses);
  at = writeRoute(target, at, message.returnRoute.addresses);
  if (scope === "local") {
    const info = localInfoBytes(message.localInfo);
    const bytes = info ?? EMPTY_MAP;
    target.set(bytes, at);
    at += bytes.length;
  }
  target[at] = BIN32;
  target.writeUInt32BE(message.payload.length, at + 1);
  return at + 5;
}

let lastLocalInfo: LocalInfo | undefined;
let lastLocalInfoBytes: Uint8Array | undefined;

/**
 * The msgpack bytes of non-empty local info (undefined when empty). The last one is kept:
 * the messages of one channel or connection usually share their local info object, which is
 * read-only by contract.
 */
function localInfoBytes(info: LocalInfo): Uint8Array | undefined {
  if (info === NO_LOCAL_INFO) return undefined;
  if (info === lastLocalInfo) return lastLocalInfoBytes;
  const bytes = hasKeys(info) ? Uint8Array.from(packr.pack(info)) : undefined;
  lastLocalInfo = info;
  lastLocalInfoBytes = bytes;
  return bytes;
}

function hasKeys(object: object): boolean {
  for (const _ in object) return true;
  return false;
}

/** An upper bound of a route's encoded size: headers + 3 bytes per UTF-16 unit of each value. */
function routeBound(addresses: readonly Address[]): number {
  let size = 5;
  for (const a of addresses) size += 1 + 2 + 5 + 3 * a.value.length;
  return size;
}

function writeArrayHeader(out: Buffer, at: number, length: number): number {
  if (length < 16) {
    out[at] = 0x90 | length;
    return at + 1;
  }
  if (length < 0x10000) {
    out[at] = 0xdc;
    out.writeUInt16BE(length, at + 1);
    return at + 3;
  }
  out[at] = 0xdd;
  out.writeUInt32BE(length, at + 1);
  return at + 5;
}

function writeRoute(out: Buffer, at: number, addresses: readonly Address[]): number {
  at = writeArrayHeader(out, at, addresses.length);
  for (const address of addresses) {
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
  let ascii = length < 32;
  if (ascii) {
    for (let i = 0; i < length; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      out[at + 1 + i] = c;
    }
  }
  if (ascii) {
    out[at] = 0xa0 | length;
    return at + 1 + length;
  }
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes < 32) {
    out[at++] = 0xa0 | bytes;
  } else if (bytes < 0x100) {
    out[at++] = 0xd9;
    out[at++] = bytes;
  } else if (bytes < 0x10000) {
    out[at++] = 0xda;
    out.writeUInt16BE(bytes, at);
    at += 2;
  } else {
    out[at++] = 0xdb;
    out.writeUInt32BE(bytes, at);
    at += 4;
  }
  return at + out.write(value, at, bytes, "utf8");
}

/** A whole envelope in one fresh buffer (head + payload). */
export function encodeEnvelope(message: LocalMessage, scope: "network" | "local"): Uint8Array {
  const head = encodeEnvelopeHead(message, scope);
  const out = new Uint8Array(head.length + message.payload.length);
  out.set(head, 0);
  out.set(message.payload, head.length);
  return out;
}

/**
 * Decodes an envelope. The payload is returned as a view into `bytes` (no copy).
 * Network envelopes never carry local info: a 4-element envelope from the network is rejected.
 */
export function decodeEnvelope(bytes: Uint8Array, scope: "network" | "local"): LocalMessage {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch {
    // msgpackr's message can quote the decoded value (a payload): never carry it along.
    throw new DecodeError("The envelope is not valid msgpack");
  }
  const expected = scope === "network" ? 3 : 4;
  if (!Array.isArray(value) || value.length !== expected) {
    throw new DecodeError(`An envelope must be an array of ${expected} elements`);
  }
  const payload = value[expected - 1];
  if (!(payload instanceof Uint8Array)) throw new DecodeError("The envelope's payload must be a byte string");
  const localInfo = scope === "local" ? decodeLocalInfo(value[2]) : NO_LOCAL_INFO;
  return new LocalMessage(decodeRoute(value[0], "onward"), decodeRoute(value[1], "return"), payload, localInfo);
}

function decodeRoute(value: unknown, which: string): Route {
  if (!Array.isArray(value)) throw new DecodeError(`The ${which} route must be an array`);
  const addresses: Address[] = [];
  for (const entry of value) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "number" || typeof entry[1] !== "string") {
      throw new DecodeError(`The ${which} route holds a malformed address`);
    }
    try {
      addresses.push(new Address(entry[0], entry[1]));
    } catch (cause) {
      throw new DecodeError(`The ${which} route holds an invalid address`, { cause });
    }
  }
  return new Route(addresses);
}

function decodeLocalInfo(value: unknown): LocalInfo {
  if (value === null || value === undefined) return NO_LOCAL_INFO;
  if (typeof value !== "object" || Array.isArray(value)) throw new DecodeError("Local info must be a map");
  return value as LocalInfo;
}
