// One compliance suite that both crypto providers run: published vectors, Noise nonce
// encoding, AEAD failure behaviour, and agreement between the two implementations.
import { createCipheriv } from "node:crypto";
import { describe, expect, it } from "vitest";
import { getCryptoProvider } from "../dist/crypto/index.js";
import { DisposedError, InvalidKeyError, InvalidNonceError, UnknownCryptoProviderError, UnsupportedCipherError, WeakPublicKeyError } from "../dist/errors.js";
import type { AeadCipher, CryptoProvider } from "../dist/crypto/provider.js";
import { nobleCryptoProvider } from "../dist/crypto/noble-provider.js";
import { nodeCryptoProvider } from "../dist/crypto/node-provider.js";
import { flipBit, hex, providers, toHexString } from "./helpers.js";

const ciphers: readonly AeadCipher[] = ["AESGCM", "ChaChaPoly"];
const utf8 = (text: string) => new TextEncoder().encode(text);

/** The IV Noise prescribes, built independently of the providers' encoder. */
function noiseIv(cipher: AeadCipher, nonce: bigint): Buffer {
  const iv = Buffer.alloc(12);
  if (cipher === "AESGCM") iv.writeBigUInt64BE(nonce, 4);
  else iv.writeBigUInt64LE(nonce, 4);
  return iv;
}

/** Reference AEAD straight from OpenSSL with an explicit IV. */
function referenceSeal(cipher: AeadCipher, key: Uint8Array, nonce: bigint, ad: Uint8Array, plaintext: Uint8Array): string {
  const algorithm = cipher === "AESGCM" ? "aes-256-gcm" : "chacha20-poly1305";
  const c = createCipheriv(algorithm as "aes-256-gcm", key, noiseIv(cipher, nonce), { authTagLength: 16 });
  c.setAAD(ad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]).toString("hex");
}

describe("getCryptoProvider", () => {
  it("returns each provider by name and refuses unknown names", () => {
    expect(getCryptoProvider("node")).toBe(nodeCryptoProvider);
    expect(getCryptoProvider("noble")).toBe(nobleCryptoProvider);
    expect(() => getCryptoProvider("wasm" as "node")).toThrow(UnknownCryptoProviderError);
    // JSON.stringify threw a TypeError on these while the message was built.
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const bad of [1n, circular]) expect(() => getCryptoProvider(bad as never)).toThrow(UnknownCryptoProviderError);
  });
});

