import { decodeEnvelope, MAX_REMEMBERED_HEAD, PAYLOAD_HEADER } from "../codec/envelope.js";
import { DecodeError } from "../errors/errors.js";
import { keepCopy, readU32BE } from "../util/bytes.js";
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

/** A head decoded in full: what it decodes to, and how long its bytes are (copied into the decoder's #headBytes). */
interface RememberedHead extends Head {
  readonly length: number;
}

const NO_BYTES = new Uint8Array(0);

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
  /**
   * The last head's bytes, in [0, #last.length): a copy (not a view: the batch is not kept
   * alive), into one buffer every head reuses, so that a stream whose heads all differ (each
   * request's own reply address) allocates nothing per message to remember them.
   */
  #headBytes: Uint8Array = NO_BYTES;
  /** The head of the envelope decoded last: a FRAME_ENVELOPE_SAME_HEAD frame's. */
  #previous: Head | undefined;

  /** Decodes an envelope frame of any kind (FRAME_ENVELOPE, _ACK, _SAME_HEAD, _DROP_IF_FULL, _ACK_DROP_IF_FULL); throws DecodeError. */
  decodeFrame(kind: number, bytes: Uint8Array): LocalMessage {
    return kind === FRAME_ENVELOPE_SAME_HEAD ? this.decodeSameHead(bytes) : this.decode(bytes);
  }

  decode(bytes: Uint8Array): LocalMessage {
    const last = this.#last;
    if (last !== undefined && repeats(bytes, this.#headBytes, last.length)) {
      const message = new LocalMessage(last.onwardRoute, last.returnRoute, bytes.subarray(last.length + PAYLOAD_HEADER.length), last.localInfo) as WithRaw;
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
    const localInfo = Object.freeze(message.localInfo);
    if (remember) {
      this.#headBytes = keepCopy(this.#headBytes, bytes, 0, headLength, MAX_REMEMBERED_HEAD);
      this.#last = { length: headLength, onwardRoute: message.onwardRoute, returnRoute: message.returnRoute, localInfo };
      this.#previous = this.#last;
    } else {
      this.#last = undefined;
      this.#previous = { onwardRoute: message.onwardRoute, returnRoute: message.returnRoute, localInfo };
    }
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
 * Whether `bytes` is `head[0, h)`, then the payload header, then exactly the payload it announces
 * (a length that lies is left to the full decoder, which rejects it). A head is short: a
 * plain loop, no view to allocate.
 */
function repeats(bytes: Uint8Array, head: Uint8Array, h: number): boolean {
  if (bytes.length < h + PAYLOAD_HEADER.length || bytes[h] !== PAYLOAD_HEADER.tag) return false;
  if (readU32BE(bytes, h + 1) !== bytes.length - h - PAYLOAD_HEADER.length) return false;
  for (let i = 0; i < h; i++) if (bytes[i] !== head[i]) return false;
  return true;
}
