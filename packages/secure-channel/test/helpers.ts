import { readFileSync } from "node:fs";
import { nobleCryptoProvider } from "../dist/crypto/noble-provider.js";
import { nodeCryptoProvider } from "../dist/crypto/node-provider.js";
import type { CryptoProvider, KeyPair } from "../dist/crypto/provider.js";

export const providers: readonly CryptoProvider[] = [nodeCryptoProvider, nobleCryptoProvider];

export function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, "hex"));
}

export function toHexString(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function keyPairFromPrivate(provider: CryptoProvider, privateKey: Uint8Array): KeyPair {
  return { privateKey, publicKey: provider.x25519.publicKey(privateKey) };
}

export interface NoiseVector {
  protocol_name: string;
  init_prologue: string;
  init_static: string;
  init_ephemeral: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

/** The cacophony XX vectors, copied unchanged from /work/shared/vectors (Unlicense). */
export const noiseVectors: readonly NoiseVector[] = (
  JSON.parse(readFileSync(new URL("./vectors/noise-xx-cacophony.json", import.meta.url), "utf8")) as { vectors: NoiseVector[] }
).vectors;

export function flipBit(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const copy = bytes.slice();
  copy[index] ^= 1 << bit;
  return copy;
}
