// A channel direction's next record has a known nonce, so node:crypto's AEAD makes that
// record's cipher after the turn that asked (spare-ciphers.ts), off the record's path. These
// tests check that round trips use them, that a record sealed or opened with a spare is the
// record a fresh cipher makes, that spares of idle AEADs are dropped, and that dispose
// leaves none.
import { afterEach, describe, expect, it } from "vitest";
import type { Node, Worker } from "@hopwire/runtime";
import { nodeCryptoProvider } from "../dist/crypto/node-provider.js";
import { spareCiphers, spareHolders } from "../dist/crypto/spare-ciphers.js";
import { TransportDecryptor, TransportEncryptor } from "../dist/channel/transport-cipher.js";
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
});
