import type { Aead } from "../crypto/provider.js";
import { KEY_LENGTH } from "../crypto/provider.js";

/** 2^64-1: the nonce Noise reserves for REKEY; no message is ever sent with it. */
export const MAX_NONCE = (1n << 64n) - 1n;

const ZERO_AD = new Uint8Array(0);
const ZEROS = new Uint8Array(KEY_LENGTH);

/**
 * REKEY(k) (Noise rev. 34, §4.2): the first 32 bytes of ENCRYPT(k, maxnonce, zerolen,
 * zeros), with zeros 32 zero bytes. `aead` is keyed with k. Returns the new raw key,
 * which the caller owns and must wipe after keying its next AEAD.
 */
export function rekey(aead: Aead): Uint8Array {
  const sealed = aead.seal(MAX_NONCE, ZERO_AD, ZEROS);
  const key = sealed.slice(0, KEY_LENGTH);
  sealed.fill(0);
  return key;
}
