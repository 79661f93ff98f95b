// @noble/ciphers belongs to @hopwire/secure-channel, not to bench: it is loaded by a
// computed specifier so bench compiles without it, and the scenario is skipped (not
// failed) where npm did not hoist it within reach.

export type NobleGcm = (key: Uint8Array, nonce: Uint8Array) => {
  encrypt(plaintext: Uint8Array): Uint8Array;
  decrypt(ciphertext: Uint8Array): Uint8Array;
};

const SPECIFIER = "@noble/ciphers/aes.js";

export async function loadNobleGcm(): Promise<NobleGcm | undefined> {
  try {
    const mod = (await import(SPECIFIER)) as { gcm?: NobleGcm };
    return mod.gcm;
  } catch {
    return undefined;
  }
}
