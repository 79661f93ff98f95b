/**
 * The node:crypto (OpenSSL) provider: the fast default. Node 20 cannot import raw
 * X25519/Ed25519 keys directly, only through DER or JWK wrappers; we use JWK because
 * OpenSSL 3's DER decoders are slow (measured on the dev machine: PKCS#8 import ~870/s
 * vs JWK ~15 k/s, SPKI export ~9 k/s vs JWK ~930 k/s). An imported private key is
 * cached only as long as the caller's key array lives (a WeakMap entry), or until
 * `wipePrivateKey` wipes that array; the cache keeps no copy of the key's bytes. A key
 * pair this provider generates comes with its KeyObject already cached, and
 * `copyPrivateKey` gives a copy that shares it, so a handshake imports no private key at
 * all (each JWK import costs an X25519 scalar multiplication, ~40 µs, more than the DH).
 * Public keys are cached by value (a small LRU): a peer's static and identity keys come
 * back handshake after handshake, and they are public.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hash as oneShotHash,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  type CipherChaCha20Poly1305,
  type CipherGCM,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
  type KeyObject,
} from "node:crypto";
import { allocateForOverwrite, asUint8Array, concatBytes } from "../bytes.js";
import { RecentlyUsed } from "../recently-used.js";
import { fillRandomKeyBytes } from "./random-key-bytes.js";
import { DisposedError, WeakPublicKeyError } from "../errors.js";
import { assertCipher, assertKey32 } from "./key-checks.js";
import { writeNoiseNonce } from "./nonce.js";
import type { Aead, AeadCipher, CryptoProvider, Ed25519, KeyPair, X25519 } from "./provider.js";
import { keySlotView, lendKey, releaseKeySlot, returnKey, takeKeySlot, writeKey } from "./key-slots.js";
import { forgetSpareHolder, makeSparesAfterTurn, SpareSlot, type SpareHolder } from "./spare-ciphers.js";
import { KEY_LENGTH, SIGNATURE_LENGTH, TAG_LENGTH } from "./provider.js";

type Curve = "X25519" | "Ed25519";

/**
 * Node requires `x` in a private OKP JWK but only checks that it is a string: the key is
 * built from `d` alone (lib/internal/crypto/keys.js, EVP_PKEY_new_raw_private_key). A
 * placeholder spares us deriving the public key first. The vector and RFC tests would
 * catch a Node that starts to use it.
 */
const PLACEHOLDER_X = Buffer.alloc(KEY_LENGTH).toString("base64url");

interface CachedPrivateKey {
  readonly crv: Curve;
  /**
   * SHA-256 of what the array held when imported, so that a caller that rewrites the array
   * gets a fresh import. A digest, not a copy: the key's bytes are held once, by the caller
   * (and inside the KeyObject, which JavaScript cannot wipe).
   */
  readonly fingerprint: Buffer;
  readonly key: KeyObject;
}

/**
 * Imported private keys, per key array: a handshake uses its ephemeral key in two DHs and
 * an identity signs every handshake, and the JWK import is the costliest step of a DH.
 * The entry lives as long as the caller's array, or until wipePrivateKey wipes the array.
 */
const privateKeyCache = new WeakMap<Uint8Array, CachedPrivateKey>();

const fingerprintOf = (raw: Uint8Array): Buffer => oneShotHash("sha256", raw, "buffer");

/** The cache entry of `raw` if it still holds the key it held when imported. */
function cachedPrivateKey(crv: Curve, raw: Uint8Array): CachedPrivateKey | undefined {
  const cached = privateKeyCache.get(raw);
  if (cached && cached.crv === crv && timingSafeEqual(cached.fingerprint, fingerprintOf(raw))) return cached;
  return undefined;
}

/** Private keys imported because no cached KeyObject matched (for tests: a handshake should cause none). */
let privateKeyCacheMisses = 0;

function importPrivateKey(crv: Curve, raw: Uint8Array): KeyObject {
  const cached = cachedPrivateKey(crv, raw);
  if (cached) return cached.key;
  privateKeyCacheMisses++;
  const key = importPrivateKeyUncached(crv, raw);
  privateKeyCache.set(raw, { crv, fingerprint: fingerprintOf(raw), key });
  return key;
}

/**
 * A copy of a private key array that shares the original's imported KeyObject (if it has
 * one): a handshake copies the identity's long-term Noise static key so that it can wipe
 * its copy, and re-importing each copy would cost a scalar multiplication per handshake.
 * Wiping the copy drops only the copy's entry.
 */
