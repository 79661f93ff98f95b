import { DecodeError, EncodeError } from "../errors/errors.js";
import { packr } from "./packr.js";

/** Encodes a message body (string, bytes, any msgpack-encodable value) as payload bytes. */
export function encodeBody(body: unknown): Uint8Array {
  try {
    return packr.pack(body);
  } catch (cause) {
    throw new EncodeError("The message body is not msgpack-encodable", { cause });
  }
}

/** Decodes a message payload written by the body codec back to the value that was sent; throws DecodeError on bad input. */
export function decodeBody(payload: Uint8Array): unknown {
  try {
    return packr.unpack(payload);
  } catch {
    // msgpackr's message can quote the decoded value (plaintext): never carry it along.
    throw new DecodeError("The payload is not a msgpack-encoded body");
  }
}
