import { InvalidNonceError } from "../errors.js";

const TWO_POW_32 = 0x1_0000_0000;
const MAX_U64 = (1n << 64n) - 1n;

/**
 * Writes a Noise nonce into bytes 4..12 of a 12-byte IV whose first 4 bytes stay zero:
 * big-endian for AESGCM, little-endian for ChaChaPoly (Noise rev. 34, §12.3 / §12.4).
 * Numbers must be safe integers (hot path, no BigInt); bigint reaches 2^64-1, which REKEY
 * needs.
 */
export function writeNoiseNonce(iv: Uint8Array, nonce: number | bigint, bigEndian: boolean): void {
  let hi: number;
  let lo: number;
  if (typeof nonce === "number") {
    if (!Number.isSafeInteger(nonce) || nonce < 0) throw new InvalidNonceError();
    hi = Math.floor(nonce / TWO_POW_32);
    lo = nonce >>> 0;
  } else {
    if (typeof nonce !== "bigint" || nonce < 0n || nonce > MAX_U64) throw new InvalidNonceError();
    hi = Number(nonce >> 32n);
    lo = Number(nonce & 0xffff_ffffn);
  }
  if (bigEndian) {
    writeU32BE(iv, 4, hi);
    writeU32BE(iv, 8, lo);
  } else {
    writeU32LE(iv, 4, lo);
    writeU32LE(iv, 8, hi);
  }
}

function writeU32BE(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value >>> 24;
  out[offset + 1] = value >>> 16;
  out[offset + 2] = value >>> 8;
  out[offset + 3] = value;
}

function writeU32LE(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value;
  out[offset + 1] = value >>> 8;
  out[offset + 2] = value >>> 16;
  out[offset + 3] = value >>> 24;
}
