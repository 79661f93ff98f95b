import { decodeEnvelope, encodeEnvelopeHead } from "../codec/envelope.js";
import type { LocalMessage } from "../message/local-message.js";

/**
 * Local-scope envelope bytes of messages decoded from a batch. A message that crosses from
 * one thread to another unchanged (a thread worker replying to another thread worker) is
 * copied into the next batch as is, without being encoded again.
 */
const rawEnvelopes = new WeakMap<LocalMessage, Uint8Array>();

/** Decodes a local envelope (payload and raw bytes stay views into the batch). */
export function decodeLocalEnvelope(bytes: Uint8Array): LocalMessage {
  const message = decodeEnvelope(bytes, "local");
  rawEnvelopes.set(message, bytes);
  return message;
}

/** Writes `message` as a local envelope frame: its raw bytes if it has them, else head + payload. */
export function writeEnvelope(push: (kind: number, head: Uint8Array, tail?: Uint8Array) => void, kind: number, message: LocalMessage): void {
  const raw = rawEnvelopes.get(message);
  if (raw) push(kind, raw);
  else push(kind, encodeEnvelopeHead(message, "local"), message.payload);
}
