/**
 * The node:crypto (OpenSSL) provider: the fast default. OpenSSL only imports raw
 * X25519/Ed25519 keys through DER (or JWK) wrappers, so each operation wraps the raw key
 * in a short-lived DER buffer, imports it and wipes the buffer; nothing secret is cached
 * beyond the object that owns it.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  type CipherChaCha20Poly1305,
  type CipherGCM,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
  type KeyObject,
} from "node:crypto";
import { asUint8Array } from "../bytes.js";
import { DisposedError, WeakPublicKeyError } from "../errors.js";
import { assertCipher, assertKey32 } from "./key-checks.js";
import { writeNoiseNonce } from "./nonce.js";
import type { Aead, AeadCipher, CryptoProvider, Ed25519, KeyPair, X25519 } from "./provider.js";
import { KEY_LENGTH, SIGNATURE_LENGTH, TAG_LENGTH } from "./provider.js";

// DER prefixes of PKCS#8 private keys and SPKI public keys (RFC 8410) for the two curves;
// the raw 32-byte key follows the prefix.
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const X25519_SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

function importPrivateKey(prefix: Buffer, raw: Uint8Array): KeyObject {
  const der = Buffer.alloc(prefix.length + KEY_LENGTH);
  prefix.copy(der, 0);
  der.set(raw, prefix.length);
  try {
    return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } finally {
    der.fill(0);
  }
}

function importPublicKey(prefix: Buffer, raw: Uint8Array): KeyObject {
  const der = Buffer.alloc(prefix.length + KEY_LENGTH);
  prefix.copy(der, 0);
  der.set(raw, prefix.length);
  return createPublicKey({ key: der, format: "der", type: "spki" });
}

/** The raw key at the end of an exported DER structure, copied so the DER can be wiped. */
function rawKeyFromDer(der: Buffer): Uint8Array {
  const raw = new Uint8Array(der.subarray(der.length - KEY_LENGTH));
  der.fill(0);
  return raw;
}

function exportRawPublicKey(key: KeyObject): Uint8Array {
  return rawKeyFromDer(key.export({ format: "der", type: "spki" }));
}

function exportKeyPair(kind: "x25519" | "ed25519"): KeyPair {
  // generateKeyPairSync's overloads need a literal type per curve.
  const { privateKey, publicKey } = kind === "x25519" ? generateKeyPairSync("x25519") : generateKeyPairSync("ed25519");
  return {
    privateKey: rawKeyFromDer(privateKey.export({ format: "der", type: "pkcs8" })),
    publicKey: exportRawPublicKey(publicKey),
  };
}

const x25519: X25519 = {
  generateKeyPair: () => exportKeyPair("x25519"),

  publicKey(privateKey) {
    assertKey32(privateKey, "X25519 private key");
    return exportRawPublicKey(createPublicKey(importPrivateKey(X25519_PKCS8_PREFIX, privateKey)));
  },

  dh(privateKey, publicKey) {
    assertKey32(privateKey, "X25519 private key");
    assertKey32(publicKey, "X25519 public key");
    const ours = importPrivateKey(X25519_PKCS8_PREFIX, privateKey);
    const theirs = importPublicKey(X25519_SPKI_PREFIX, publicKey);
    try {
      return asUint8Array(diffieHellman({ privateKey: ours, publicKey: theirs }));
    } catch (cause) {
      // OpenSSL refuses to derive the all-zero secret of a low-order point (RFC 7748 §6.1).
      throw new WeakPublicKeyError(undefined, { cause });
    }
  },
};

