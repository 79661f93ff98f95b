import type { NoiseHash } from "./hash.js";

const ONE = Uint8Array.of(0x01);
const TWO = Uint8Array.of(0x02);
const THREE = Uint8Array.of(0x03);

/**
 * HKDF(chaining_key, input_key_material, num_outputs) exactly as Noise rev. 34, §4.3
 * defines it (RFC 5869 with an empty info and the chaining key as salt):
 *
 *   temp_key = HMAC-HASH(chaining_key, input_key_material)
 *   output1  = HMAC-HASH(temp_key, byte(0x01))
 *   output2  = HMAC-HASH(temp_key, output1 || byte(0x02))
 *   output3  = HMAC-HASH(temp_key, output2 || byte(0x03))
 */
export function hkdf(hash: NoiseHash, chainingKey: Uint8Array, inputKeyMaterial: Uint8Array, numOutputs: 2): [Uint8Array, Uint8Array];
export function hkdf(hash: NoiseHash, chainingKey: Uint8Array, inputKeyMaterial: Uint8Array, numOutputs: 3): [Uint8Array, Uint8Array, Uint8Array];
export function hkdf(hash: NoiseHash, chainingKey: Uint8Array, inputKeyMaterial: Uint8Array, numOutputs: 2 | 3): Uint8Array[] {
  const tempKey = hash.hmac(chainingKey, inputKeyMaterial);
  const output1 = hash.hmac(tempKey, ONE);
  const output2 = hash.hmac(tempKey, output1, TWO);
  if (numOutputs === 2) {
    tempKey.fill(0);
    return [output1, output2];
  }
  const output3 = hash.hmac(tempKey, output2, THREE);
  tempKey.fill(0);
  return [output1, output2, output3];
}
