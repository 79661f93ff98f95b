// A channel direction's next record has a known nonce, so node:crypto's AEAD makes that
// record's cipher after the turn that asked (spare-ciphers.ts), off the record's path. These
// tests check that round trips use them, that a record sealed or opened with a spare is the
// record a fresh cipher makes, that spares of idle AEADs are dropped, and that dispose
// leaves none.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Node, Worker } from "@hopwire/runtime";
import { nodeCryptoProvider } from "../dist/crypto/node-provider.js";
import { spareCiphers, spareHolders } from "../dist/crypto/spare-ciphers.js";
import { TransportDecryptor, TransportEncryptor } from "../dist/channel/transport-cipher.js";
import type { CryptoProvider } from "../dist/crypto/provider.js";
import { channelToWorker } from "./channel-to-worker.js";
import { eventually } from "../../../test/support/eventually.js";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/** Resolves after the turn that called it and the one after (when spares asked for in this turn are made). */
function afterSpares(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(() => setImmediate(resolve))));
}

const echo: Worker = {
  async handleMessage(ctx, msg) {
    await ctx.send(msg.returnRoute, msg.body);
  },
};

// The bound is per thread, and test files share this fork: wait out what another file's AEADs hold (two sweeps at most).
beforeEach(() => eventually(() => spareHolders() === 0, 10_000, "spares other files left swept"));

