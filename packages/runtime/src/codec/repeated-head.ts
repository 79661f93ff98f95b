import { readU32BE } from "../util/bytes.js";

/**
 * A stream of length-prefixed network envelopes (a TCP connection's frames, a secure channel's
 * MESSAGES record) mostly repeats its heads: a stream's messages carry the same routes, which
 * are about half of a 64 B message. A length word with this bit set says "the same head as the
 * last envelope with one": its other 31 bits are the payload's length, and the payload alone
 * follows. Envelopes are at most 16 MiB, so the bit is free.
 */
export const REPEATED_HEAD = 0x8000_0000;

/** The length word of an envelope that repeats the last head: REPEATED_HEAD | payload length. */
export function repeatedHeadWord(payloadLength: number): number {
  return (REPEATED_HEAD | payloadLength) >>> 0;
}

/**
 * The format of a MessageRun whose bytes are envelopes that all repeat one head, back to
 * back: each a u32 big-endian length word, `repeatedHeadWord(payload length)`, then the
 * payload (a TCP connection's frames as it read them). A mailbox that writes such frames
 * writes the run as it is; one that delivers messages one at a time takes each payload
 * (`forEachRepeatedPayload`) without the route and check per message that delivering them
 * one by one costs.
 */
export const REPEATED_HEAD_PAYLOADS = Symbol("hopwire repeated-head payloads");

/** Bytes of the u32 length word before each payload of a REPEATED_HEAD_PAYLOADS run. */
const LENGTH_WORD = 4;

/**
 * Calls `visit(start, end)` for each payload of the REPEATED_HEAD_PAYLOADS bytes
 * `source[start, end)`, in order; `visit` returns false to stop. The bytes come from whoever
 * made the run and checked them.
 */
export function forEachRepeatedPayload(
  source: Uint8Array,
  start: number,
  end: number,
  visit: (payloadStart: number, payloadEnd: number) => boolean | void,
): void {
  for (let at = start; at < end; ) {
    const payloadStart = at + LENGTH_WORD;
    at = payloadStart + (readU32BE(source, at) - REPEATED_HEAD);
    if (visit(payloadStart, at) === false) return;
  }
}
