import { decodeEnvelope } from "../codec/envelope.js";
import type { LocalMessage } from "../message/local-message.js";
import type { FrameSink } from "./frames.js";

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

/** Writes `message` as a local envelope frame: its raw bytes if it has them, else encoded in place. */
export function writeEnvelope(sink: FrameSink, kind: number, message: LocalMessage): void {
  const raw = (message as WithRaw)[RAW];
  if (raw) sink.push(kind, raw);
  else sink.pushEnvelope(kind, message);
}
