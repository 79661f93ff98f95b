import { DecodeError, EncodeError } from "../errors/errors.js";
import { packr } from "./packr.js";
import { findUnencodable } from "./unencodable.js";

/**
 * Encodes a message body (string, bytes, any msgpack-encodable value) as payload bytes.
 * Throws EncodeError, naming the bad value's path, for a body holding a function, a symbol
 * or a bigint wider than 64 bits (they would otherwise arrive as undefined or not at all).
 */
export function encodeBody(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return encodeBytes(body);
  try {
    return packr.pack(body);
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

export function decodeBody(payload: Uint8Array): unknown {
  try {
    return packr.unpack(payload);
  } catch {
    // msgpackr's message can quote the decoded value (plaintext): never carry it along.
    throw new DecodeError("The payload is not a msgpack-encoded body");
  }
}

/**
 * Bytes are the hot case (relays, channels, benchmarks): writing msgpack's bin header by
 * hand skips msgpackr's per-call set-up, and small results come from Node's shared pool.
 * The output is exactly what msgpackr writes for the same bytes.
 */
function encodeBytes(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  const head = n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  const out = Buffer.allocUnsafe(head + n);
  if (head === 2) {
    out[0] = 0xc4;
    out[1] = n;
  } else if (head === 3) {
    out[0] = 0xc5;
    out.writeUInt16BE(n, 1);
  } else {
    out[0] = 0xc6;
    out.writeUInt32BE(n, 1);
  }
  out.set(bytes, head);
  return out;
}
