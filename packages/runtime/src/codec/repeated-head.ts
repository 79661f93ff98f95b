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
