// What a handshake remembers between handshakes to save work (docs/secure-channels.md,
// "Where a handshake's time goes"): imported KeyObjects, the identity payload an identity
// sends, and the peer bindings that verified. Each must give exactly the answers the
// uncached path gives.
import { describe, expect, it } from "vitest";
import { copyPrivateKey, wipePrivateKey } from "../dist/crypto/key-checks.js";
import { hasCachedPublicKey, hasImportedPrivateKey, nodeCryptoProvider as node, privateKeyImports } from "../dist/crypto/node-provider.js";
import { WeakPublicKeyError } from "../dist/errors.js";
import { createIdentityPayload, decodeIdentityPayload, identitySignedData, verifyIdentityPayload } from "../dist/handshake/identity-payload.js";
import { InitiatorHandshake } from "../dist/handshake/initiator-handshake.js";
import { ResponderHandshake } from "../dist/handshake/responder-handshake.js";
import type { HandshakeAction } from "../dist/handshake/types.js";
import { createIdentity } from "../dist/identity/identity.js";
import { noiseStaticKeyFor } from "../dist/secure-channel/noise-static-key.js";
import { trustEveryone } from "../dist/trust/trust-policy.js";
import { flipBit, providers } from "./helpers.js";

function sent(actions: readonly HandshakeAction[]): Uint8Array {
  const send = actions.find((a) => a.type === "send");
  if (send?.type !== "send") throw new Error("expected a send action");
  return send.message;
}

describe("the node provider's KeyObject caches", () => {
  it("a generated key pair comes with its KeyObject, and a copy shares it without importing", () => {
    const pair = node.x25519.generateKeyPair();
    const peer = node.x25519.generateKeyPair();
    expect(hasImportedPrivateKey(pair.privateKey)).toBe(true);
    const before = privateKeyImports();
    const copy = copyPrivateKey(node, pair.privateKey);
    expect(hasImportedPrivateKey(copy)).toBe(true);
    expect(node.x25519.dh(copy, peer.publicKey)).toEqual(node.x25519.dh(pair.privateKey, peer.publicKey));
    expect(privateKeyImports()).toBe(before);
    wipePrivateKey(node, copy); // the copy's entry goes; the original keeps its key
    expect(hasImportedPrivateKey(copy)).toBe(false);
    expect(hasImportedPrivateKey(pair.privateKey)).toBe(true);
    expect(node.x25519.dh(pair.privateKey, peer.publicKey)).toEqual(node.x25519.dh(peer.privateKey, pair.publicKey));
  });

  it("a copy of an array rewritten since its import does not inherit the old key", () => {
    const a = node.x25519.generateKeyPair();
    const b = node.x25519.generateKeyPair();
    const peer = node.x25519.generateKeyPair();
    const array = a.privateKey.slice();
    node.x25519.dh(array, peer.publicKey); // imported and cached for `array`
    array.set(b.privateKey);
    const copy = copyPrivateKey(node, array);
    expect(node.x25519.dh(copy, peer.publicKey)).toEqual(node.x25519.dh(peer.privateKey, b.publicKey));
  });

  it("a cached public key is still checked on every use: a low-order point fails each time", () => {
    const ours = node.x25519.generateKeyPair();
    const lowOrder = new Uint8Array(32); // the point 0
    expect(() => node.x25519.dh(ours.privateKey, lowOrder)).toThrow(WeakPublicKeyError);
    expect(hasCachedPublicKey("X25519", lowOrder)).toBe(true);
    expect(() => node.x25519.dh(ours.privateKey, lowOrder)).toThrow(WeakPublicKeyError);
  });

  it("a peer's static key is imported once and reused", () => {
    const ours = node.x25519.generateKeyPair();
    const peer = node.x25519.generateKeyPair();
    const first = node.x25519.dh(ours.privateKey, peer.publicKey);
    expect(hasCachedPublicKey("X25519", peer.publicKey)).toBe(true);
    expect(node.x25519.dh(ours.privateKey, peer.publicKey)).toEqual(first);
  });

  it("a handshake between identities with their long-term static keys imports no private key", async () => {
    const alice = createIdentity();
    const bob = createIdentity();
    const run = async () => {
      const initiator = new InitiatorHandshake({ identity: alice, trustPolicy: trustEveryone(), noiseStaticKeyPair: noiseStaticKeyFor(alice, node) });
      const responder = new ResponderHandshake({ identity: bob, trustPolicy: trustEveryone(), noiseStaticKeyPair: noiseStaticKeyFor(bob, node) });
      const m2 = sent(await responder.handle({ type: "message", message: sent(await initiator.handle({ type: "initialize" })) }));
      await responder.handle({ type: "message", message: sent(await initiator.handle({ type: "message", message: m2 })) });
      expect([initiator.status, responder.status]).toEqual(["complete", "complete"]);
    };
    await run(); // the identities' Noise static keys are made on first use
    const before = privateKeyImports();
    await run();
    expect(privateKeyImports()).toBe(before);
  });
});

