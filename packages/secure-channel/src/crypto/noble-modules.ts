/**
 * The @noble libraries, loaded on first use rather than at import: they cost ~90 ms of CPU
 * to load (AES tables, curve set-up) and most nodes never use them (OpenSSL is the default
 * provider). The providers' methods are synchronous, so the load is a synchronous
 * require() of these ES modules, which Node supports from 20.19 (the engines floor).
 */
import { createRequire } from "node:module";

export interface NobleModules {
  readonly gcm: typeof import("@noble/ciphers/aes.js").gcm;
  readonly chacha20poly1305: typeof import("@noble/ciphers/chacha.js").chacha20poly1305;
  readonly ed25519: typeof import("@noble/curves/ed25519.js").ed25519;
  readonly x25519: typeof import("@noble/curves/ed25519.js").x25519;
  readonly hmac: typeof import("@noble/hashes/hmac.js").hmac;
  readonly sha256: typeof import("@noble/hashes/sha2.js").sha256;
}

const require = createRequire(import.meta.url);
let loaded: NobleModules | undefined;
let blake2bLoaded: typeof import("@noble/hashes/blake2.js").blake2b | undefined;

export function noble(): NobleModules {
  if (loaded) return loaded;
  const curves = require("@noble/curves/ed25519.js") as typeof import("@noble/curves/ed25519.js");
  loaded = Object.freeze({
    gcm: (require("@noble/ciphers/aes.js") as typeof import("@noble/ciphers/aes.js")).gcm,
    chacha20poly1305: (require("@noble/ciphers/chacha.js") as typeof import("@noble/ciphers/chacha.js")).chacha20poly1305,
    ed25519: curves.ed25519,
    x25519: curves.x25519,
    hmac: (require("@noble/hashes/hmac.js") as typeof import("@noble/hashes/hmac.js")).hmac,
    sha256: (require("@noble/hashes/sha2.js") as typeof import("@noble/hashes/sha2.js")).sha256,
  });
  return loaded;
}

/** BLAKE2b, for the Noise suites that name it (test vectors; secure channels use SHA256). */
export function nobleBlake2b(): typeof import("@noble/hashes/blake2.js").blake2b {
  blake2bLoaded ??= (require("@noble/hashes/blake2.js") as typeof import("@noble/hashes/blake2.js")).blake2b;
  return blake2bLoaded;
}
