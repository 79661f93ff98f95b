// Key hygiene (issue 9): a handshake's private keys (ephemerals and its copy of the static
// key) are held once and wiped after use, and the node provider keeps no copy of them.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { wipePrivateKey } from "../dist/crypto/key-checks.js";
import { lendKey, returnKey } from "../dist/crypto/key-slots.js";
import { nobleCryptoProvider } from "../dist/crypto/noble-provider.js";
import { hasImportedPrivateKey, heldAeadKey, nodeCryptoProvider } from "../dist/crypto/node-provider.js";
import type { CryptoProvider } from "../dist/crypto/provider.js";
import { InitiatorHandshake } from "../dist/handshake/initiator-handshake.js";
import { ResponderHandshake } from "../dist/handshake/responder-handshake.js";
import type { HandshakeAction } from "../dist/handshake/types.js";
import { createIdentity } from "../dist/identity/identity.js";
import { trustEveryone } from "../dist/trust/trust-policy.js";

const isZero = (bytes: Uint8Array) => bytes.every((b) => b === 0);
/** Whether two views (heldAeadKey's: a new one each call) are of the same key slot. */
const sameSlot = (a: Uint8Array, b: Uint8Array) => a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;

/** The node provider, recording every private key array a handshake generates or uses in a DH. */
function recordingProvider(): { provider: CryptoProvider; privateKeys: Uint8Array[] } {
  const privateKeys: Uint8Array[] = [];
  const base = nodeCryptoProvider;
  const provider: CryptoProvider = {
    ...base,
    x25519: {
      generateKeyPair: () => {
        const pair = base.x25519.generateKeyPair();
        privateKeys.push(pair.privateKey);
        return pair;
      },
      publicKey: (privateKey) => base.x25519.publicKey(privateKey),
      dh: (privateKey, publicKey) => {
        privateKeys.push(privateKey);
        return base.x25519.dh(privateKey, publicKey);
      },
    },
  };
  return { provider, privateKeys };
}

function sent(actions: readonly HandshakeAction[]): Uint8Array {
  const send = actions.find((a) => a.type === "send");
  if (send?.type !== "send") throw new Error("expected a send action");
  return send.message;
}

describe("the scratch a node AEAD lends its key through", () => {
  it("holds the key only for the call that makes a cipher: zero after seal and open, after a failed open, and after dispose", () => {
    const aead = nodeCryptoProvider.createAead("AESGCM", new Uint8Array(32).fill(0xab));
    const scratch = lendKey(0); // the one scratch of this thread, whatever the slot
    returnKey();
    const zero = (): boolean => scratch.every((b) => b === 0);
    const sealed = aead.seal(1, new Uint8Array(0), Uint8Array.of(1, 2, 3));
    expect(zero()).toBe(true);
    expect(aead.open(1, new Uint8Array(0), sealed)).toEqual(Uint8Array.of(1, 2, 3));
    expect(aead.open(1, new Uint8Array(0), new Uint8Array(20))).toBeNull();
    expect(zero()).toBe(true);
    aead.dispose();
    expect(zero()).toBe(true);
  });
});

describe("the node provider's AEAD keys", () => {
  it("are the AEAD's own copy, off the caller's array, zeroed when the AEAD is disposed", () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    const aead = nodeCryptoProvider.createAead("AESGCM", key);
    const held = heldAeadKey(aead)!;
    expect(held).toEqual(key);
    expect(held.buffer).not.toBe(key.buffer);
    // The caller may wipe its array at once: the AEAD still seals and opens with the key.
    key.fill(0);
    const sealed = aead.seal(7, new Uint8Array(0), new Uint8Array([1, 2, 3]));
    expect(aead.open(7, new Uint8Array(0), sealed)).toEqual(new Uint8Array([1, 2, 3]));
    aead.dispose();
    expect(isZero(held)).toBe(true);
    expect(heldAeadKey(aead)).toBeNull();
  });

  it("share off-heap buffers: a disposed AEAD's slot, zeroed, holds the next AEAD's key", () => {
    const first = nodeCryptoProvider.createAead("AESGCM", new Uint8Array(32).fill(1));
    const slot = heldAeadKey(first)!;
    // A slot of a shared buffer, not an ArrayBuffer per key (≈ 330 B of resident memory each).
    expect(slot.buffer.byteLength).toBeGreaterThan(32);
    first.dispose();
    expect(isZero(slot)).toBe(true);
    const next = nodeCryptoProvider.createAead("AESGCM", new Uint8Array(32).fill(2));
    expect(sameSlot(heldAeadKey(next)!, slot)).toBe(true);
    expect(slot).toEqual(new Uint8Array(32).fill(2));
    next.dispose();
  });

  it("an AEAD collected without dispose() has its slot zeroed and reused", () => {
    // Collection shows only in a child process with --expose-gc.
    const script = `
      import { heldAeadKey, nodeCryptoProvider } from "../dist/crypto/node-provider.js";
      let aead = nodeCryptoProvider.createAead("AESGCM", new Uint8Array(32).fill(7));
      const slot = heldAeadKey(aead);
      aead = undefined;
      for (let i = 0; i < 20 && slot[0] !== 0; i++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 10)); // finalizers run as tasks
      }
      const zeroed = slot.every((b) => b === 0);
      const next = nodeCryptoProvider.createAead("AESGCM", new Uint8Array(32).fill(9));
      const held = heldAeadKey(next);
      console.log(JSON.stringify({ zeroed, reused: held.buffer === slot.buffer && held.byteOffset === slot.byteOffset }));`;
    const out = execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
      encoding: "utf8",
      cwd: fileURLToPath(new URL(".", import.meta.url)),
      timeout: 30_000,
    });
    expect(JSON.parse(out.trim().split("\n").pop()!)).toEqual({ zeroed: true, reused: true });
  });
});

