import { randomFillSync } from "node:crypto";

// Random bytes drawn 4 KiB at a time and turned into hex at once: one call into the CSPRNG
// and one conversion per 128 ids, not one each (a call costs ≈ 5-12 µs whatever its size;
// sendAndReceive makes an address per request, every channel a flow control id).
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolHex = "";
let hexOffset = 0;

/** 32 random hex characters (128 bits from node:crypto's CSPRNG): unguessable ids and addresses. */
export function randomHex32(): string {
  if (hexOffset === poolHex.length) {
    randomFillSync(pool);
    poolHex = pool.toString("hex");
    hexOffset = 0;
  }
  const hex = poolHex.slice(hexOffset, hexOffset + 32);
  hexOffset += 32;
  return hex;
}

/** What `randomHex32` makes: the value of an address the runtime generated (a reply address, a connection's, a channel end's). */
export function isRandomHex32(value: string): boolean {
  return RANDOM_HEX_32.test(value);
}

const RANDOM_HEX_32 = /^[0-9a-f]{32}$/;
