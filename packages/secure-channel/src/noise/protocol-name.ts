import type { AeadCipher } from "../crypto/provider.js";
import { UnsupportedProtocolError } from "../errors.js";

/** The Noise hash functions supported. */
export type NoiseHashName = "SHA256" | "BLAKE2b";

/** The parts of a Noise protocol name (Noise rev. 34, §8) this implementation speaks. */
export interface NoiseProtocol {
  readonly name: string;
  readonly pattern: "XX";
  readonly dh: "25519";
  readonly cipher: AeadCipher;
  readonly hash: NoiseHashName;
}

const CIPHERS: ReadonlySet<string> = new Set(["AESGCM", "ChaChaPoly"]);
const HASHES: ReadonlySet<string> = new Set(["SHA256", "BLAKE2b"]);

/**
 * Parses "Noise_XX_25519_{AESGCM|ChaChaPoly}_{SHA256|BLAKE2b}". Anything else (other
 * patterns, modifiers such as psk0 or fallback, other DH or hash functions) throws
 * UnsupportedProtocolError naming the part it does not support.
 */
export function parseProtocolName(name: string): NoiseProtocol {
  const parts = typeof name === "string" ? name.split("_") : [];
  const [prefix, pattern, dh, cipher, hash] = parts;
  const unsupported = (what: string): never => {
    throw new UnsupportedProtocolError(`unsupported Noise protocol ${JSON.stringify(name)}: ${what}`);
  };
  if (parts.length !== 5 || prefix !== "Noise") unsupported('expected "Noise_XX_25519_<cipher>_<hash>"');
  if (pattern !== "XX") unsupported(`pattern ${pattern} (only XX)`);
  if (dh !== "25519") unsupported(`DH function ${dh} (only 25519)`);
  if (!CIPHERS.has(cipher)) unsupported(`cipher ${cipher} (AESGCM or ChaChaPoly)`);
  if (!HASHES.has(hash)) unsupported(`hash ${hash} (SHA256 or BLAKE2b)`);
  return { name, pattern: "XX", dh: "25519", cipher: cipher as AeadCipher, hash: hash as NoiseHashName };
}
