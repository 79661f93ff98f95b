import { decodeEnvelope } from "../codec/envelope.js";
import type { LocalMessage } from "../message/local-message.js";
import { FRAME_HEADER, type FrameSink } from "./frames.js";

/**
 * A message decoded from a batch remembers its local-scope envelope bytes, so that a
 * message crossing from one thread to another unchanged (a thread worker replying to
 * another thread worker) is copied into the next batch as is, without being encoded again.
 * LocalMessage is immutable (every `with…` makes a new one), so the bytes cannot go stale.
 * A symbol-keyed field rather than a WeakMap: a WeakMap entry per message costs the
 * garbage collector dearly at hundreds of thousands of messages a second.
 */
const RAW = Symbol("hopwire.rawEnvelope");

type WithRaw = LocalMessage & { [RAW]?: Uint8Array };

/** Decodes a local envelope (payload and raw bytes stay views into the batch). */
export function decodeLocalEnvelope(bytes: Uint8Array): LocalMessage {
  const message = decodeEnvelope(bytes, "local") as WithRaw;
  message[RAW] = bytes;
  return message;
}

/** Writes `message` as a local envelope frame (its raw bytes if it has them, else encoded in place); returns the frame's size. */
export function writeEnvelope(sink: FrameSink, kind: number, message: LocalMessage): number {
  const raw = (message as WithRaw)[RAW];
  return raw ? sink.push(kind, raw) : sink.pushEnvelope(kind, message);
}

/** The size of the frame a decoded message arrived in (0 for a message that was not decoded from a batch). */
export function frameSizeOf(message: LocalMessage): number {
  const raw = (message as WithRaw)[RAW];
  return raw ? raw.length + FRAME_HEADER : 0;
}
