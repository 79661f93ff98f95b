import { describe, expect, it } from "vitest";
import { fillRandomKeyBytes, randomKeyBlockForTests } from "../dist/crypto/random-key-bytes.js";
import { nodeCryptoProvider } from "../dist/crypto/node-provider.js";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

describe("random key bytes (cut from a block drawn at once)", () => {
  it("hands out distinct keys, across block refills", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) {
      // 600 × 32 bytes: several 4 KiB blocks.
      const key = new Uint8Array(32);
      fillRandomKeyBytes(key);
      seen.add(hex(key));
    }
    expect(seen.size).toBe(600);
  });

  it("wipes what it handed out from the block: a key in use is not kept", () => {
    for (let i = 0; i < 200; i++) {
      const key = new Uint8Array(32);
      fillRandomKeyBytes(key);
      expect(hex(randomKeyBlockForTests())).not.toContain(hex(key));
    }
  });

  it("fills a request larger than the block straight from the CSPRNG", () => {
    const big = new Uint8Array(10_000);
    fillRandomKeyBytes(big);
    expect(big.some((b) => b !== 0)).toBe(true);
    expect(new Set(big).size).toBeGreaterThan(200);
  });

  it("the node provider's key pairs come from it and still work (a DH agrees on both sides)", () => {
    const a = nodeCryptoProvider.x25519.generateKeyPair();
    const b = nodeCryptoProvider.x25519.generateKeyPair();
    expect(hex(a.privateKey)).not.toBe(hex(b.privateKey));
    expect(hex(nodeCryptoProvider.x25519.dh(a.privateKey, b.publicKey))).toBe(hex(nodeCryptoProvider.x25519.dh(b.privateKey, a.publicKey)));
  });
});