const ed25519: Ed25519 = {
  generateKeyPair: () => exportKeyPair("ed25519"),

  publicKey(secretKey) {
    assertKey32(secretKey, "Ed25519 secret key");
    return exportRawPublicKey(createPublicKey(importPrivateKey(ED25519_PKCS8_PREFIX, secretKey)));
  },

  sign(secretKey, data) {
    assertKey32(secretKey, "Ed25519 secret key");
    return asUint8Array(nodeSign(null, data, importPrivateKey(ED25519_PKCS8_PREFIX, secretKey)));
  },

  verify(publicKey, data, signature) {
    if (publicKey.length !== KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return false;
    try {
      return nodeVerify(null, data, importPublicKey(ED25519_SPKI_PREFIX, publicKey), signature);
    } catch {
      return false; // an unparsable point is just an invalid signature
    }
  },
};

const EMPTY = new Uint8Array(0);
const AUTH_TAG = { authTagLength: TAG_LENGTH } as const;

// Separate calls per algorithm because @types/node types each AEAD through its own overload.
function createSealer(aes: boolean, key: KeyObject, iv: Buffer): CipherGCM | CipherChaCha20Poly1305 {
  return aes ? createCipheriv("aes-256-gcm", key, iv, AUTH_TAG) : createCipheriv("chacha20-poly1305", key, iv, AUTH_TAG);
}

function createOpener(aes: boolean, key: KeyObject, iv: Buffer): DecipherGCM | DecipherChaCha20Poly1305 {
  return aes ? createDecipheriv("aes-256-gcm", key, iv, AUTH_TAG) : createDecipheriv("chacha20-poly1305", key, iv, AUTH_TAG);
}

/**
 * One OpenSSL AEAD per key: the KeyObject is imported once and the 12-byte IV buffer is
 * allocated once, because per-call key import and allocation dominate small messages.
 */
class NodeAead implements Aead {
  readonly cipher: AeadCipher;
  readonly #aes: boolean;
  readonly #iv = Buffer.alloc(12);
  #key: KeyObject | null;

  constructor(cipher: AeadCipher, key: Uint8Array) {
    assertCipher(cipher);
    assertKey32(key, "AEAD key");
    this.cipher = cipher;
    this.#aes = cipher === "AESGCM";
    this.#key = createSecretKey(key);
  }

  seal(nonce: number | bigint, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const out = new Uint8Array(plaintext.length + TAG_LENGTH);
    this.sealInto(nonce, ad, plaintext, out, 0);
    return out;
  }

  sealInto(nonce: number | bigint, ad: Uint8Array, plaintext: Uint8Array, output: Uint8Array, offset: number): number {
    writeNoiseNonce(this.#iv, nonce, this.#aes); // AESGCM nonces are big-endian
    const cipher = createSealer(this.#aes, this.#liveKey(), this.#iv);
    // plaintextLength only matters to CCM; @types/node demands it for ChaCha20-Poly1305.
    if (ad.length > 0) cipher.setAAD(ad, { plaintextLength: plaintext.length });
    // Node 20 has no update-into; copy each piece straight to its place in `output`.
    const body = cipher.update(plaintext);
    output.set(body, offset);
    const tail = cipher.final(); // empty for both stream-mode AEADs, kept for correctness
    if (tail.length > 0) output.set(tail, offset + body.length);
    output.set(cipher.getAuthTag(), offset + plaintext.length);
    return plaintext.length + TAG_LENGTH;
  }

  open(nonce: number | bigint, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    if (ciphertext.length < TAG_LENGTH) return null;
    writeNoiseNonce(this.#iv, nonce, this.#aes); // AESGCM nonces are big-endian
    const bodyLength = ciphertext.length - TAG_LENGTH;
    const decipher = createOpener(this.#aes, this.#liveKey(), this.#iv);
    decipher.setAuthTag(ciphertext.subarray(bodyLength));
    if (ad.length > 0) decipher.setAAD(ad, { plaintextLength: bodyLength });
    const plaintext = decipher.update(ciphertext.subarray(0, bodyLength));
    try {
      decipher.final();
    } catch {
      plaintext.fill(0); // never hand out unauthenticated plaintext
      return null;
    }
    return plaintext.length === 0 ? EMPTY : asUint8Array(plaintext);
  }

  dispose(): void {
    // A KeyObject's bytes live in OpenSSL memory we cannot overwrite; drop the reference.
    this.#key = null;
  }

  #liveKey(): KeyObject {
    if (this.#key === null) throw new DisposedError();
    return this.#key;
  }
}

function sha256(...data: Uint8Array[]): Uint8Array {
  const hash = createHash("sha256");
  for (const part of data) hash.update(part);
  return asUint8Array(hash.digest());
}

function hmacSha256(key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const mac = createHmac("sha256", key);
  for (const part of data) mac.update(part);
  return asUint8Array(mac.digest());
}

/** node:crypto (OpenSSL): the fast default provider. */
export const nodeCryptoProvider: CryptoProvider = Object.freeze({
  name: "node",
  x25519: Object.freeze(x25519),
  ed25519: Object.freeze(ed25519),
  sha256,
  hmacSha256,
  createAead: (cipher: AeadCipher, key: Uint8Array): Aead => new NodeAead(cipher, key),
});
