import { DecodeError, EncodeError, InvalidOptionError } from "../errors/errors.js";
import { describeValue } from "../util/describe-type.js";
import { LocalMessage, NO_LOCAL_INFO, type LocalInfo } from "../message/local-message.js";
import type { Route } from "../route/route.js";
import { copyBytes } from "../util/bytes.js";
import { allocBodyBytes } from "./body-slab.js";
import { estimateDecodedBytes } from "./decoded-size.js";
import { packValue, packr } from "./packr.js";
import { findUnencodable } from "./unencodable.js";

/**
 * Encodes a message body (string, bytes, any msgpack-encodable value) as payload bytes.
 * Throws EncodeError, naming the bad value's path, for a body holding a function, a symbol
 * or a bigint wider than 64 bits (they would otherwise arrive as undefined or not at all).
 */
export function encodeBody(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return encodeBytes(body);
  try {
    return packValue(body);
  } catch (cause) {
    throw unencodableError("The message body cannot be encoded", "body", body, cause);
  }
}

/** An EncodeError for `value`, with the path of its first unencodable part when one is found. */
export function unencodableError(what: string, root: string, value: unknown, cause: unknown): EncodeError {
  const found = findUnencodable(value, root);
  if (!found) return new EncodeError(what, { cause });
  return new EncodeError(`${what}: ${found.path} is ${found.kind}`, { cause, path: found.path });
}

/** A map whose keys are not all strings or numbers: msgpack carries it, a body (maps as plain objects) cannot hold it. */
const NON_STRING_KEY =
  "The body holds a map with a key that is not a string or a number (e.g. a Map with object keys): bodies decode maps as plain objects, so the sender must use string or number keys (or an array of [key, value] pairs)";

/**
 * The most heap a body may decode to by default (estimated from its msgpack structure, see
 * decoded-size.ts): 64 MiB. A body of ordinary objects a few MiB long stays under it; what
 * bodies that are no larger decoded to before (1 GiB and 4 s for 16 MiB of empty maps, a
 * process's whole heap for 2.3 MB of index-like keys) does not.
 */
export const DEFAULT_MAX_DECODED_BODY_BYTES = 64 * 1024 * 1024;

/** Options of decodeBody. */
export interface DecodeBodyOptions {
  /**
   * The most heap, in bytes, the decoded value may take (estimated from the body's msgpack
   * structure before decoding; DEFAULT_MAX_DECODED_BODY_BYTES, 64 MiB): past it, DecodeError
   * and nothing decoded. Infinity takes any size (only from a sender you trust); what the
   * body holds is checked all the same (only what encodeBody writes).
   */
  maxDecodedBytes?: number;
}

/**
 * Decodes a message payload written by the body codec back to the value that was sent; throws
 * DecodeError on bad input: bytes that are not msgpack, msgpack that encodeBody does not write
 * (msgpackr's other extensions, bytes after the value), and a body that would decode to more
 * than `maxDecodedBytes` of objects (a message's `body` uses the default; decode its `payload`
 * with a larger bound to take such bodies from a sender you trust).
 */
export function decodeBody(payload: Uint8Array, options?: DecodeBodyOptions): unknown {
  const bytes = decodeBytes(payload);
  if (bytes !== undefined) return bytes;
  checkDecodedSize(payload, maxDecodedBytesOf(options));
  try {
    return packr().unpack(payload);
  } catch (error) {
    // msgpackr's message can quote the decoded value (plaintext): never carry it along.
    if (error instanceof Error && error.message.startsWith("Invalid property type")) throw new DecodeError(NON_STRING_KEY);
    throw new DecodeError("The payload is not a msgpack-encoded body");
  }
}

/**
 * The bound that decodeBody's (or a sendAndReceive's) options give; InvalidOptionError,
 * prefixed with `what`, for anything but a positive number or Infinity.
 */
export function maxDecodedBytesOf(options: DecodeBodyOptions | undefined, what = "decodeBody options"): number {
  const limit = options?.maxDecodedBytes;
  if (limit === undefined) return DEFAULT_MAX_DECODED_BODY_BYTES;
  if (typeof limit !== "number" || !(limit > 0)) {
    throw new InvalidOptionError(`${what}: maxDecodedBytes must be a positive number of bytes or Infinity, got ${describeValue(limit)}`, { option: "maxDecodedBytes" });
  }
  return limit;
}

/**
 * Refuses `payload` if decoding it would take more than `limit` bytes of heap, or if it is not
 * what encodeBody writes (decoded-size.ts): before msgpackr sees it, every body (bytes aside).
 */
function checkDecodedSize(payload: Uint8Array, limit: number): void {
  const cost = estimateDecodedBytes(payload, limit);
  if (typeof cost !== "number") throw new DecodeError(`The body ${cost.why}: refused, nothing decoded`);
  if (cost > limit) {
    throw new DecodeError(
      `The body would decode to more than ${limit} bytes of objects (estimated from its ${payload.length} bytes of msgpack): ` +
        "refused, nothing decoded. From a sender you trust, decode its payload with decodeBody(payload, { maxDecodedBytes }); " +
        "or send large data as bytes",
    );
  }
}

