// The transport codec: wire format, loss, reordering, replay, tampering, forgery, rekey.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_EPOCH_SKIP, defaultMaxEpochSkip, TransportDecryptor, TransportEncryptor, type DecryptResult } from "../dist/channel/transport-cipher.js";
import type { Aead, CryptoProvider } from "../dist/crypto/provider.js";
import { nodeCryptoProvider } from "../dist/crypto/node-provider.js";
import { DisposedError, InvalidOptionError, TransportMessageDroppedError } from "../dist/errors.js";
import { CipherState } from "../dist/noise/cipher-state.js";
import { flipBit, hex, providers, toHexString } from "./helpers.js";

const KEY = hex("a1".repeat(32));
const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function pair(options: { provider?: CryptoProvider; rekeyInterval?: number; windowSize?: number; maxEpochSkip?: number; cipher?: "AESGCM" | "ChaChaPoly" } = {}) {
  return { encryptor: new TransportEncryptor(KEY, options), decryptor: new TransportDecryptor(KEY, options) };
}

function encryptMany(encryptor: TransportEncryptor, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => encryptor.encrypt(utf8(`message ${i}`)));
}

function expectDelivered(result: DecryptResult, index: number): void {
  // Called for every message of runs of thousands: what passes is checked without vitest's
  // expect (~7 µs a call), and the expects below run, and fail with their messages, otherwise.
  if (result.ok && result.nonce === index && text(result.plaintext) === `message ${index}`) return;
  expect(result.ok, `message ${index}: ${result.ok ? "" : result.reason}`).toBe(true);
  if (result.ok) {
    expect(text(result.plaintext)).toBe(`message ${index}`);
    expect(result.nonce).toBe(index);
  }
}

function expectDropped(result: DecryptResult, reason: string): void {
  expect(result).toEqual({ ok: false, reason });
}

/** Message order with every epoch boundary crossed backwards and local shuffles inside the window. */
function reorderAcrossBoundaries(count: number, interval: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  for (let b = interval; b < count; b += interval) [order[b - 1], order[b]] = [order[b], order[b - 1]];
  for (let i = 0; i + 8 <= count; i += 8) {
    const block = order.slice(i, i + 8).reverse();
    if (i % 16 === 0) order.splice(i, 8, ...block);
  }
  return order;
}

