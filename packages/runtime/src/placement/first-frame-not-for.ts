import { decodeLocalEnvelope } from "./envelopes.js";
import { FRAME_ENVELOPE, FRAME_ENVELOPE_SAME_HEAD, FRAME_HEADER, type Batch } from "./frames.js";

/**
 * The offset of the first frame of `batch` from offset `at` that is not a plain envelope for
 * the first hop `key` (an ENVELOPE whose route starts there, or an ENVELOPE_SAME_HEAD after
 * one: `at` must follow such an envelope, or be the batch's first frame); -1 when there is
 * none. A thread streaming to one full hop has nothing else behind it: the main thread can
 * then leave the stream unread, whole, rather than set each frame aside (FullHops), and pass
 * it on in runs once there is room.
 *
 * Reads frame headers in place, not through readBatch: it runs over every batch that comes
 * while such a stream waits, and a view per frame would cost a stream of small messages more
 * than the rest of this.
 */
export function firstFrameNotFor(batch: Batch, at: number, key: string): number {
  const { buffer, view, used } = batch;
  const from = at;
  try {
    while (at < used) {
      if (at + FRAME_HEADER > used) return at;
      const kind = view.getUint8(at);
      const start = at + FRAME_HEADER;
      const end = start + view.getUint32(at + 1);
      if (end > used) return at;
      if (kind === FRAME_ENVELOPE) {
        if (decodeLocalEnvelope(new Uint8Array(buffer, start, end - start)).onwardRoute.next().key !== key) return at;
      } else if (kind !== FRAME_ENVELOPE_SAME_HEAD) return at;
      at = end;
    }
  } catch {
    return Math.max(at, from); // malformed: read the usual way, which reports it
  }
  return -1;
}
