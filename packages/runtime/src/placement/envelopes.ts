import { decodeEnvelope, MAX_REMEMBERED_HEAD, PAYLOAD_HEADER } from "../codec/envelope.js";
import { DecodeError } from "../errors/errors.js";
import { readU32BE } from "../util/bytes.js";
import { LocalMessage, type LocalInfo } from "../message/local-message.js";
import type { Route } from "../route/route.js";
import { FRAME_ENVELOPE_SAME_HEAD, FRAME_HEADER, type FrameSink } from "./frames.js";

/**
 * A message decoded from a batch remembers its local-scope envelope bytes, so that a
 * message crossing from one thread to another unchanged (a thread worker replying to
 * another thread worker) is copied into the next batch as is, without being encoded again.
 * LocalMessage is immutable (every `with…` makes a new one), so the bytes cannot go stale.
 * A symbol-keyed field rather than a WeakMap: a WeakMap entry per message costs the
 * garbage collector dearly at hundreds of thousands of messages a second.
 */
const RAW = Symbol("hopwire.rawEnvelope");
/**
 * The size of the frame a decoded message arrived in: what its reader returns as credit once
 * the message is handled (a FRAME_ENVELOPE_SAME_HEAD message has no envelope bytes to tell it).
 * Set on every decoded message, though a whole envelope's is its raw length + FRAME_HEADER:
 * one object shape for both kinds keeps the per-message property reads monomorphic.
 */
const FRAME_BYTES = Symbol("hopwire.frameBytes");

type WithRaw = LocalMessage & { [RAW]?: Uint8Array; [FRAME_BYTES]?: number };

/** Decodes a local envelope (payload and raw bytes stay views into the batch). */
export function decodeLocalEnvelope(bytes: Uint8Array): LocalMessage {
  const message = decodeEnvelope(bytes, "local") as WithRaw;
  message[RAW] = bytes;
  message[FRAME_BYTES] = bytes.length + FRAME_HEADER;
  return message;
}

/** Writes `message` as a local envelope frame (its raw bytes if it has them, else encoded in place); returns the frame's size. */
export function writeEnvelope(sink: FrameSink, kind: number, message: LocalMessage): number {
  const raw = (message as WithRaw)[RAW];
  return raw ? sink.push(kind, raw) : sink.pushEnvelope(kind, message);
}

/** The size of the frame a decoded message arrived in (0 for a message that was not decoded from a batch). */
export function frameSizeOf(message: LocalMessage): number {
  return (message as WithRaw)[FRAME_BYTES] ?? 0;
}

/** A head decoded in full: a copy of its bytes (not a view: the batch is not kept alive) and what they decode to. */
interface RememberedHead extends Head {
  readonly bytes: Uint8Array;
}

/**
 * Decodes the local envelopes of one stream of batches (a thread's from the main thread, the
 * main thread's from a thread or a pool task) as `decodeLocalEnvelope` does, but an envelope
 * whose head (routes and local info, up to the payload header) is byte for byte the previous
 * one's gets that one's Route objects and local info back instead of decoding them again. A
 * stream mostly repeats its head (one sender, one destination); decoded routes cost ~1-2 KB
 * of objects per message, which a worker slower than its senders kept per waiting message,
 * and the same Route objects let the router's RouteMemo skip its checks.
 */
export class LocalEnvelopeDecoder {
  #last: RememberedHead | undefined;
  /** The head of the envelope decoded last: a FRAME_ENVELOPE_SAME_HEAD frame's. */
  #previous: Head | undefined;

  /** Decodes an envelope frame of any kind (FRAME_ENVELOPE, _ACK, _SAME_HEAD, _DROP_IF_FULL, _ACK_DROP_IF_FULL); throws DecodeError. */
  decodeFrame(kind: number, bytes: Uint8Array): LocalMessage {
    return kind === FRAME_ENVELOPE_SAME_HEAD ? this.decodeSameHead(bytes) : this.decode(bytes);
  }

  decode(bytes: Uint8Array): LocalMessage {
    const last = this.#last;
    if (last !== undefined && repeats(bytes, last.bytes)) {
      const message = new LocalMessage(last.onwardRoute, last.returnRoute, bytes.subarray(last.bytes.length + PAYLOAD_HEADER.length), last.localInfo) as WithRaw;
      message[RAW] = bytes;
      message[FRAME_BYTES] = bytes.length + FRAME_HEADER;
      this.#previous = last;
      return message;
    }
    // Undecodable: a same-head frame after it has no head to take.
    this.#previous = undefined;
    const message = decodeLocalEnvelope(bytes);
    const headLength = bytes.length - message.payload.length - PAYLOAD_HEADER.length;
    const remember = headLength > 0 && headLength <= MAX_REMEMBERED_HEAD && bytes[headLength] === PAYLOAD_HEADER.tag;
    // Shared from now on by the messages that repeat this head: frozen, as the main thread's is.
    const head = { onwardRoute: message.onwardRoute, returnRoute: message.returnRoute, localInfo: Object.freeze(message.localInfo) };
    this.#last = remember ? { bytes: bytes.slice(0, headLength), ...head } : undefined;
    this.#previous = this.#last ?? head;
    return message;
  }

  /** A FRAME_ENVELOPE_SAME_HEAD frame: `payload` under the head of the envelope decoded before it. */
  decodeSameHead(payload: Uint8Array): LocalMessage {
    const previous = this.#previous;
    if (previous === undefined) throw new DecodeError("An envelope that repeats the previous one's head has no envelope before it");
    const message = new LocalMessage(previous.onwardRoute, previous.returnRoute, payload, previous.localInfo) as WithRaw;
    message[RAW] = undefined;
    message[FRAME_BYTES] = payload.length + FRAME_HEADER;
    return message;
  }
}

/** Routes and local info, shared by the messages that repeat them. */
interface Head {
  readonly onwardRoute: Route;
  readonly returnRoute: Route;
  readonly localInfo: LocalInfo;
}

/**
 * Whether `bytes` is `head`, then the payload header, then exactly the payload it announces
 * (a length that lies is left to the full decoder, which rejects it). A head is short: a
 * plain loop, no view to allocate.
 */
function repeats(bytes: Uint8Array, head: Uint8Array): boolean {
  const h = head.length;
  if (bytes.length < h + PAYLOAD_HEADER.length || bytes[h] !== PAYLOAD_HEADER.tag) return false;
  if (readU32BE(bytes, h + 1) !== bytes.length - h - PAYLOAD_HEADER.length) return false;
  for (let i = 0; i < h; i++) if (bytes[i] !== head[i]) return false;
  return true;
}