for (const provider of providers) {
  describe(`transport cipher (${provider.name})`, () => {
    it("round-trips messages of any size, both ciphers", () => {
      for (const cipher of ["AESGCM", "ChaChaPoly"] as const) {
        const { encryptor, decryptor } = pair({ provider, cipher });
        for (const size of [0, 1, 16, 1000, 70_000]) {
          const plaintext = new Uint8Array(randomBytes(size));
          const message = encryptor.encrypt(plaintext);
          expect(message).toHaveLength(8 + size + 16);
          // Compared as hex: toEqual walks a typed array element by element (~0.4 s for 70,000 bytes).
          expect(toHexString(decryptor.decryptOrThrow(message))).toBe(toHexString(plaintext));
        }
        expect(decryptor.accepted).toBe(5);
      }
    });

    it("writes an 8-byte big-endian nonce followed by AEAD(k, nonce, empty AD, plaintext)", () => {
      const { encryptor } = pair({ provider });
      const messages = encryptMany(encryptor, 300);
      const aead = provider.createAead("AESGCM", KEY);
      for (const n of [0, 1, 255, 256, 299]) {
        const message = messages[n];
        expect(Buffer.from(message.subarray(0, 8)).readBigUInt64BE()).toBe(BigInt(n));
        expect(message.subarray(8)).toEqual(aead.seal(n, new Uint8Array(0), utf8(`message ${n}`)));
      }
      expect(encryptor.nextNonce).toBe(300);
    });

    it("drops a message with any byte flipped, counts it, and keeps working", () => {
      const { encryptor, decryptor } = pair({ provider });
      expectDelivered(decryptor.decrypt(encryptor.encrypt(utf8("message 0"))), 0);
      const message = encryptor.encrypt(utf8("message 1"));
      for (let i = 0; i < message.length; i++) {
        const result = decryptor.decrypt(flipBit(message, i, (i * 3) % 8));
        expect(result.ok, `byte ${i}`).toBe(false);
        expect(decryptor.highestNonce).toBe(0);
      }
      expect(decryptor.dropped).toBe(message.length);
      const byReason = decryptor.droppedByReason;
      expect(byReason.AUTH_FAILED + byReason.TOO_FAR + byReason.TOO_OLD).toBe(message.length);
      expectDelivered(decryptor.decrypt(message), 1);
      expectDelivered(decryptor.decrypt(encryptor.encrypt(utf8("message 2"))), 2);
    });

    it("refuses a replay of a delivered message", () => {
      const { encryptor, decryptor } = pair({ provider });
      const [m0, m1] = encryptMany(encryptor, 2);
      expectDelivered(decryptor.decrypt(m0), 0);
      expectDelivered(decryptor.decrypt(m1), 1);
      expectDropped(decryptor.decrypt(m0), "REPLAY");
      expectDropped(decryptor.decrypt(m1), "REPLAY");
      expect(decryptor.droppedByReason.REPLAY).toBe(2);
      expect(() => decryptor.decryptOrThrow(m1)).toThrow(TransportMessageDroppedError);
      try {
        decryptor.decryptOrThrow(m1);
      } catch (error) {
        expect((error as TransportMessageDroppedError).reason).toBe("REPLAY");
      }
    });

    it("accepts messages reordered within the window exactly once", () => {
      const { encryptor, decryptor } = pair({ provider });
      const messages = encryptMany(encryptor, 200);
      const order = messages.map((_, i) => i).sort(() => Math.random() - 0.5);
      for (const i of order) expectDelivered(decryptor.decrypt(messages[i]), i);
      for (const i of order.slice(0, 20)) expectDropped(decryptor.decrypt(messages[i]), "REPLAY");
      expect(decryptor.accepted).toBe(200);
    });

    it("refuses a late message beyond the window", () => {
      const { encryptor, decryptor } = pair({ provider, windowSize: 64 });
      const messages = encryptMany(encryptor, 100);
      for (let i = 1; i < 100; i++) expectDelivered(decryptor.decrypt(messages[i]), i);
      expectDropped(decryptor.decrypt(messages[0]), "TOO_OLD");
      expectDropped(decryptor.decrypt(messages[99 - 64]), "TOO_OLD");
      expect(decryptor.droppedByReason.TOO_OLD).toBe(2);
    });

    it("is fine with loss (gaps)", () => {
      const { encryptor, decryptor } = pair({ provider });
      const messages = encryptMany(encryptor, 300);
      for (let i = 0; i < 300; i += 3) expectDelivered(decryptor.decrypt(messages[i]), i);
      expect(decryptor.dropped).toBe(0);
    });

    it("follows a forward jump larger than the window, then continues", () => {
      const { encryptor, decryptor } = pair({ provider, windowSize: 128 });
      const messages = encryptMany(encryptor, 2000);
      for (let i = 0; i < 10; i++) expectDelivered(decryptor.decrypt(messages[i]), i);
      expectDelivered(decryptor.decrypt(messages[1500]), 1500);
      expectDelivered(decryptor.decrypt(messages[1400]), 1400); // late, inside the moved window
      expectDropped(decryptor.decrypt(messages[1372]), "TOO_OLD");
      expectDropped(decryptor.decrypt(messages[5]), "TOO_OLD");
      for (let i = 1501; i < 2000; i++) expectDelivered(decryptor.decrypt(messages[i]), i);
    });

    it("does not move the window or confirm keys for a forged far-future nonce", () => {
      const { encryptor, decryptor } = pair({ provider, rekeyInterval: 16, windowSize: 64, maxEpochSkip: 1024 });
      const messages = encryptMany(encryptor, 40);
      for (let i = 0; i < 30; i++) if (i !== 20) expectDelivered(decryptor.decrypt(messages[i]), i);
      const keysBefore = decryptor.heldEpochKeys;
      for (const nonce of [31, 1000, 16_000]) {
        const forged = crypto.getRandomValues(new Uint8Array(8 + 32));
        Buffer.from(forged.buffer).writeBigUInt64BE(BigInt(nonce), 0);
        expectDropped(decryptor.decrypt(forged), "AUTH_FAILED");
      }
      // A genuine message's body under a far-future nonce is still a forgery.
      const moved = messages[30].slice();
      Buffer.from(moved.buffer).writeBigUInt64BE(5000n, 0);
      expectDropped(decryptor.decrypt(moved), "AUTH_FAILED");
      expect(decryptor.highestNonce).toBe(29);
      expect(decryptor.heldEpochKeys).toBe(keysBefore);
      expect(decryptor.pendingEpochKeys).toBe(Math.floor(16_000 / 16) - 1); // derived once, cached, unconfirmed
      expectDelivered(decryptor.decrypt(messages[20]), 20); // still inside the unmoved window
      for (let i = 30; i < 40; i++) expectDelivered(decryptor.decrypt(messages[i]), i);
    });

    it("drops nonces more than maxEpochSkip epochs ahead, or above 2^53-1, as TOO_FAR", () => {
      const { encryptor, decryptor } = pair({ provider, rekeyInterval: 4, maxEpochSkip: 8 });
      const messages = encryptMany(encryptor, 100);
      expectDelivered(decryptor.decrypt(messages[0]), 0);
      expectDropped(decryptor.decrypt(messages[36]), "TOO_FAR"); // epoch 9
      expectDelivered(decryptor.decrypt(messages[35]), 35); // epoch 8: allowed
      expectDelivered(decryptor.decrypt(messages[36]), 36); // now one epoch ahead
      const huge = messages[37].slice();
      huge.set([0x00, 0x20, 0, 0, 0, 0, 0, 0], 0); // 2^53
      expectDropped(decryptor.decrypt(huge), "TOO_FAR");
      expect(decryptor.droppedByReason.TOO_FAR).toBe(2);
    });

    it("follows a jump across many epochs (within maxEpochSkip) and confirms the keys on the way", () => {
      const { encryptor, decryptor } = pair({ provider, rekeyInterval: 7, windowSize: 64, maxEpochSkip: 1024 });
      const messages = encryptMany(encryptor, 2100);
      expectDelivered(decryptor.decrypt(messages[3]), 3);
      expectDelivered(decryptor.decrypt(messages[2050]), 2050); // 292 epochs ahead
      expectDelivered(decryptor.decrypt(messages[2000]), 2000); // late, 8 epochs back, inside the window
      expect(decryptor.heldEpochKeys).toBe(Math.floor(2050 / 7) - Math.floor((2050 - 63) / 7) + 1);
      expect(decryptor.pendingEpochKeys).toBe(0);
      for (let i = 2051; i < 2100; i++) expectDelivered(decryptor.decrypt(messages[i]), i);
    });

    // A forged record 1 024 epochs ahead (the old default) made each channel derive and keep 1 024 keys, ≈ 270 KB,
    // before anything authenticated: a user trial's 200 channels took 70-87 MB (session 43).
    it("by default follows 8 epochs ahead at the default interval: a forged record further on derives nothing", () => {
      expect(DEFAULT_MAX_EPOCH_SKIP).toBe(8);
      const { decryptor } = pair({ provider });
      expect(decryptor.maxEpochSkip).toBe(8);
      const forged = crypto.getRandomValues(new Uint8Array(8 + 32));
      Buffer.from(forged.buffer).writeBigUInt64BE(BigInt(32768 * 1024), 0);
      expectDropped(decryptor.decrypt(forged), "TOO_FAR");
      expect(decryptor.pendingEpochKeys).toBe(0);
      Buffer.from(forged.buffer).writeBigUInt64BE(BigInt(32768 * 8), 0); // epoch 8: followed, as a forgery
      expectDropped(decryptor.decrypt(forged), "AUTH_FAILED");
      expect(decryptor.pendingEpochKeys).toBeLessThanOrEqual(8);
    });

    // A bound of 8 epochs alone wedged a channel with a small interval after 8 × interval lost messages (a review's catch).
    it("by default tolerates as many lost messages with a small interval: the bound grows as the interval shrinks, to 1 024 epochs", () => {
      expect([1, 16, 256, 32768, 65536].map(defaultMaxEpochSkip)).toEqual([1024, 1024, 1024, 8, 8]);
      const { encryptor, decryptor } = pair({ provider, rekeyInterval: 16 });
      const messages = encryptMany(encryptor, 200);
      expectDelivered(decryptor.decrypt(messages[0]), 0);
      expectDelivered(decryptor.decrypt(messages[160]), 160); // 159 lost: 10 epochs ahead
      expectDelivered(decryptor.decrypt(messages[161]), 161);
    });

    it("drops messages shorter than nonce + tag", () => {
      const { decryptor } = pair({ provider });
      expectDropped(decryptor.decrypt(new Uint8Array(23)), "TOO_SHORT");
      expectDropped(decryptor.decrypt(new Uint8Array(0)), "TOO_SHORT");
      expectDropped(decryptor.decrypt(new Uint8Array(24)), "AUTH_FAILED");
    });

    for (const interval of [1, 2, 3, 7, 64, 1000]) {
      it(`rekeys every ${interval} message(s), in order and reordered across epoch boundaries`, () => {
        const count = Math.max(3 * interval + 5, 60);
        const { encryptor, decryptor } = pair({ provider, rekeyInterval: interval });
        const messages = encryptMany(encryptor, count);
        for (const i of reorderAcrossBoundaries(count, interval)) expectDelivered(decryptor.decrypt(messages[i]), i);
        expect(decryptor.dropped).toBe(0);
        // Held keys cover the window and no more.
        expect(decryptor.heldEpochKeys).toBeLessThanOrEqual(Math.ceil(1024 / interval) + 1);

        // The key for nonce n is the initial key after floor(n / interval) Noise REKEYs.
        for (const n of [0, interval - 1, interval, 2 * interval + 1, count - 1]) {
          const reference = new CipherState(provider, "AESGCM");
          reference.initializeKey(KEY);
          for (let r = 0; r < Math.floor(n / interval); r++) reference.rekey();
          reference.setNonce(BigInt(n));
          expect(messages[n].subarray(8), `nonce ${n}`).toEqual(reference.encryptWithAd(new Uint8Array(0), utf8(`message ${n}`)));
        }

        // A receiver with another interval cannot follow past the first boundary.
        const other = new TransportDecryptor(KEY, { provider, rekeyInterval: interval + 1 });
        expectDropped(other.decrypt(messages[interval]), "AUTH_FAILED");
      });
    }

    it("accepts a late message from an older epoch while the window still covers it", () => {
      const { encryptor, decryptor } = pair({ provider, rekeyInterval: 1, windowSize: 1024 });
      const messages = encryptMany(encryptor, 1100);
      for (let i = 0; i < 1100; i++) if (i !== 200 && i !== 50) expectDelivered(decryptor.decrypt(messages[i]), i);
      expectDelivered(decryptor.decrypt(messages[200]), 200); // 899 messages and epochs back
      expectDropped(decryptor.decrypt(messages[50]), "TOO_OLD");
      expect(decryptor.heldEpochKeys).toBe(1024);
    });
  });
}

