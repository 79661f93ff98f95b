/**
 * The @noble provider: pure JavaScript, ~35x slower than OpenSSL for AEAD on the
 * development machine, but portable and written independently of OpenSSL, which makes
 * it the cross-check for the node provider in tests.
 */
import { DisposedError, WeakPublicKeyError } from "../errors.js";
import { assertCipher, assertKey32 } from "./key-checks.js";
import { noble, type NobleModules } from "./noble-modules.js";
import { writeNoiseNonce } from "./nonce.js";
import type { Aead, AeadCipher, CryptoProvider, Ed25519, KeyPair, X25519 } from "./provider.js";
import { KEY_LENGTH, SIGNATURE_LENGTH, TAG_LENGTH } from "./provider.js";

const x25519: X25519 = {
  generateKeyPair(): KeyPair {
    const privateKey = noble().x25519.utils.randomSecretKey();
    return { privateKey, publicKey: noble().x25519.getPublicKey(privateKey) };
  },

  publicKey(privateKey) {
    assertKey32(privateKey, "X25519 private key");
    return noble().x25519.getPublicKey(privateKey);
  },

  dh(privateKey, publicKey) {
    assertKey32(privateKey, "X25519 private key");
    assertKey32(publicKey, "X25519 public key");
    try {
      return noble().x25519.getSharedSecret(privateKey, publicKey);
    } catch (cause) {
      // noble, like OpenSSL, refuses the all-zero secret of a low-order point.
      throw new WeakPublicKeyError(undefined, { cause });
    }
  },
};

const ed25519: Ed25519 = {
  generateKeyPair(): KeyPair {
    const privateKey = noble().ed25519.utils.randomSecretKey();
    return { privateKey, publicKey: noble().ed25519.getPublicKey(privateKey) };
  },

  publicKey(secretKey) {
    assertKey32(secretKey, "Ed25519 secret key");
    return noble().ed25519.getPublicKey(secretKey);
  },

  sign(secretKey, data) {
    assertKey32(secretKey, "Ed25519 secret key");
    return noble().ed25519.sign(data, secretKey);
  },

  verify(publicKey, data, signature) {
    if (publicKey.length !== KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return false;
    try {
      // zip215: false selects strict RFC 8032 rules, the ones OpenSSL applies, so that
      // both providers accept exactly the same signatures.
      return noble().ed25519.verify(signature, data, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};

/** One noble AEAD per key; the IV buffer is reused and the key copy is ours to wipe. */
class NobleAead implements Aead {
  readonly cipher: AeadCipher;
  readonly #construct: NobleModules["gcm"] | NobleModules["chacha20poly1305"];
  readonly #bigEndianNonce: boolean;
  readonly #iv = new Uint8Array(12);
  #key: Uint8Array | null;

  constructor(cipher: AeadCipher, key: Uint8Array) {
    assertCipher(cipher);
    assertKey32(key, "AEAD key");
    this.cipher = cipher;
    this.#construct = cipher === "AESGCM" ? noble().gcm : noble().chacha20poly1305;
    this.#bigEndianNonce = cipher === "AESGCM";
    this.#key = Uint8Array.from(key);
  }

  seal(nonce: number | bigint, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    writeNoiseNonce(this.#iv, nonce, this.#bigEndianNonce);
    return this.#construct(this.#liveKey(), this.#iv, ad).encrypt(plaintext);
  }

  sealInto(nonce: number | bigint, ad: Uint8Array, plaintext: Uint8Array, output: Uint8Array, offset: number): number {
    // noble's GCM has no output parameter; one copy on the portable path is acceptable.
    const sealed = this.seal(nonce, ad, plaintext);
    output.set(sealed, offset);
    return sealed.length;
  }

  open(nonce: number | bigint, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    if (ciphertext.length < TAG_LENGTH) return null;
    writeNoiseNonce(this.#iv, nonce, this.#bigEndianNonce);
    const aead = this.#construct(this.#liveKey(), this.#iv, ad);
    try {
      return aead.decrypt(ciphertext);
    } catch {
      return null;
    }
  }

  dispose(): void {
    this.#key?.fill(0);
    this.#key = null;
  }

  #liveKey(): Uint8Array {
    if (this.#key === null) throw new DisposedError();
    return this.#key;
  }
}

function sha256(...data: Uint8Array[]): Uint8Array {
  const nobleSha256 = noble().sha256;
  if (data.length === 1) return nobleSha256(data[0]!);
  const hash = nobleSha256.create();
  for (const part of data) hash.update(part);
  return hash.digest();
}

function hmacSha256(key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const { hmac, sha256: nobleSha256 } = noble();
  const mac = hmac.create(nobleSha256, key);
  for (const part of data) mac.update(part);
  return mac.digest();
}

/** @noble/curves, @noble/ciphers and @noble/hashes (loaded on first use): the portable provider. */
export const nobleCryptoProvider: CryptoProvider = Object.freeze({
  name: "noble",
  x25519: Object.freeze(x25519),
  ed25519: Object.freeze(ed25519),
  sha256,
  hmacSha256,
  createAead: (cipher: AeadCipher, key: Uint8Array): Aead => new NobleAead(cipher, key),
  // noble keeps nothing per key; its intermediate bigints are garbage JavaScript cannot wipe.
  wipePrivateKey: (privateKey: Uint8Array): void => void privateKey.fill(0),
});
