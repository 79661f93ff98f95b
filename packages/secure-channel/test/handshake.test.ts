// The secure-channel handshake state machines: events in, actions out, identities
// verified and trusted, each failure reported by its own error.
import { describe, expect, it } from "vitest";
import { TransportDecryptor, TransportEncryptor } from "../dist/channel/transport-cipher.js";
import type { CryptoProvider } from "../dist/crypto/provider.js";
import { nobleCryptoProvider } from "../dist/crypto/noble-provider.js";
import { nodeCryptoProvider } from "../dist/crypto/node-provider.js";
import {
  HandshakeStateError,
  InvalidIdentitySignatureError,
  MalformedHandshakePayloadError,
  NoiseDecryptError,
  TrustPolicyError,
  UntrustedIdentityError,
  WeakPublicKeyError,
} from "../dist/errors.js";
import { HANDSHAKE_PROLOGUE, HANDSHAKE_PROTOCOL_NAME } from "../dist/handshake/constants.js";
import {
  createIdentityPayload,
  decodeIdentityPayload,
  encodeIdentityPayload,
  IDENTITY_PAYLOAD_LENGTH,
  identitySignedData,
} from "../dist/handshake/identity-payload.js";
import { InitiatorHandshake } from "../dist/handshake/initiator-handshake.js";
import { ResponderHandshake } from "../dist/handshake/responder-handshake.js";
import type { HandshakeAction, HandshakeResult } from "../dist/handshake/types.js";
import { createIdentity, type Identity } from "../dist/identity/identity.js";
import { XXHandshakeState } from "../dist/noise/handshake-state.js";
import { trustCustom, trustEveryone, trustIdentifier, trustIdentifiers, type TrustPolicy } from "../dist/trust/trust-policy.js";
import { flipBit } from "./helpers.js";

const utf8 = (text: string) => new TextEncoder().encode(text);

function sent(actions: readonly HandshakeAction[]): Uint8Array {
  const send = actions.find((a) => a.type === "send");
  if (send?.type !== "send") throw new Error("expected a send action");
  return send.message;
}

function completed(actions: readonly HandshakeAction[]): HandshakeResult {
  const done = actions.find((a) => a.type === "complete");
  if (done?.type !== "complete") throw new Error("expected a complete action");
  return done.result;
}

interface Setup {
  initiatorIdentity?: Identity;
  responderIdentity?: Identity;
  initiatorTrust?: TrustPolicy;
  responderTrust?: TrustPolicy;
  initiatorProvider?: CryptoProvider;
  responderProvider?: CryptoProvider;
}

function machines(setup: Setup = {}) {
  const initiatorIdentity = setup.initiatorIdentity ?? createIdentity();
  const responderIdentity = setup.responderIdentity ?? createIdentity();
  const initiator = new InitiatorHandshake({
    identity: initiatorIdentity,
    trustPolicy: setup.initiatorTrust ?? trustEveryone(),
    provider: setup.initiatorProvider,
  });
  const responder = new ResponderHandshake({
    identity: responderIdentity,
    trustPolicy: setup.responderTrust ?? trustEveryone(),
    provider: setup.responderProvider,
  });
  return { initiator, responder, initiatorIdentity, responderIdentity };
}

async function run(setup: Setup = {}) {
  const m = machines(setup);
  const message1 = sent(await m.initiator.handle({ type: "initialize" }));
  expect(await m.responder.handle({ type: "initialize" })).toEqual([]);
  const message2 = sent(await m.responder.handle({ type: "message", message: message1 }));
  const initiatorActions = await m.initiator.handle({ type: "message", message: message2 });
  const responderActions = await m.responder.handle({ type: "message", message: sent(initiatorActions) });
  return { ...m, initiatorActions, responderActions, initiatorResult: completed(initiatorActions), responderResult: completed(responderActions) };
}