function copyPrivateKey(privateKey: Uint8Array): Uint8Array {
  const copy = privateKey.slice();
  const entry = privateKeyCache.get(privateKey);
  if (entry && timingSafeEqual(entry.fingerprint, fingerprintOf(privateKey))) privateKeyCache.set(copy, entry);
  return copy;
}

/**
 * Zeroes a private key array and drops the KeyObject imported from it, so that nothing in
 * this provider refers to the key any more: OpenSSL clears the key's memory when the
 * KeyObject is garbage collected (it frees private keys with OPENSSL_secure_clear_free).
 */
function wipePrivateKey(privateKey: Uint8Array): void {
  privateKeyCache.delete(privateKey);
  privateKey.fill(0);
}

/** @internal for tests: whether an imported KeyObject is cached for this array. */
export function hasImportedPrivateKey(privateKey: Uint8Array): boolean {
  return privateKeyCache.has(privateKey);
}

/** @internal for tests: how many private keys were imported on a cache miss so far. */
export function privateKeyImports(): number {
  return privateKeyCacheMisses;
}

/** @internal for tests: a view of the key bytes a node AEAD holds, in place (null once disposed); undefined for another provider's. */
export function heldAeadKey(aead: Aead): Uint8Array | null | undefined {
  if (!(aead instanceof NodeAead)) return undefined;
  const slot = readHeldSlot(aead);
  return slot < 0 ? null : keySlotView(slot);
}

// Reads a NodeAead's key slot for heldAeadKey without a property on the class: a getter was part of
// every AEAD object, shown by util.inspect({ getters: true }) and readable as `aead.heldKey`.
let readHeldSlot: (aead: NodeAead) => number;

/** @internal for tests: whether this public key's KeyObject is in the cache. */
export function hasCachedPublicKey(crv: Curve, publicKey: Uint8Array): boolean {
  return publicKeyCache.has(crv + Buffer.from(publicKey).toString("base64url"));
}

// The base64url string of a private key is an immutable JS string we cannot wipe; it is
// short-lived garbage, the price of OpenSSL-speed imports on Node 20.
function importPrivateKeyUncached(crv: Curve, raw: Uint8Array): KeyObject {
  const d = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64url");
  return createPrivateKey({ key: { kty: "OKP", crv, d, x: PLACEHOLDER_X }, format: "jwk" });
}

/** Public keys imported lately, by curve and value. */
const publicKeyCache = new RecentlyUsed<string, KeyObject>(256);

/**
 * A public KeyObject, from the cache if this value was imported lately (peers' static and
 * identity keys repeat; ephemeral keys pass through and age out). Only successful imports
 * are cached, and every check that uses the key (low-order points in the DH, signature
 * verification) still runs on each use.
 */
function importPublicKey(crv: Curve, raw: Uint8Array): KeyObject {
  const id = crv + Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64url");
  let key = publicKeyCache.get(id);
  if (!key) {
    key = createPublicKey({ key: { kty: "OKP", crv, x: id.slice(crv.length) }, format: "jwk" });
    publicKeyCache.set(id, key);
  }
  return key;
}

/** The raw bytes of a JWK member, in an array of their own (Buffer.from may use the shared pool). */
function rawFromBase64url(text: string | undefined): Uint8Array {
  const pooled = Buffer.from(text ?? "", "base64url");
  const raw = new Uint8Array(pooled);
  pooled.fill(0);
  return raw;
}

function exportRawPublicKey(key: KeyObject): Uint8Array {
  return rawFromBase64url(key.export({ format: "jwk" }).x);
}

/**
 * A key pair from 32 random bytes, its public key derived by OpenSSL. Not from
 * generateKeyPairSync + export: on Node 20 a garbage collection inside that export can
 * finalize the key-generation job that made the key while the export holds its lock, and
 * the process hangs for good (seen under bursts of handshakes; a 10-line script
 * reproduces it). Random bytes are exactly how RFC 7748 and RFC 8032 define private keys.
 */
function randomKeyPair(crv: Curve): KeyPair {
  const privateKey = new Uint8Array(KEY_LENGTH);
  fillRandomKeyBytes(privateKey);
  // Imported here anyway (OpenSSL derives the public key): cached for the DHs and signatures to come.
  const key = importPrivateKeyUncached(crv, privateKey);
  privateKeyCache.set(privateKey, { crv, fingerprint: fingerprintOf(privateKey), key });
  return { privateKey, publicKey: exportRawPublicKey(createPublicKey(key)) };
}