describe("transport cipher key hygiene and options", () => {
  /** A provider that records every AEAD it makes and the key array it was given. */
  function recordingProvider() {
    const made: { aead: Aead; key: Uint8Array; disposed: boolean }[] = [];
    const provider: CryptoProvider = {
      ...nodeCryptoProvider,
      createAead(cipher, key) {
        const aead = nodeCryptoProvider.createAead(cipher, key);
        const entry = { aead, key, disposed: false };
        made.push(entry);
        return {
          cipher: aead.cipher,
          seal: (n, ad, p) => aead.seal(n, ad, p),
          sealInto: (n, ad, p, o, off) => aead.sealInto(n, ad, p, o, off),
          open: (n, ad, c) => aead.open(n, ad, c),
          dispose: () => {
            entry.disposed = true;
            aead.dispose();
          },
        };
      },
    };
    return { provider, made };
  }

  it("wipes derived keys, disposes passed epochs, and drops everything on dispose()", () => {
    const { provider, made } = recordingProvider();
    const encryptor = new TransportEncryptor(KEY, { provider, rekeyInterval: 2 });
    const decryptor = new TransportDecryptor(KEY, { provider, rekeyInterval: 2, windowSize: 32 });
    for (const message of encryptMany(encryptor, 100)) expect(decryptor.decrypt(message).ok).toBe(true);
    // Every derived key (all but the two initial ones) was wiped after keying its AEAD.
    for (const { key } of made.filter((m) => m.key !== KEY)) expect(key.every((b) => b === 0)).toBe(true);
    expect(KEY.every((b) => b === 0xa1)).toBe(true); // the caller's key is the caller's
    encryptor.dispose();
    decryptor.dispose();
    expect(made.every((m) => m.disposed)).toBe(true);
    expect(() => encryptor.encrypt(utf8("x"))).toThrow(DisposedError);
    expect(() => decryptor.decrypt(new Uint8Array(40))).toThrow(DisposedError);
  });

  it("derives each future epoch key once, however many forgeries point at it", () => {
    const { provider, made } = recordingProvider();
    const decryptor = new TransportDecryptor(KEY, { provider, rekeyInterval: 1, maxEpochSkip: 1024 });
    const forged = new Uint8Array(40);
    Buffer.from(forged.buffer).writeBigUInt64BE(500n, 0);
    expectDropped(decryptor.decrypt(forged), "AUTH_FAILED");
    const afterFirst = made.length;
    expect(afterFirst).toBe(1 + 500);
    for (let i = 0; i < 20; i++) expectDropped(decryptor.decrypt(forged), "AUTH_FAILED");
    expect(made.length).toBe(afterFirst);
    // Genuine traffic uses the cached chain and confirms it.
    const encryptor = new TransportEncryptor(KEY, { rekeyInterval: 1 });
    const messages = encryptMany(encryptor, 502);
    expectDelivered(decryptor.decrypt(messages[0]), 0);
    expectDelivered(decryptor.decrypt(messages[501]), 501);
    expect(made.length).toBe(afterFirst + 1);
    expect(decryptor.pendingEpochKeys).toBe(0);
  });

  it("validates options, naming the option", () => {
    for (const rekeyInterval of [0, -1, 1.5, Number.NaN]) {
      expect(() => new TransportEncryptor(KEY, { rekeyInterval })).toThrow(InvalidOptionError);
      try {
        new TransportDecryptor(KEY, { rekeyInterval });
      } catch (error) {
        expect((error as InvalidOptionError).option).toBe("rekeyInterval");
      }
    }
    expect(() => new TransportDecryptor(KEY, { windowSize: 100 })).toThrow(InvalidOptionError);
    expect(() => new TransportDecryptor(KEY, { maxEpochSkip: 0 })).toThrow(InvalidOptionError);
    expect(new TransportEncryptor(KEY).rekeyInterval).toBe(32768);
  });
});