describe("secure-channel handshake", () => {
  for (const [a, b] of [
    [nodeCryptoProvider, nodeCryptoProvider],
    [nodeCryptoProvider, nobleCryptoProvider],
    [nobleCryptoProvider, nodeCryptoProvider],
  ] as const) {
    it(`establishes mutually authenticated keys (${a.name} initiator, ${b.name} responder)`, async () => {
      const r = await run({ initiatorProvider: a, responderProvider: b });
      expect(r.initiatorActions.map((x) => x.type)).toEqual(["send", "complete"]);
      expect(r.responderActions.map((x) => x.type)).toEqual(["complete"]);
      expect(r.initiatorResult.peerIdentifier).toBe(r.responderIdentity.identifier);
      expect(r.responderResult.peerIdentifier).toBe(r.initiatorIdentity.identifier);
      expect(r.initiatorResult.peerPublicKey).toEqual(r.responderIdentity.publicKey);
      expect(r.responderResult.peerPublicKey).toEqual(r.initiatorIdentity.publicKey);
      expect(r.initiatorResult.handshakeHash).toEqual(r.responderResult.handshakeHash);
      expect(r.initiatorResult.handshakeHash).toHaveLength(32);
      expect(r.initiatorResult.sendKey).toEqual(r.responderResult.receiveKey);
      expect(r.initiatorResult.receiveKey).toEqual(r.responderResult.sendKey);
      expect(r.initiatorResult.sendKey).not.toEqual(r.initiatorResult.receiveKey);
      expect(r.initiator.status).toBe("complete");
      expect(r.responder.status).toBe("complete");
      expect(r.initiator.result).toBe(r.initiatorResult);
    });
  }

  it("yields keys that carry transport messages both ways", async () => {
    const { initiatorResult: i, responderResult: r } = await run();
    const toResponder = new TransportEncryptor(i.sendKey);
    const atResponder = new TransportDecryptor(r.receiveKey);
    const toInitiator = new TransportEncryptor(r.sendKey);
    const atInitiator = new TransportDecryptor(i.receiveKey);
    expect(atResponder.decryptOrThrow(toResponder.encrypt(utf8("hello")))).toEqual(utf8("hello"));
    expect(atInitiator.decryptOrThrow(toInitiator.encrypt(utf8("world")))).toEqual(utf8("world"));
  });

  it("uses Noise_XX_25519_AESGCM_SHA256 with the hopwire/5 prologue, and message 1 is a bare ephemeral key", async () => {
    expect(HANDSHAKE_PROTOCOL_NAME).toBe("Noise_XX_25519_AESGCM_SHA256");
    expect(new TextDecoder().decode(HANDSHAKE_PROLOGUE)).toBe("hopwire/5");
    const { initiator } = machines();
    expect(sent(await initiator.handle({ type: "initialize" }))).toHaveLength(32);
  });

  it("sends identity payloads of the documented size", async () => {
    const m = machines();
    const message1 = sent(await m.initiator.handle({ type: "initialize" }));
    const message2 = sent(await m.responder.handle({ type: "message", message: message1 }));
    // e (32) + encrypted s (48) + encrypted payload (97 + 16)
    expect(message2).toHaveLength(32 + 48 + IDENTITY_PAYLOAD_LENGTH + 16);
    const message3 = sent(await m.initiator.handle({ type: "message", message: message2 }));
    expect(message3).toHaveLength(48 + IDENTITY_PAYLOAD_LENGTH + 16);
  });

  describe("trust", () => {
    it("initiator refuses an untrusted responder before revealing itself", async () => {
      const m = machines({ initiatorTrust: trustIdentifier(createIdentity().identifier) });
      const message1 = sent(await m.initiator.handle({ type: "initialize" }));
      const message2 = sent(await m.responder.handle({ type: "message", message: message1 }));
      const error = await m.initiator.handle({ type: "message", message: message2 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UntrustedIdentityError);
      expect((error as UntrustedIdentityError).code).toBe("HANDSHAKE_UNTRUSTED_IDENTITY");
      expect((error as UntrustedIdentityError).identifier).toBe(m.responderIdentity.identifier);
      expect(m.initiator.status).toBe("failed");
    });

    it("the refusal says what the policy expected, where it knows: the identifiers, a few at most (they are public)", async () => {
      const others = Array.from({ length: 5 }, () => createIdentity().identifier);
      const initiatorIdentity = createIdentity();
      const untrusted = async (policy: TrustPolicy) => {
        const error = await run({ initiatorIdentity, responderTrust: policy }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UntrustedIdentityError);
        return (error as Error).message;
      };
      const peerPart = `peer ${initiatorIdentity.identifier} is not trusted by the trust policy`;
      expect(await untrusted(trustIdentifier(others[0]!))).toBe(`${peerPart}: expected ${others[0]}`);
      expect(await untrusted(trustIdentifiers(others.slice(0, 1)))).toBe(`${peerPart}: expected ${others[0]}`);
      expect(await untrusted(trustIdentifiers(others.slice(0, 3)))).toBe(`${peerPart}: expected one of: ${others.slice(0, 3).join(", ")}`);
      expect(await untrusted(trustIdentifiers(others))).toBe(`${peerPart}: expected one of: ${others.slice(0, 3).join(", ")} and 2 more`);
      // A policy of the application's own: nothing is knowable about what it wanted.
      expect(await untrusted(() => false)).toBe(peerPart);
      expect(await untrusted(trustCustom(() => false))).toBe(peerPart);
    });

    it("responder refuses an untrusted initiator", async () => {
      const error = await run({ responderTrust: async () => false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UntrustedIdentityError);
    });

    it("passes the authenticated identity to the policy", async () => {
      const seen: string[] = [];
      const r = await run({
        initiatorTrust: (peer) => (seen.push(`i:${peer.identifier}`), true),
        responderTrust: async (peer) => (seen.push(`r:${peer.identifier}`), true),
      });
      expect(seen).toEqual([`i:${r.responderIdentity.identifier}`, `r:${r.initiatorIdentity.identifier}`]);
    });

    it("reports a throwing policy as TrustPolicyError with the cause", async () => {
      const boom = new Error("policy store offline");
      const error = await run({ responderTrust: () => { throw boom; } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TrustPolicyError);
      expect((error as TrustPolicyError).cause).toBe(boom);
    });

    it("refuses truthy non-boolean answers", async () => {
      const error = await run({ responderTrust: () => "yes" as unknown as boolean }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UntrustedIdentityError);
    });
  });

  describe("peer identity checks", () => {
    /** A responder built from the Noise layer, sending whatever payload a test wants. */
    async function initiatorFacing(payloadFor: (staticPublicKey: Uint8Array) => Uint8Array) {
      const { initiator } = machines();
      const s = nodeCryptoProvider.x25519.generateKeyPair();
      const rogue = new XXHandshakeState({ protocolName: HANDSHAKE_PROTOCOL_NAME, initiator: false, prologue: HANDSHAKE_PROLOGUE, s });
      rogue.readMessage(sent(await initiator.handle({ type: "initialize" })));
      const message2 = rogue.writeMessage(payloadFor(s.publicKey));
      return initiator.handle({ type: "message", message: message2 }).catch((e: unknown) => e);
    }

    it("refuses a signature over a different Noise static key", async () => {
      const identity = createIdentity();
      const other = nodeCryptoProvider.x25519.generateKeyPair().publicKey;
      const error = await initiatorFacing(() => createIdentityPayload(identity, other));
      expect(error).toBeInstanceOf(InvalidIdentitySignatureError);
      expect((error as InvalidIdentitySignatureError).code).toBe("HANDSHAKE_BAD_SIGNATURE");
    });

    it("refuses a payload whose public key is swapped for another identity's", async () => {
      const identity = createIdentity();
      const error = await initiatorFacing((key) => {
        const payload = decodeIdentityPayload(createIdentityPayload(identity, key));
        return encodeIdentityPayload({ ...payload, identityPublicKey: createIdentity().publicKey });
      });
      expect(error).toBeInstanceOf(InvalidIdentitySignatureError);
    });

    it("refuses a signature made without the domain-separation prefix", async () => {
      const identity = createIdentity();
      const error = await initiatorFacing((key) =>
        encodeIdentityPayload({ version: 1, identityPublicKey: identity.publicKey, signature: identity.sign(key) }),
      );
      expect(error).toBeInstanceOf(InvalidIdentitySignatureError);
    });

    it.each([
      ["empty", () => new Uint8Array(0)],
      ["wrong version", (key: Uint8Array) => Uint8Array.from([2, ...createIdentityPayload(createIdentity(), key).subarray(1)])],
      ["truncated", (key: Uint8Array) => createIdentityPayload(createIdentity(), key).subarray(0, 96)],
      ["trailing bytes", (key: Uint8Array) => Uint8Array.from([...createIdentityPayload(createIdentity(), key), 0])],
    ])("refuses a %s payload as malformed", async (_name, payload) => {
      const error = await initiatorFacing(payload);
      expect(error).toBeInstanceOf(MalformedHandshakePayloadError);
      expect((error as MalformedHandshakePayloadError).code).toBe("HANDSHAKE_MALFORMED_PAYLOAD");
    });

    it("the responder refuses a non-empty message 1 payload", async () => {
      const { responder } = machines();
      const rogue = new XXHandshakeState({
        protocolName: HANDSHAKE_PROTOCOL_NAME,
        initiator: true,
        prologue: HANDSHAKE_PROLOGUE,
        s: nodeCryptoProvider.x25519.generateKeyPair(),
      });
      const error = await responder.handle({ type: "message", message: rogue.writeMessage(utf8("smuggled")) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MalformedHandshakePayloadError);
      expect(responder.status).toBe("failed");
    });

    it("the payload signs domain || static key", () => {
      const identity = createIdentity();
      const key = nodeCryptoProvider.x25519.generateKeyPair().publicKey;
      const payload = decodeIdentityPayload(createIdentityPayload(identity, key));
      expect(new TextDecoder().decode(identitySignedData(key).subarray(0, 25))).toBe("hopwire-secure-channel-v1");
      expect(nodeCryptoProvider.ed25519.verify(identity.publicKey, identitySignedData(key), payload.signature)).toBe(true);
    });
  });

  describe("tampering and state", () => {
    it("a flipped bit in message 2 or 3 fails with NoiseDecryptError", async () => {
      for (const target of [2, 3] as const) {
        const m = machines();
        const message1 = sent(await m.initiator.handle({ type: "initialize" }));
        let message2 = sent(await m.responder.handle({ type: "message", message: message1 }));
        if (target === 2) message2 = flipBit(message2, 100);
        const step2 = m.initiator.handle({ type: "message", message: message2 });
        if (target === 2) {
          await expect(step2).rejects.toBeInstanceOf(NoiseDecryptError);
          continue;
        }
        const message3 = flipBit(sent(await step2), 60);
        await expect(m.responder.handle({ type: "message", message: message3 })).rejects.toBeInstanceOf(NoiseDecryptError);
      }
    });

    it("a low-order ephemeral key fails with WeakPublicKeyError", async () => {
      const { initiator } = machines();
      await initiator.handle({ type: "initialize" });
      await expect(initiator.handle({ type: "message", message: new Uint8Array(200) })).rejects.toBeInstanceOf(WeakPublicKeyError);
      expect(initiator.status).toBe("failed");
    });

    it("refuses events in the wrong state without failing the handshake", async () => {
      const { initiator, responder } = machines();
      await expect(initiator.handle({ type: "message", message: new Uint8Array(32) })).rejects.toBeInstanceOf(HandshakeStateError);
      expect(initiator.status).toBe("idle");
      const message1 = sent(await initiator.handle({ type: "initialize" }));
      await expect(initiator.handle({ type: "initialize" })).rejects.toBeInstanceOf(HandshakeStateError);
      await responder.handle({ type: "message", message: message1 });
      await expect(responder.handle({ type: "initialize" })).rejects.toBeInstanceOf(HandshakeStateError);
      expect(responder.status).toBe("awaiting-message-3");
    });

    it("refuses events after completion and after failure", async () => {
      const r = await run();
      await expect(r.initiator.handle({ type: "message", message: new Uint8Array(64) })).rejects.toBeInstanceOf(HandshakeStateError);
      await expect(r.responder.handle({ type: "message", message: new Uint8Array(64) })).rejects.toBeInstanceOf(HandshakeStateError);

      const { initiator } = machines();
      await initiator.handle({ type: "initialize" });
      const garbage = crypto.getRandomValues(new Uint8Array(200));
      await expect(initiator.handle({ type: "message", message: garbage })).rejects.toBeInstanceOf(NoiseDecryptError);
      expect(initiator.status).toBe("failed");
      await expect(initiator.handle({ type: "message", message: new Uint8Array(200) })).rejects.toBeInstanceOf(HandshakeStateError);
    });

    it("takes one event at a time while a trust decision is pending", async () => {
      let release!: (value: boolean) => void;
      const m = machines({ initiatorTrust: () => new Promise<boolean>((resolve) => (release = resolve)) });
      const message1 = sent(await m.initiator.handle({ type: "initialize" }));
      const message2 = sent(await m.responder.handle({ type: "message", message: message1 }));
      const pending = m.initiator.handle({ type: "message", message: message2 });
      await new Promise((resolve) => setImmediate(resolve));
      await expect(m.initiator.handle({ type: "message", message: message2 })).rejects.toBeInstanceOf(HandshakeStateError);
      release(true);
      expect((await pending).map((a) => a.type)).toEqual(["send", "complete"]);
    });
  });
});
