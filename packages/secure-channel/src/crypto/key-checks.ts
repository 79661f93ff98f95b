import { InvalidKeyError, UnsupportedCipherError } from "../errors.js";
import type { AeadCipher, CryptoProvider } from "./provider.js";
import { KEY_LENGTH } from "./provider.js";

/** Rejects anything but a 32-byte Uint8Array, naming what it was meant to be. */
export function assertKey32(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) {
    throw new InvalidKeyError(`${what} must be a ${KEY_LENGTH}-byte Uint8Array`);
  }
}

/** Rejects cipher names Noise does not define (plain JS callers can pass anything). */
export function assertCipher(cipher: AeadCipher): void {
  if (cipher !== "AESGCM" && cipher !== "ChaChaPoly") {
    throw new UnsupportedCipherError(`unsupported AEAD cipher ${typeof cipher === "string" ? JSON.stringify(cipher) : `(a value of type ${typeof cipher})`} (expected "AESGCM" or "ChaChaPoly")`);
  }
}

/** Zeroes a private key the caller is done with, and lets the provider forget what it derived from it. */
export function wipePrivateKey(provider: CryptoProvider, privateKey: Uint8Array): void {
  if (provider.wipePrivateKey) provider.wipePrivateKey(privateKey);
  else privateKey.fill(0);
}

/** A copy of a private key for a holder that will wipe it; the provider may share what it derived from the original. */
export function copyPrivateKey(provider: CryptoProvider, privateKey: Uint8Array): Uint8Array {
  return provider.copyPrivateKey ? provider.copyPrivateKey(privateKey) : privateKey.slice();
}