/**
 * Bytes are the hot case (relays, channels, benchmarks): writing msgpack's bin header by
 * hand skips msgpackr's per-call set-up, and small results are carved from a slab
 * (body-slab.ts). The output is exactly what msgpackr writes for the same bytes. The bytes
 * are copied here, at the send: the caller may reuse its buffer as soon as `send` returns.
 */
function encodeBytes(bytes: Uint8Array): Uint8Array {
  const out = allocBodyBytes(bytesBodyLength(bytes));
  writeBytesBody(out, 0, bytes);
  return out;
}

/** The length of msgpack's bin header for `n` bytes (bin8, bin16 or bin32). */
function binHeaderLength(n: number): number {
  return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Writes msgpack's bin header for `n` bytes at `at` in `target`, as msgpackr does. */
function writeBinHeader(target: Uint8Array, n: number, at = 0): void {
  const head = binHeaderLength(n);
  target[at] = head === 2 ? 0xc4 : head === 3 ? 0xc5 : 0xc6;
  for (let i = 1; i < head; i++) target[at + i] = n >>> (8 * (head - 1 - i));
}

/** The length of `encodeBody(bytes)`: msgpack's bin header, then the bytes. */
export function bytesBodyLength(bytes: Uint8Array): number {
  return binHeaderLength(bytes.length) + bytes.length;
}

/** Writes `encodeBody(bytes)` into `target` at `at` (which has room for `bytesBodyLength(bytes)`). */
export function writeBytesBody(target: Uint8Array, at: number, bytes: Uint8Array): void {
  const n = bytes.length;
  writeBinHeader(target, n, at);
  copyBytes(target, at + binHeaderLength(n), bytes);
}

/**
 * A message carrying `body`: a bytes body lent (its parts, see lentBytesParts) when `lend`
 * says the message is copied before the send returns, any other body encoded (copied) now.
 */
export function bodyMessage(onward: Route, returnRoute: Route, body: unknown, localInfo: LocalInfo, lend: boolean): LocalMessage {
  return lend && body instanceof Uint8Array ? lentBytesMessage(onward, returnRoute, body, localInfo) : new LocalMessage(onward, returnRoute, encodeBody(body), localInfo);
}

/**
 * The message of a bytes body lent by a send (see lentBytesParts): what a mailbox with
 * `deliverBytes` takes when it cannot write the bytes without one (a head it has not written).
 */
export function lentBytesMessage(onward: Route, returnRoute: Route, bytes: Uint8Array, localInfo: LocalInfo = NO_LOCAL_INFO): LocalMessage {
  return LocalMessage.fromParts(onward, returnRoute, lentBytesParts(bytes), localInfo);
}

/**
 * A bytes body as the parts of a payload, not copied: its msgpack bin header, then the
 * caller's bytes. Joined, they are exactly `encodeBody(bytes)`. Only for a message that is
 * copied before the send returns (a first hop with Mailbox.copiesOnDeliver): the caller
 * may reuse its buffer after that. The header is shared between sends of one length.
 */
export function lentBytesParts(bytes: Uint8Array): readonly Uint8Array[] {
  const n = bytes.length;
  if (n !== lentHeaderLength) {
    lentHeader = new Uint8Array(binHeaderLength(n));
    writeBinHeader(lentHeader, n);
    lentHeaderLength = n;
  }
  return [lentHeader, bytes];
}

/** The bin header of the last length lent (a sender mostly repeats its size); never changed once made. */
let lentHeader = Uint8Array.of(0xc4, 0);
let lentHeaderLength = 0;

/**
 * A payload that is one msgpack bin and nothing else, as msgpackr reads it: a view of its
 * bytes, of the payload's own class (a Buffer's is a Buffer). Every reply of an echo and
 * every bytes body comes this way; msgpackr's per-call set-up cost more than the decoding.
 * Anything else (another type, a length that does not fill the payload exactly): undefined,
 * and msgpackr decides.
 */
function decodeBytes(payload: Uint8Array): Uint8Array | undefined {
  const n = payload.length;
  if (n < 2) return undefined;
  const tag = payload[0];
  let head: number;
  let length: number;
  if (tag === 0xc4) {
    head = 2;
    length = payload[1]!;
  } else if (tag === 0xc5 && n >= 3) {
    head = 3;
    length = (payload[1]! << 8) | payload[2]!;
  } else if (tag === 0xc6 && n >= 5) {
    head = 5;
    length = ((payload[1]! << 24) | (payload[2]! << 16) | (payload[3]! << 8) | payload[4]!) >>> 0;
  } else return undefined;
  return head + length === n ? payload.subarray(head, n) : undefined;
}
