import { decodeLocalEnvelope } from "./envelopes.js";
import { FRAME_ENVELOPE, FRAME_ENVELOPE_SAME_HEAD, readBatch, type Batch } from "./frames.js";

/**
 * Whether every frame of `batch` from offset `at` is a plain envelope for the first hop `key`
 * (an ENVELOPE whose route starts there, or an ENVELOPE_SAME_HEAD after one: `at` must follow
 * such an envelope, or be the batch's first frame). A thread streaming to one full hop has
 * nothing else behind it: the main thread can then leave the stream unread, whole, rather
 * than set each frame aside (FullHops), and pass it on in runs once there is room.
 */
export function onlyForHop(batch: Batch, at: number, key: string): boolean {
  let only = true;
  try {
    readBatch(batch, (kind, bytes) => {
      if (kind === FRAME_ENVELOPE_SAME_HEAD) return true;
      only = kind === FRAME_ENVELOPE && decodeLocalEnvelope(bytes).onwardRoute.next().key === key;
      return only;
    }, at);
  } catch {
    return false; // malformed: read the usual way, which reports it
  }
  return only;
}