describe("the node provider holds no copy of a private key", () => {
  it("caches the imported KeyObject per array until wipePrivateKey zeroes the array and drops it", () => {
    const ours = nodeCryptoProvider.x25519.generateKeyPair();
    const theirs = nodeCryptoProvider.x25519.generateKeyPair();
    const shared = nodeCryptoProvider.x25519.dh(ours.privateKey, theirs.publicKey);
    expect(hasImportedPrivateKey(ours.privateKey)).toBe(true);
    wipePrivateKey(nodeCryptoProvider, ours.privateKey);
    expect(isZero(ours.privateKey)).toBe(true);
    expect(hasImportedPrivateKey(ours.privateKey)).toBe(false);
    // The old KeyObject is gone: the zeroed array is a different scalar now.
    expect(nodeCryptoProvider.x25519.dh(ours.privateKey, theirs.publicKey)).not.toEqual(shared);
  });

  it("still notices an array rewritten with another key (the cache compares a digest, not a kept copy)", () => {
    const a = nodeCryptoProvider.x25519.generateKeyPair();
    const b = nodeCryptoProvider.x25519.generateKeyPair();
    const peer = nodeCryptoProvider.x25519.generateKeyPair();
    const array = a.privateKey.slice();
    expect(nodeCryptoProvider.x25519.dh(array, peer.publicKey)).toEqual(nodeCryptoProvider.x25519.dh(a.privateKey, peer.publicKey));
    array.set(b.privateKey);
    expect(nodeCryptoProvider.x25519.dh(array, peer.publicKey)).toEqual(nodeCryptoProvider.x25519.dh(b.privateKey, peer.publicKey));
  });

  it("the noble provider zeroes too (it keeps nothing per key)", () => {
    const pair = nobleCryptoProvider.x25519.generateKeyPair();
    wipePrivateKey(nobleCryptoProvider, pair.privateKey);
    expect(isZero(pair.privateKey)).toBe(true);
  });
});

describe("a handshake wipes every private key it held", () => {
  it("after completing: ephemerals and static key copies are zero on both sides, and no KeyObject is kept for them", async () => {
    const { provider, privateKeys } = recordingProvider();
    const initiator = new InitiatorHandshake({ identity: createIdentity(), trustPolicy: trustEveryone(), provider });
    const responder = new ResponderHandshake({ identity: createIdentity(), trustPolicy: trustEveryone(), provider });
    const m1 = sent(await initiator.handle({ type: "initialize" }));
    const m2 = sent(await responder.handle({ type: "message", message: m1 }));
    const m3 = sent(await initiator.handle({ type: "message", message: m2 }));
    await responder.handle({ type: "message", message: m3 });
    expect([initiator.status, responder.status]).toEqual(["complete", "complete"]);
    // 2 generated statics + 2 ephemerals, and the arrays of 6 DHs (ee, es, se on each side).
    expect(privateKeys.length).toBe(10);
    for (const key of privateKeys) {
      expect(isZero(key)).toBe(true);
      expect(hasImportedPrivateKey(key)).toBe(false);
    }
  });

  it("when abandoned half way (dispose): the responder's ephemeral and static copy are wiped at once", async () => {
    const { provider, privateKeys } = recordingProvider();
    const initiator = new InitiatorHandshake({ identity: createIdentity(), trustPolicy: trustEveryone(), provider });
    const responder = new ResponderHandshake({ identity: createIdentity(), trustPolicy: trustEveryone(), provider });
    await responder.handle({ type: "message", message: sent(await initiator.handle({ type: "initialize" })) });
    const used = privateKeys.slice();
    expect(used.some((key) => !isZero(key))).toBe(true); // live keys, mid-handshake
    responder.dispose();
    initiator.dispose();
    expect([initiator.status, responder.status]).toEqual(["failed", "failed"]);
    for (const key of used) {
      expect(isZero(key)).toBe(true);
      expect(hasImportedPrivateKey(key)).toBe(false);
    }
  });
});