for (const provider of providers) {
  describe(`${provider.name} crypto provider`, () => {
    it("X25519 matches RFC 7748 §6.1", () => {
      const alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
      const bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
      const alicePublic = provider.x25519.publicKey(alice);
      const bobPublic = provider.x25519.publicKey(bob);
      expect(toHexString(alicePublic)).toBe("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
      expect(toHexString(bobPublic)).toBe("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
      const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
      expect(toHexString(provider.x25519.dh(alice, bobPublic))).toBe(shared);
      expect(toHexString(provider.x25519.dh(bob, alicePublic))).toBe(shared);
    });

    it("X25519 generates working key pairs and rejects low-order points and bad lengths", () => {
      const a = provider.x25519.generateKeyPair();
      const b = provider.x25519.generateKeyPair();
      expect(a.privateKey).toHaveLength(32);
      expect(a.publicKey).toEqual(provider.x25519.publicKey(a.privateKey));
      expect(provider.x25519.dh(a.privateKey, b.publicKey)).toEqual(provider.x25519.dh(b.privateKey, a.publicKey));
      expect(() => provider.x25519.dh(a.privateKey, new Uint8Array(32))).toThrow(WeakPublicKeyError);
      expect(() => provider.x25519.dh(a.privateKey, new Uint8Array(31))).toThrow(InvalidKeyError);
      expect(() => provider.x25519.publicKey(new Uint8Array(33))).toThrow(InvalidKeyError);
    });

    it("Ed25519 matches RFC 8032 test 1 and verifies strictly", () => {
      const secret = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
      const publicKey = provider.ed25519.publicKey(secret);
      expect(toHexString(publicKey)).toBe("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
      const signature = provider.ed25519.sign(secret, new Uint8Array(0));
      expect(toHexString(signature)).toBe(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
      );
      expect(provider.ed25519.verify(publicKey, new Uint8Array(0), signature)).toBe(true);
      expect(provider.ed25519.verify(publicKey, Uint8Array.of(0), signature)).toBe(false);
      expect(provider.ed25519.verify(publicKey, new Uint8Array(0), flipBit(signature, 10))).toBe(false);
      expect(provider.ed25519.verify(publicKey, new Uint8Array(0), signature.subarray(0, 63))).toBe(false);
      expect(provider.ed25519.verify(new Uint8Array(32).fill(0xff), new Uint8Array(0), signature)).toBe(false);
      // S + L is the same scalar mod L but non-canonical: RFC 8032 (and OpenSSL) reject it.
      const L = 2n ** 252n + 27742317777372353535851937790883648493n;
      const s = BigInt("0x" + Buffer.from(signature.subarray(32)).reverse().toString("hex"));
      const malleated = signature.slice();
      malleated.set(Buffer.from((s + L).toString(16).padStart(64, "0"), "hex").reverse(), 32);
      expect(provider.ed25519.verify(publicKey, new Uint8Array(0), malleated)).toBe(false);
    });

    it("Ed25519 generates key pairs that sign and verify", () => {
      const pair = provider.ed25519.generateKeyPair();
      expect(pair.publicKey).toEqual(provider.ed25519.publicKey(pair.privateKey));
      const data = utf8("hello");
      expect(provider.ed25519.verify(pair.publicKey, data, provider.ed25519.sign(pair.privateKey, data))).toBe(true);
    });

    it("SHA-256 and HMAC-SHA256 match FIPS 180 and RFC 4231, with data in parts", () => {
      expect(toHexString(provider.sha256(utf8("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
      expect(toHexString(provider.sha256(utf8("a"), utf8("bc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
      const mac = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
      expect(toHexString(provider.hmacSha256(utf8("Jefe"), utf8("what do ya want for nothing?")))).toBe(mac);
      expect(toHexString(provider.hmacSha256(utf8("Jefe"), utf8("what do ya "), utf8("want for nothing?")))).toBe(mac);
      expect(provider.sha256(utf8("abc")).constructor).toBe(Uint8Array);
    });

    for (const cipher of ciphers) {
      describe(`AEAD ${cipher}`, () => {
        const key = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

        it("encodes Noise nonces (4 zero bytes + 64-bit, AESGCM big-endian, ChaChaPoly little-endian)", () => {
          const aead = provider.createAead(cipher, key);
          const ad = utf8("ad");
          const plaintext = utf8("plaintext");
          for (const nonce of [0n, 1n, 255n, 256n, 0x1_0000_0000n, 0x1234_5678_9abcn, 2n ** 53n - 1n, 2n ** 64n - 1n]) {
            const expected = referenceSeal(cipher, key, nonce, ad, plaintext);
            expect(toHexString(aead.seal(nonce, ad, plaintext)), `nonce ${nonce}`).toBe(expected);
            if (nonce <= BigInt(Number.MAX_SAFE_INTEGER)) expect(toHexString(aead.seal(Number(nonce), ad, plaintext))).toBe(expected);
          }
        });

        it("opens what it seals and returns null, never throwing, for anything forged", () => {
          const aead = provider.createAead(cipher, key);
          const ad = utf8("header");
          const plaintext = utf8("attack at dawn");
          const sealed = aead.seal(7, ad, plaintext);
          expect(sealed).toHaveLength(plaintext.length + 16);
          expect(aead.open(7, ad, sealed)).toEqual(plaintext);
          expect(aead.open(7n, ad, sealed)).toEqual(plaintext);
          for (let i = 0; i < sealed.length; i++) expect(aead.open(7, ad, flipBit(sealed, i, i % 8))).toBeNull();
          expect(aead.open(8, ad, sealed)).toBeNull();
          expect(aead.open(7, utf8("other"), sealed)).toBeNull();
          expect(aead.open(7, ad, sealed.subarray(0, 15))).toBeNull();
          expect(aead.open(7, ad, new Uint8Array(0))).toBeNull();
          expect(provider.createAead(cipher, new Uint8Array(32)).open(7, ad, sealed)).toBeNull();
        });

        it("handles empty plaintext and empty AD", () => {
          const aead = provider.createAead(cipher, key);
          const sealed = aead.seal(0, new Uint8Array(0), new Uint8Array(0));
          expect(sealed).toHaveLength(16);
          expect(aead.open(0, new Uint8Array(0), sealed)).toEqual(new Uint8Array(0));
        });

        it("sealInto writes ciphertext and tag at an offset of a larger buffer", () => {
          const aead = provider.createAead(cipher, key);
          const plaintext = utf8("into one buffer");
          const out = new Uint8Array(5 + plaintext.length + 16 + 3).fill(0xaa);
          expect(aead.sealInto(3, new Uint8Array(0), plaintext, out, 5)).toBe(plaintext.length + 16);
          expect(out.subarray(5, 5 + plaintext.length + 16)).toEqual(aead.seal(3, new Uint8Array(0), plaintext));
          expect([...out.subarray(0, 5), ...out.subarray(out.length - 3)]).toEqual([0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
        });

        it("rejects invalid nonces, keys and ciphers with typed errors", () => {
          const aead = provider.createAead(cipher, key);
          const empty = new Uint8Array(0);
          for (const bad of [-1, 1.5, 2 ** 53, Number.NaN, -1n, 2n ** 64n]) {
            expect(() => aead.seal(bad, empty, empty), String(bad)).toThrow(InvalidNonceError);
          }
          expect(() => provider.createAead(cipher, new Uint8Array(16))).toThrow(InvalidKeyError);
          expect(() => provider.createAead("AES128" as AeadCipher, key)).toThrow(UnsupportedCipherError);
        });

        it("is unusable after dispose()", () => {
          const aead = provider.createAead(cipher, key);
          aead.dispose();
          expect(() => aead.seal(0, new Uint8Array(0), new Uint8Array(1))).toThrow(DisposedError);
          expect(() => aead.open(0, new Uint8Array(0), new Uint8Array(17))).toThrow(DisposedError);
        });

        it("does not keep the caller's key array", () => {
          const mutable = key.slice();
          const aead = provider.createAead(cipher, mutable);
          const before = aead.seal(1, new Uint8Array(0), utf8("x"));
          mutable.fill(0);
          expect(aead.seal(1, new Uint8Array(0), utf8("x"))).toEqual(before);
        });
      });
    }
  });
}

describe("node and noble providers agree", () => {
  const [node, noble]: readonly CryptoProvider[] = providers;

  it("on AEAD output for random keys, nonces, AD and sizes", () => {
    for (const cipher of ciphers) {
      for (const size of [0, 1, 15, 16, 17, 255, 1024, 4099]) {
        const key = node.x25519.generateKeyPair().privateKey;
        const ad = crypto.getRandomValues(new Uint8Array(size % 40));
        const plaintext = crypto.getRandomValues(new Uint8Array(size));
        const nonce = Math.floor(Math.random() * Number.MAX_SAFE_INTEGER);
        const sealed = node.createAead(cipher, key).seal(nonce, ad, plaintext);
        // Compared as hex: toEqual walks a typed array element by element.
        expect(toHexString(noble.createAead(cipher, key).seal(nonce, ad, plaintext))).toBe(toHexString(sealed));
        expect(toHexString(noble.createAead(cipher, key).open(nonce, ad, sealed))).toBe(toHexString(plaintext));
      }
    }
  });

  it("on X25519 and Ed25519 across implementations", () => {
    const a = node.x25519.generateKeyPair();
    const b = noble.x25519.generateKeyPair();
    expect(node.x25519.dh(a.privateKey, b.publicKey)).toEqual(noble.x25519.dh(b.privateKey, a.publicKey));
    const signer = noble.ed25519.generateKeyPair();
    const data = utf8("cross-checked");
    expect(node.ed25519.verify(signer.publicKey, data, noble.ed25519.sign(signer.privateKey, data))).toBe(true);
    expect(node.ed25519.sign(signer.privateKey, data)).toEqual(noble.ed25519.sign(signer.privateKey, data));
  });
});