describe("sealing from parts", () => {
  for (const provider of providers) {
    for (const cipher of ["AESGCM", "ChaChaPoly"] as const) {
      it(`gives exactly the bytes of sealing the concatenation (${provider.name}, ${cipher})`, () => {
        const parts = [Uint8Array.of(3), new Uint8Array(0), new Uint8Array(randomBytes(37)), new Uint8Array(randomBytes(16 * 1024))];
        const whole = new Uint8Array(Buffer.concat(parts));
        const [a, b] = [pair({ provider, cipher }), pair({ provider, cipher })];
        for (let i = 0; i < 3; i++) {
          const expected = a.encryptor.encrypt(whole);
          const out = new Uint8Array(5 + expected.length);
          expect(b.encryptor.encryptPartsInto(parts, out, 5)).toBe(expected.length);
          expect(Buffer.from(out.subarray(5)).equals(Buffer.from(expected))).toBe(true);
          const opened = b.decryptor.decrypt(out.subarray(5));
          expect(opened.ok && Buffer.from(opened.plaintext).equals(Buffer.from(whole))).toBe(true);
        }
      });
    }
  }
});

describe("opening from parts", () => {
  /** `message` cut at `cuts` (offsets into it), after a `skip`-byte prefix on the first part. */
  const cut = (message: Uint8Array, cuts: number[], skip = 1): Uint8Array[] => {
    const prefixed = new Uint8Array(Buffer.concat([Buffer.alloc(skip, 0xee), message]));
    const at = [0, ...cuts.map((c) => c + skip), prefixed.length];
    return at.slice(1).map((end, i) => prefixed.subarray(at[i], end));
  };
  const joined = (pieces: readonly Uint8Array[]) => Buffer.concat(pieces);

  for (const provider of providers) {
    for (const cipher of ["AESGCM", "ChaChaPoly"] as const) {
      it(`opens a message cut anywhere (nonce, body, tag) as decrypt() does, in pieces (${provider.name}, ${cipher})`, () => {
        const plaintext = new Uint8Array(randomBytes(3_000));
        const { encryptor } = pair({ provider, cipher });
        const decryptor = new TransportDecryptor(KEY, { provider, cipher });
        let nonce = 0;
        // Cuts inside the nonce (0-8), at the body's edges, inside the tag (the last 16 bytes), and several at once.
        const length = 8 + plaintext.length + 16;
        const cutSets = [[], [3], [8], [9], [1_500], [length - 16], [length - 5], [length - 1], [100, 2_000, length - 8], [8, 8, 9]];
        for (const cuts of cutSets) {
          const message = encryptor.encrypt(plaintext);
          const result = decryptor.decryptParts(cut(message, cuts), 1);
          expect(result.ok, `cuts ${cuts.join(",")}`).toBe(true);
          if (!result.ok) continue;
          expect(result.nonce).toBe(nonce++);
          expect(joined(result.pieces).equals(Buffer.from(plaintext)), `cuts ${cuts.join(",")}`).toBe(true);
          // A replay of the same message, whole or in parts, is dropped.
          expect(decryptor.decryptParts(cut(message, [77]), 1)).toEqual({ ok: false, reason: "REPLAY" });
          expect(decryptor.decrypt(message)).toEqual({ ok: false, reason: "REPLAY" });
        }
        // node:crypto opens part by part: a piece per ciphertext part, no join.
        if (provider.name === "node") {
          const result = decryptor.decryptParts(cut(encryptor.encrypt(plaintext), [1_000, 2_000]), 1);
          expect(result.ok && result.pieces.map((p) => p.length)).toEqual([1_000 - 8, 1_000, plaintext.length - 1_992]);
        }
      });

      it(`drops a message in parts with any byte flipped, unauthenticated plaintext never handed out (${provider.name}, ${cipher})`, () => {
        const plaintext = new Uint8Array(randomBytes(200));
        const { encryptor } = pair({ provider, cipher });
        const decryptor = new TransportDecryptor(KEY, { provider, cipher });
        const message = encryptor.encrypt(plaintext);
        for (let i = 0; i < message.length; i += 7) {
          const result = decryptor.decryptParts(cut(flipBit(message, i, i % 8), [50, message.length - 10]), 1);
          expect(result.ok, `byte ${i}`).toBe(false);
        }
        expect(decryptor.decryptParts(cut(message.subarray(0, 20), [5]), 1)).toEqual({ ok: false, reason: "TOO_SHORT" });
        const intact = decryptor.decryptParts(cut(message, [50, message.length - 10]), 1);
        expect(intact.ok && joined(intact.pieces).equals(Buffer.from(plaintext))).toBe(true);
      });
    }
  }
});