const x25519: X25519 = {
  generateKeyPair: () => randomKeyPair("X25519"),

  publicKey(privateKey) {
    assertKey32(privateKey, "X25519 private key");
    return exportRawPublicKey(createPublicKey(importPrivateKey("X25519", privateKey)));
  },

  dh(privateKey, publicKey) {
    assertKey32(privateKey, "X25519 private key");
    assertKey32(publicKey, "X25519 public key");
    const ours = importPrivateKey("X25519", privateKey);
    const theirs = importPublicKey("X25519", publicKey);
    try {
      return asUint8Array(diffieHellman({ privateKey: ours, publicKey: theirs }));
    } catch (cause) {
      // OpenSSL refuses to derive the all-zero secret of a low-order point (RFC 7748 §6.1).
      throw new WeakPublicKeyError(undefined, { cause });
    }
  },
};

const ed25519: Ed25519 = {
  generateKeyPair: () => randomKeyPair("Ed25519"),

  publicKey(secretKey) {
    assertKey32(secretKey, "Ed25519 secret key");
    return exportRawPublicKey(createPublicKey(importPrivateKey("Ed25519", secretKey)));
  },

  sign(secretKey, data) {
    assertKey32(secretKey, "Ed25519 secret key");
    return asUint8Array(nodeSign(null, data, importPrivateKey("Ed25519", secretKey)));
  },

  verify(publicKey, data, signature) {
    if (publicKey.length !== KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return false;
    try {
      return nodeVerify(null, data, importPublicKey("Ed25519", publicKey), signature);
    } catch {
      return false; // an unparsable point is just an invalid signature
    }
  },
};

const EMPTY = new Uint8Array(0);
const AUTH_TAG = { authTagLength: TAG_LENGTH } as const;

type Sealer = CipherGCM | CipherChaCha20Poly1305;
type Opener = DecipherGCM | DecipherChaCha20Poly1305;

/**
 * A cipher keyed with the key in `slot` (lent for the call: createCipheriv copies it into the
 * cipher's context, and the scratch is zeroed as it returns). Separate calls per algorithm
 * because @types/node types each AEAD through its own overload.
 */
function createSealer(aes: boolean, slot: number, iv: Buffer): Sealer {
  const key = lendKey(slot);
  try {
    return aes ? createCipheriv("aes-256-gcm", key, iv, AUTH_TAG) : createCipheriv("chacha20-poly1305", key, iv, AUTH_TAG);
  } finally {
    returnKey();
  }
}

function createOpener(aes: boolean, slot: number, iv: Buffer): Opener {
  const key = lendKey(slot);
  try {
    return aes ? createDecipheriv("aes-256-gcm", key, iv, AUTH_TAG) : createDecipheriv("chacha20-poly1305", key, iv, AUTH_TAG);
  } finally {
    returnKey();
  }
}

/** An AEAD's spare sealer and opener (spare-ciphers.ts). */
class Spares {
  readonly sealer = new SpareSlot<Sealer>();
  readonly opener = new SpareSlot<Opener>();
}

/**
 * The IV every NodeAead of this thread writes its nonce into: createCipheriv copies it before
 * it returns, and nothing runs between the write and that call, so one buffer serves them all.
 * One per AEAD (two per channel end) cost ≈ 0.4 KiB of heap and native memory each.
 */
const sharedIv = Buffer.alloc(12);

/** sharedIv holding `nonce` (AESGCM nonces are big-endian), for the createCipheriv call that follows at once. */
function ivOf(nonce: number | bigint, aes: boolean): Buffer {
  writeNoiseNonce(sharedIv, nonce, aes);
  return sharedIv;
}

/**
 * One AEAD per key. The key is this object's own copy of the 32 bytes, handed to
 * createCipheriv on every record, not a KeyObject: a record costs the same either way (node
 * copies the bytes into the cipher context per call in both cases, measured equal), and a
 * KeyObject's bytes stay in OpenSSL memory until the garbage collector frees it, whereas
 * dispose() zeroes ours. The copy is off the V8 heap, in a slot of a shared buffer
 * (key-slots.ts: an ArrayBuffer per key cost ≈ 330 B more per key), so no garbage collection
 * moves it and leaves an old copy behind; the AEAD keeps the slot's number, not a view of it
 * (96 B). The IV buffer is shared (sharedIv).
 */
class NodeAead implements Aead, SpareHolder {
  readonly cipher: AeadCipher;
  readonly #aes: boolean;
  /** The key's slot (key-slots.ts), -1 once disposed. */
  #slot: number;
  /**
   * Spares (prepareSeal, prepareOpen; spare-ciphers.ts), made at the first request and dropped
   * once a sweep leaves them empty: an idle channel's AEADs hold none.
   */
  #spares: Spares | undefined;

  constructor(cipher: AeadCipher, key: Uint8Array) {
    assertCipher(cipher);
    assertKey32(key, "AEAD key");
    this.cipher = cipher;
    this.#aes = cipher === "AESGCM";
    this.#slot = takeKeySlot(this);
    writeKey(this.#slot, key);
  }

  seal(nonce: number | bigint, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const out = allocateForOverwrite(plaintext.length + TAG_LENGTH); // sealInto fills every byte
    this.sealInto(nonce, ad, plaintext, out, 0);
    return out;
  }

  sealInto(nonce: number | bigint, ad: Uint8Array, plaintext: Uint8Array, output: Uint8Array, offset: number): number {
    const cipher = this.#sealer(nonce);
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

  sealPartsInto(nonce: number | bigint, ad: Uint8Array, parts: readonly Uint8Array[], output: Uint8Array, offset: number): number {
    const cipher = this.#sealer(nonce);
    let length = 0;
    for (const part of parts) length += part.length;
    if (ad.length > 0) cipher.setAAD(ad, { plaintextLength: length });
    // GCM and ChaCha20 are stream modes: update() returns exactly as many bytes as it is given.
    let at = offset;
    for (const part of parts) {
      if (part.length === 0) continue;
      const body = cipher.update(part);
      output.set(body, at);
      at += body.length;
    }
    const tail = cipher.final();
    if (tail.length > 0) output.set(tail, at);
    output.set(cipher.getAuthTag(), offset + length);
    return length + TAG_LENGTH;
  }

  sealParts(nonce: number | bigint, ad: Uint8Array, parts: readonly Uint8Array[]): Uint8Array[] {
    const cipher = this.#sealer(nonce);
    let length = 0;
    for (const part of parts) length += part.length;
    if (ad.length > 0) cipher.setAAD(ad, { plaintextLength: length });
    // Each update's output is a buffer the cipher just made: handed on as it is, never copied.
    const out: Uint8Array[] = [];
    for (const part of parts) if (part.length > 0) out.push(cipher.update(part));
    const tail = cipher.final(); // empty for both stream-mode AEADs, kept for correctness
    if (tail.length > 0) out.push(tail);
    out.push(cipher.getAuthTag());
    return out;
  }

  open(nonce: number | bigint, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    if (ciphertext.length < TAG_LENGTH) return null;
    const bodyLength = ciphertext.length - TAG_LENGTH;
    const decipher = this.#opener(nonce, ad, bodyLength, ciphertext.subarray(bodyLength));
    const plaintext = decipher.update(ciphertext.subarray(0, bodyLength));
    try {
      decipher.final();
    } catch {
      plaintext.fill(0); // never hand out unauthenticated plaintext
      return null;
    }
    return plaintext.length === 0 ? EMPTY : asUint8Array(plaintext);
  }

  openParts(nonce: number | bigint, ad: Uint8Array, parts: readonly Uint8Array[]): Uint8Array[] | null {
    let length = 0;
    for (const part of parts) length += part.length;
    if (length < TAG_LENGTH) return null;
    const bodyLength = length - TAG_LENGTH;
    const decipher = this.#opener(nonce, ad, bodyLength, tagOf(parts, bodyLength));
    // GCM and ChaCha20 are stream modes: each update() returns as many bytes as it is given.
    const pieces: Uint8Array[] = [];
    let at = 0;
    for (const part of parts) {
      if (at === bodyLength) break;
      const take = Math.min(part.length, bodyLength - at);
      if (take === 0) continue;
      pieces.push(asUint8Array(decipher.update(take === part.length ? part : part.subarray(0, take))));
      at += take;
    }
    try {
      decipher.final();
    } catch {
      for (const piece of pieces) piece.fill(0); // never hand out unauthenticated plaintext
      return null;
    }
    return pieces;
  }

  /** A decipher for `nonce`, with its tag and associated data set, ready for `bodyLength` bytes of ciphertext. */
  #opener(nonce: number | bigint, ad: Uint8Array, bodyLength: number, tag: Uint8Array): Opener {
    const decipher = this.#openerFor(nonce);
    decipher.setAuthTag(tag);
    if (ad.length > 0) decipher.setAAD(ad, { plaintextLength: bodyLength });
    return decipher;
  }

  /** The cipher to seal under `nonce`: the spare made for it, or a new one. */
  #sealer(nonce: number | bigint): Sealer {
    const spare = this.#spares?.sealer.take(nonce, true);
    if (spare !== undefined) return spare;
    return createSealer(this.#aes, this.#liveSlot(), ivOf(nonce, this.#aes));
  }

  /** The decipher to open under `nonce`: the spare made for it, or a new one. */
  #openerFor(nonce: number | bigint): Opener {
    const spare = this.#spares?.opener.take(nonce, false);
    if (spare !== undefined) return spare;
    return createOpener(this.#aes, this.#liveSlot(), ivOf(nonce, this.#aes));
  }

  /** Aead.prepareSeal: the cipher for `nonce` is made after this turn (spare-ciphers.ts). */
  prepareSeal(nonce: number): void {
    this.#liveSlot();
    if (makeSparesAfterTurn(this, true)) (this.#spares ??= new Spares()).sealer.wanted = nonce;
  }

  /** Aead.prepareOpen: the decipher for `nonce` is made after the next turn that seals (spare-ciphers.ts). */
  prepareOpen(nonce: number): void {
    this.#liveSlot();
    if (makeSparesAfterTurn(this, false)) (this.#spares ??= new Spares()).opener.wanted = nonce;
  }

  /** SpareHolder.makeSpares: makes what prepareSeal and prepareOpen asked for, unless it is there already. */
  makeSpares(sweeps: number): void {
    const slot = this.#slot;
    const spares = this.#spares;
    if (slot < 0 || spares === undefined) return;
    const aes = this.#aes;
    spares.sealer.make(sweeps, (nonce) => createSealer(aes, slot, ivOf(nonce, aes)));
    spares.opener.make(sweeps, (nonce) => createOpener(aes, slot, ivOf(nonce, aes)));
  }

  /** SpareHolder.sweep. */
  sweep(before: number, requests: boolean): boolean {
    const spares = this.#spares;
    if (spares === undefined) return true;
    const sealerEmpty = spares.sealer.sweep(before, requests);
    const openerEmpty = spares.opener.sweep(before, requests);
    if (!sealerEmpty || !openerEmpty) return false;
    // Nothing held, and nothing asked for (a holder still waiting is swept only with `requests`).
    this.#spares = undefined;
    return true;
  }

  dispose(): void {
    if (this.#slot >= 0) releaseKeySlot(this, this.#slot);
    this.#slot = -1;
    this.#spares = undefined;
    forgetSpareHolder(this);
  }

  static {
    readHeldSlot = (aead) => aead.#slot;
  }

  #liveSlot(): number {
    if (this.#slot < 0) throw new DisposedError();
    return this.#slot;
  }
}

/** Below this many bytes, parts are joined and hashed in one call (no Hash object: ~2× faster for Noise's MixHash). */
const ONE_SHOT_HASH_BYTES = 1024;

function sha256(...data: Uint8Array[]): Uint8Array {
  if (data.length === 1) return asUint8Array(oneShotHash("sha256", data[0]!, "buffer"));
  let length = 0;
  for (const part of data) length += part.length;
  if (length <= ONE_SHOT_HASH_BYTES) return asUint8Array(oneShotHash("sha256", concatBytes(...data), "buffer"));
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
  wipePrivateKey,
  copyPrivateKey,
});

/** The 16-byte tag after `bodyLength` bytes of `parts`: a view when the last part holds it all, else a copy. */
function tagOf(parts: readonly Uint8Array[], bodyLength: number): Uint8Array {
  const last = parts[parts.length - 1]!;
  if (last.length >= TAG_LENGTH) return last.subarray(last.length - TAG_LENGTH);
  const tag = new Uint8Array(TAG_LENGTH);
  let skip = bodyLength;
  let filled = 0;
  for (const part of parts) {
    if (skip >= part.length) {
      skip -= part.length;
      continue;
    }
    const take = part.subarray(skip);
    tag.set(take, filled);
    filled += take.length;
    skip = 0;
  }
  return tag;
}
