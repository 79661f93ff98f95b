import { decodeEnvelope } from "../codec/envelope.js";
import { readU32BE } from "../util/bytes.js";
import { LocalMessage, type LocalInfo } from "../message/local-message.js";
import type { Route } from "../route/route.js";
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

/** The bin32 tag that writeEnvelopeHead puts before every payload. */
const BIN32 = 0xc6;
/** Heads longer than this are not remembered (a head is routes and local info: ~40-200 bytes). */
const MAX_REMEMBERED_HEAD = 1024;
const NO_HEAD = new Uint8Array(0);

/**
 * Decodes the local envelopes of one stream (a thread's link from the main thread) as
 * `decodeLocalEnvelope` does, but an envelope whose head (routes and local info, up to the
 * payload's length) is byte for byte the previous one's gets that one's Route objects and
 * local info back instead of decoding them again. A stream mostly repeats its head (one
 * sender, one destination), and decoded routes cost ~1-2 KB of objects per message: a
 * worker slower than its senders kept that much per waiting message.
 */
export class LocalEnvelopeDecoder {
  /** A copy of the last head decoded in full (the batch it came from is not kept alive). */
  #head: Uint8Array = NO_HEAD;
  /** What that head decoded to (not the message: it would keep its batch alive). */
  #onward: Route | undefined;
  #return: Route | undefined;
  #info: LocalInfo | undefined;

  decode(bytes: Uint8Array): LocalMessage {
    const h = this.#head.length;
    if (this.#onward !== undefined && bytes.length >= h + 5 && bytes[h] === BIN32 && readU32BE(bytes, h + 1) === bytes.length - h - 5) {
      if (startsWith(bytes, this.#head)) {
        const message = new LocalMessage(this.#onward, this.#return!, bytes.subarray(h + 5), this.#info) as WithRaw;
        message[RAW] = bytes;
        return message;
      }
    }
    const message = decodeLocalEnvelope(bytes);
    const headLength = bytes.length - message.payload.length - 5;
    if (headLength > 0 && headLength <= MAX_REMEMBERED_HEAD && bytes[headLength] === BIN32) {
      // Shared from now on by the messages that repeat this head: frozen, as the main thread's is.
      this.#info = Object.freeze(message.localInfo);
      this.#onward = message.onwardRoute;
      this.#return = message.returnRoute;
      this.#head = bytes.slice(0, headLength);
    } else this.#onward = undefined;
    return message;
  }
}

/** Whether `bytes` begins with `head` (a head is short: a plain loop, no view to allocate). */
function startsWith(bytes: Uint8Array, head: Uint8Array): boolean {
  for (let i = 0; i < head.length; i++) if (bytes[i] !== head[i]) return false;
  return true;
}