describe.each(providers.map((p) => [p.name, p] as const))("identity payloads and bindings (%s provider)", (_name, provider) => {
  it("an identity's payload is signed once per static key: the same bytes again, a new signature for another key", () => {
    const identity = createIdentity(provider);
    const key1 = provider.x25519.generateKeyPair().publicKey;
    const key2 = provider.x25519.generateKeyPair().publicKey;
    const first = createIdentityPayload(identity, key1);
    first.fill(0); // a caller scribbling on its copy does not reach the next handshake's
    const again = createIdentityPayload(identity, key1);
    expect(again).toEqual(createIdentityPayload(identity, key1));
    expect(verifyIdentityPayload(decodeIdentityPayload(again), key1, provider)).toBe(true);
    const other = decodeIdentityPayload(createIdentityPayload(identity, key2));
    expect(verifyIdentityPayload(other, key2, provider)).toBe(true);
    expect(provider.ed25519.verify(identity.publicKey, identitySignedData(key1), other.signature)).toBe(false);
  });

  it("a binding that verified is accepted again only byte for byte", () => {
    const identity = createIdentity(provider);
    const key = provider.x25519.generateKeyPair().publicKey;
    const payload = decodeIdentityPayload(createIdentityPayload(identity, key));
    expect(verifyIdentityPayload(payload, key, provider)).toBe(true);
    expect(verifyIdentityPayload(payload, key, provider)).toBe(true);
    // The same signature for another static key, a flipped signature bit, another identity key:
    expect(verifyIdentityPayload(payload, provider.x25519.generateKeyPair().publicKey, provider)).toBe(false);
    for (const index of [0, 31, 32, 63]) {
      expect(verifyIdentityPayload({ ...payload, signature: flipBit(payload.signature, index) }, key, provider)).toBe(false);
    }
    expect(verifyIdentityPayload({ ...payload, identityPublicKey: createIdentity(provider).publicKey }, key, provider)).toBe(false);
    expect(verifyIdentityPayload({ ...payload, identityPublicKey: flipBit(payload.identityPublicKey, 5) }, key, provider)).toBe(false);
  });

  it("a binding that failed is not remembered: it fails every time", () => {
    const identity = createIdentity(provider);
    const key = provider.x25519.generateKeyPair().publicKey;
    const payload = decodeIdentityPayload(createIdentityPayload(identity, key));
    const forged = { ...payload, signature: flipBit(payload.signature, 40) };
    expect(verifyIdentityPayload(forged, key, provider)).toBe(false);
    expect(verifyIdentityPayload(forged, key, provider)).toBe(false);
  });
});

describe("identities and the node provider's cache", () => {
  it("a new identity signs without importing its key (it shares the KeyObject made with its key pair)", () => {
    const before = privateKeyImports();
    const identity = createIdentity(node);
    const data = new Uint8Array([1, 2, 3]);
    expect(node.ed25519.verify(identity.publicKey, data, identity.sign(data))).toBe(true);
    expect(privateKeyImports()).toBe(before);
  });
});
