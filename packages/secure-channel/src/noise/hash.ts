import { noble, nobleBlake2b } from "../crypto/noble-modules.js";
import type { CryptoProvider } from "../crypto/provider.js";
import type { NoiseHashName } from "./protocol-name.js";

/** A Noise hash function (rev. 34, §4.3): HASH, HMAC-HASH and HASHLEN. */
export interface NoiseHash {
  readonly name: NoiseHashName;
  readonly hashLen: 32 | 64;
  /** HASH over the concatenated `data`. */
  hash(...data: Uint8Array[]): Uint8Array;
  /** HMAC-HASH of the concatenated `data` under `key`. */
  hmac(key: Uint8Array, ...data: Uint8Array[]): Uint8Array;
}

/**
 * SHA256 comes from the provider (OpenSSL or noble). BLAKE2b, offered for the cacophony
 * vectors and not used by secure channels, always comes from @noble/hashes.
 */
export function resolveNoiseHash(name: NoiseHashName, provider: CryptoProvider): NoiseHash {
  if (name === "SHA256") {
    return { name, hashLen: 32, hash: provider.sha256, hmac: provider.hmacSha256 };
  }
  return { name, hashLen: 64, hash: blake2bHash, hmac: blake2bHmac };
}

function blake2bHash(...data: Uint8Array[]): Uint8Array {
  const state = nobleBlake2b().create();
  for (const part of data) state.update(part);
  return state.digest();
}

function blake2bHmac(key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const mac = noble().hmac.create(nobleBlake2b(), key);
  for (const part of data) mac.update(part);
  return mac.digest();
}