describe("spare ciphers", () => {
  it("round trips through a channel seal and open their records with spares made between them", async () => {
    const { alice, channel } = await channelToWorker(nodes, "echo", echo);
    await alice.sendAndReceive([channel.address, "echo"], "warm-up");
    const used = spareCiphers.used;
    const trips = 50;
    for (let i = 0; i < trips; i++) expect(await alice.sendAndReceive([channel.address, "echo"], i)).toBe(i);
    // Four records a round trip (alice seals, bob opens, bob seals, alice opens), each with its spare.
    expect(spareCiphers.used - used).toBeGreaterThanOrEqual(4 * trips - 8);
  });

  it("a record sealed with a spare is the record a fresh cipher seals, and opens with or without one", async () => {
    const key = new Uint8Array(32).fill(7);
    const prepared = new TransportEncryptor(key);
    const fresh = new TransportEncryptor(key);
    const message = new TextEncoder().encode("the same record either way");
    const used = spareCiphers.used;
    const first = prepared.encrypt(message);
    expect(fresh.encrypt(message)).toEqual(first);
    await afterSpares();
    const second = prepared.encrypt(message);
    expect(spareCiphers.used - used).toBe(1);
    expect(fresh.encrypt(message)).toEqual(second);

    const decryptor = new TransportDecryptor(key);
    expect(decryptor.decrypt(first)).toMatchObject({ ok: true, nonce: 0 });
    await afterSpares();
    // A forged record under the spare's nonce uses it up and fails; the real one still opens.
    const forged = second.slice();
    forged[forged.length - 1]! ^= 1;
    const usedBefore = spareCiphers.used;
    expect(decryptor.decrypt(forged)).toMatchObject({ ok: false, reason: "AUTH_FAILED" });
    expect(spareCiphers.used - usedBefore).toBe(1);
    const opened = decryptor.decrypt(second);
    expect(opened.ok && new TextDecoder().decode(opened.plaintext)).toBe("the same record either way");
    for (const c of [prepared, fresh, decryptor]) c.dispose();
  });

  it("an open's spare waits for the next turn that seals (a worker's quick answer must not wait for it)", async () => {
    const key = new Uint8Array(32).fill(9);
    const encryptor = new TransportEncryptor(key);
    const decryptor = new TransportDecryptor(key);
    const other = new TransportEncryptor(new Uint8Array(32).fill(10));
    const record = encryptor.encrypt(new Uint8Array(10));
    await afterSpares();
    const made = spareCiphers.made;
    expect(decryptor.decrypt(record).ok).toBe(true);
    await afterSpares();
    expect(spareCiphers.made).toBe(made);
    // A seal in this thread, on any channel: its spare and the open's are made after its turn.
    other.encrypt(new Uint8Array(10));
    await afterSpares();
    expect(spareCiphers.made - made).toBe(2);
    const used = spareCiphers.used;
    expect(decryptor.decrypt(encryptor.encrypt(new Uint8Array(10))).ok).toBe(true);
    expect(spareCiphers.used - used).toBe(2);
    for (const c of [encryptor, decryptor, other]) c.dispose();
  });

  it("an idle AEAD's spares are dropped by the sweep, and a disposed one's are never made", async () => {
    const aead = nodeCryptoProvider.createAead("AESGCM", new Uint8Array(32).fill(1));
    const swept = spareCiphers.swept;
    aead.prepareSeal!(0);
    aead.prepareOpen!(0);
    await afterSpares();
    expect(spareHolders()).toBeGreaterThanOrEqual(1);
    // Unused for a sweep interval or two (a second each): both go.
    await eventually(() => spareHolders() === 0, 10_000, "the idle AEAD's spares swept");
    expect(spareCiphers.swept - swept).toBeGreaterThanOrEqual(2);

    const disposed = nodeCryptoProvider.createAead("AESGCM", new Uint8Array(32).fill(2));
    const made = spareCiphers.made;
    disposed.prepareSeal!(0);
    disposed.dispose();
    await afterSpares();
    expect(spareCiphers.made).toBe(made);
    expect(spareHolders()).toBe(0);
    aead.dispose();
  });
  it("32 receive directions waiting for a seal do not stop spares for good", async () => {
    // 32 channels each receive a record; this thread seals nothing in those turns.
    const senders = Array.from({ length: 32 }, (_, i) => new TransportEncryptor(new Uint8Array(32).fill(i + 1), { provider: plainProvider }));
    const receivers = Array.from({ length: 32 }, (_, i) => new TransportDecryptor(new Uint8Array(32).fill(i + 1)));
    for (let i = 0; i < 32; i++) expect(receivers[i]!.decrypt(senders[i]!.encrypt(new Uint8Array(4))).ok).toBe(true);
    expect(spareHolders()).toBeGreaterThanOrEqual(32);
    // Now a channel seals, turn after turn: its spares (and the 32 openers) should be made.
    const encryptor = new TransportEncryptor(new Uint8Array(32).fill(99));
    // Its first seal is refused a place (32 wait) but still has the waiting openers made.
    const made = spareCiphers.made;
    encryptor.encrypt(new Uint8Array(4));
    await afterSpares();
    expect(spareCiphers.made - made).toBe(32);
    const used = spareCiphers.used;
    const deadline = Date.now() + 8_000;
    try {
      // Turn after turn, for up to 8 s: the 32 openers are made at the first seal, swept unused within two sweeps, and then this channel gets its spare.
      while (spareCiphers.used === used && Date.now() < deadline) {
        encryptor.encrypt(new Uint8Array(4));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(spareCiphers.used - used).toBeGreaterThan(0);
    } finally {
      for (const c of [...senders, ...receivers, encryptor]) c.dispose();
    }
  }, 20_000);
});

// A provider whose AEADs have no prepareSeal/prepareOpen (the reference: a fresh cipher per record).
const plainProvider: CryptoProvider = {
  ...nodeCryptoProvider,
  createAead(cipher, key) {
    const aead = nodeCryptoProvider.createAead(cipher, key);
    return {
      cipher: aead.cipher,
      seal: (n, ad, p) => aead.seal(n, ad, p),
      sealInto: (n, ad, p, o, at) => aead.sealInto(n, ad, p, o, at),
      open: (n, ad, c) => aead.open(n, ad, c),
      dispose: () => aead.dispose(),
    };
  },
};

describe("spare ciphers asked for and never made", () => {
  it("opens waiting for a seal that never comes are dropped by the sweep, so they cannot hold the bound", async () => {
    const senders = Array.from({ length: 32 }, (_, i) => new TransportEncryptor(new Uint8Array(32).fill(i + 1), { provider: plainProvider }));
    const receivers = Array.from({ length: 32 }, (_, i) => new TransportDecryptor(new Uint8Array(32).fill(i + 1)));
    try {
      const made = spareCiphers.made;
      for (let i = 0; i < 32; i++) expect(receivers[i]!.decrypt(senders[i]!.encrypt(new Uint8Array(4))).ok).toBe(true);
      expect(spareHolders()).toBe(32);
      await eventually(() => spareHolders() === 0, 10_000, "the waiting opens dropped");
      expect(spareCiphers.made).toBe(made);
    } finally {
      for (const c of [...senders, ...receivers]) c.dispose();
    }
  });
});

describe("spare ciphers against a fresh cipher per record", () => {
  for (const cipher of ["AESGCM", "ChaChaPoly"] as const) {
    it(`${cipher}: every record across epochs equals the reference, and opens in order, out of order, and after forgeries`, async () => {
      const key = new Uint8Array(32).fill(3);
      const options = { cipher, rekeyInterval: 3 };
      const spare = new TransportEncryptor(key, options);
      const reference = new TransportEncryptor(key, { ...options, provider: plainProvider });
      const decryptor = new TransportDecryptor(key, options);
      const refDecryptor = new TransportDecryptor(key, { ...options, provider: plainProvider });
      const records: Uint8Array[] = [];
      const other = new TransportEncryptor(new Uint8Array(32).fill(200));
      const usedAtStart = spareCiphers.used;
      for (let i = 0; i < 20; i++) {
        const message = new TextEncoder().encode(`message ${i}`);
        const how = i % 3;
        let a: Uint8Array;
        let b: Uint8Array;
        if (how === 0) {
          a = spare.encrypt(message);
          b = reference.encrypt(message);
        } else if (how === 1) {
          const pa = new Uint8Array(9);
          const pb = new Uint8Array(9);
          a = concat([pa.subarray(1), ...spare.encryptParts([message.subarray(0, 3), message.subarray(3)], pa, 1).slice(1)]);
          b = concat([pb.subarray(1), ...reference.encryptParts([message.subarray(0, 3), message.subarray(3)], pb, 1).slice(1)]);
        } else {
          a = new Uint8Array(message.length + 24);
          b = new Uint8Array(message.length + 24);
          spare.encryptPartsInto([message], a, 0);
          reference.encryptPartsInto([message], b, 0);
        }
        expect(a).toEqual(b);
        records.push(a);
        if (i % 2 === 0) await afterSpares();
      }
      expect(spareCiphers.used - usedAtStart).toBeGreaterThanOrEqual(5);
      // Open: in order with forgeries under each next nonce first, some swapped.
      const order = [0, 1, 3, 2, 4, 5, 6, 8, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
      for (const i of order) {
        const forged = records[i]!.slice();
        forged[forged.length - 1]! ^= 1;
        expect(decryptor.decrypt(forged).ok).toBe(false);
        const r = records[i]!;
        const opened = i % 2 === 0 ? decryptor.decrypt(r) : decryptor.decryptParts([Uint8Array.of(9, ...r.subarray(0, 11)), r.subarray(11, 14), r.subarray(14)], 1);
        expect(opened.ok).toBe(true);
        expect(refDecryptor.decrypt(records[i]!).ok).toBe(true);
        // Seals elsewhere in the thread make the open's spares.
        other.encrypt(new Uint8Array(1));
        if (i % 2 === 0) await afterSpares();
      }
      // And without forgeries, so that open spares are used too (whole and in parts).
      const usedBefore = spareCiphers.used;
      const d2 = new TransportDecryptor(key, options);
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        const opened = i % 2 === 0 ? d2.decrypt(r) : d2.decryptParts([Uint8Array.of(9, ...r.subarray(0, 11)), r.subarray(11, 14), r.subarray(14)], 1);
        expect(opened.ok).toBe(true);
        other.encrypt(new Uint8Array(1));
        await afterSpares();
      }
      expect(spareCiphers.used - usedBefore).toBeGreaterThanOrEqual(8);
      d2.dispose();
      for (const c of [spare, reference, decryptor, refDecryptor, other]) c.dispose();
    });
  }

  it("a bigint nonce never takes a spare made for the same number", async () => {
    const key = new Uint8Array(32).fill(5);
    const aead = nodeCryptoProvider.createAead("AESGCM", key);
    const ref = nodeCryptoProvider.createAead("AESGCM", key);
    aead.prepareSeal!(7);
    await afterSpares();
    const used = spareCiphers.used;
    expect(aead.seal(7n, new Uint8Array(0), new Uint8Array(5))).toEqual(ref.seal(7, new Uint8Array(0), new Uint8Array(5)));
    expect(spareCiphers.used).toBe(used);
    aead.dispose();
    ref.dispose();
  });
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
