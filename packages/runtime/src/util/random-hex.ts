import { randomFillSync } from "node:crypto";

// Random bytes drawn 4 KiB at a time: one call into the CSPRNG per 256 ids, not one each (a
// call costs ≈ 5-12 µs whatever its size; sendAndReceive makes an address per request, every
// channel a flow control id).
const POOL_BYTES = 4096;
const ID_BYTES = 16;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;
/** The pool of a request's reply addresses, in hex at once (ephemeralHex32). */
const ephemeralPool = Buffer.alloc(POOL_BYTES);
let ephemeralHex = "";
let hexOffset = 0;

const HEX_CODES = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));
/** The char codes of the id being made (a prefix's, then 32 hex digits), reused id after id. */
const codes: number[] = [];

/**
 * 32 random hex characters (128 bits from node:crypto's CSPRNG), after `prefix`: unguessable
 * ids and addresses, each a string of its own. Not a slice of one hex string per pool (as
 * ephemeralHex32 is): such a slice is a 32-byte view that keeps the whole 8 KiB string alive,
 * so every id that lasts (a channel end's three addresses and its flow control id, ≈ 0.2 KiB a
 * channel) cost twice its own size, and one that outlived the others of its pool, 8 KiB.
 */
export function randomHex32(prefix = ""): string {
  if (poolOffset === POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  codes.length = 0;
  for (let i = 0; i < prefix.length; i++) codes.push(prefix.charCodeAt(i));
  for (let i = poolOffset; i < poolOffset + ID_BYTES; i++) codes.push(HEX_CODES[pool[i]! >> 4]!, HEX_CODES[pool[i]! & 15]!);
  poolOffset += ID_BYTES;
  // A flat string of exactly these characters (an ordinary one-byte string), ≈ 0.1 µs.
  return String.fromCharCode.apply(null, codes);
}

/**
 * randomHex32 for an id that lives about as long as the others of its pool (a request's reply
 * address, one round trip): a slice of one hex conversion per 256 ids, ≈ 60 ns cheaper each.
 */
export function ephemeralHex32(): string {
  if (hexOffset === ephemeralHex.length) {
    randomFillSync(ephemeralPool);
    ephemeralHex = ephemeralPool.toString("hex");
    hexOffset = 0;
  }
  const hex = ephemeralHex.slice(hexOffset, hexOffset + 32);
  hexOffset += 32;
  return hex;
}

/** What `randomHex32` makes: the value of an address the runtime generated (a reply address, a connection's, a channel end's). */
export function isRandomHex32(value: string): boolean {
  return RANDOM_HEX_32.test(value);
}

const RANDOM_HEX_32 = /^[0-9a-f]{32}$/;
