// Noise XX behaviour beyond the vectors: cross-provider handshakes, tampering, state
// rules, protocol names, and CipherState's nonce and REKEY rules.
import { describe, expect, it } from "vitest";
import { nobleCryptoProvider } from "../dist/crypto/noble-provider.js";
import { nodeCryptoProvider } from "../dist/crypto/node-provider.js";
import type { CryptoProvider } from "../dist/crypto/provider.js";
import { NoiseDecryptError, NoiseMessageLengthError, NoiseStateError, NonceExhaustedError, UnsupportedProtocolError } from "../dist/errors.js";
import { CipherState } from "../dist/noise/cipher-state.js";
import { XXHandshakeState } from "../dist/noise/handshake-state.js";
import { parseProtocolName } from "../dist/noise/protocol-name.js";
import { MAX_NONCE } from "../dist/noise/rekey.js";
import { flipBit, hex, keyPairFromPrivate, noiseVectors } from "./helpers.js";

const EMPTY = new Uint8Array(0);
const utf8 = (text: string) => new TextEncoder().encode(text);
const SUITES = ["Noise_XX_25519_AESGCM_SHA256", "Noise_XX_25519_ChaChaPoly_SHA256", "Noise_XX_25519_AESGCM_BLAKE2b"];

function randomParties(protocolName: string, initiatorProvider: CryptoProvider, responderProvider: CryptoProvider) {
  const prologue = utf8("prologue");
  return {
    initiator: new XXHandshakeState({ protocolName, initiator: true, prologue, s: initiatorProvider.x25519.generateKeyPair(), provider: initiatorProvider }),
    responder: new XXHandshakeState({ protocolName, initiator: false, prologue, s: responderProvider.x25519.generateKeyPair(), provider: responderProvider }),
  };
}

/** The AESGCM_SHA256 vector's parties, so tampering tests are deterministic. */
function vectorParties(provider: CryptoProvider = nodeCryptoProvider) {
  const v = noiseVectors.find((x) => x.protocol_name === "Noise_XX_25519_AESGCM_SHA256")!;
  const make = (initiator: boolean) =>
    new XXHandshakeState({
      protocolName: v.protocol_name,
      initiator,
      prologue: hex(initiator ? v.init_prologue : v.resp_prologue),
      s: keyPairFromPrivate(provider, hex(initiator ? v.init_static : v.resp_static)),
      e: keyPairFromPrivate(provider, hex(initiator ? v.init_ephemeral : v.resp_ephemeral)),
      provider,
    });
  return { initiator: make(true), responder: make(false), payloads: v.messages.slice(0, 3).map((m) => hex(m.payload)) };
}

describe("Noise XX across providers", () => {
  for (const protocolName of SUITES) {
    for (const [a, b] of [
      [nodeCryptoProvider, nobleCryptoProvider],
      [nobleCryptoProvider, nodeCryptoProvider],
    ] as const) {
      it(`${protocolName}: ${a.name} initiator ↔ ${b.name} responder`, () => {
        const { initiator, responder } = randomParties(protocolName, a, b);
        expect(responder.readMessage(initiator.writeMessage(utf8("one")))).toEqual(utf8("one"));
        expect(initiator.readMessage(responder.writeMessage(utf8("two")))).toEqual(utf8("two"));
        expect(responder.readMessage(initiator.writeMessage(utf8("three")))).toEqual(utf8("three"));
        expect(initiator.getHandshakeHash()).toEqual(responder.getHandshakeHash());
        expect(initiator.remoteStaticPublicKey).toEqual(responder.localStaticPublicKey);
        expect(responder.remoteStaticPublicKey).toEqual(initiator.localStaticPublicKey);

        const [iSend, iReceive] = initiator.split();
        const [rReceive, rSend] = responder.split();
        for (let i = 0; i < 3; i++) {
          expect(rReceive.decryptWithAd(EMPTY, iSend.encryptWithAd(EMPTY, utf8(`ping ${i}`)))).toEqual(utf8(`ping ${i}`));
          expect(iReceive.decryptWithAd(EMPTY, rSend.encryptWithAd(EMPTY, utf8(`pong ${i}`)))).toEqual(utf8(`pong ${i}`));
        }
      });
    }
  }
});

describe("Noise XX tampering", () => {
  /**
   * Runs the vector handshake with message `index` bit-flipped at `byte` and returns the
   * error the first failing reader throws. A flip in message 1 (-> e) cannot be detected
   * by its reader — it is unauthenticated cleartext — but it changes h, so the initiator's
   * read of message 2 fails.
   */
  function failureAfterFlip(index: number, byte: number, provider: CryptoProvider): unknown {
    const { initiator, responder, payloads } = vectorParties(provider);
    try {
      let message = initiator.writeMessage(payloads[0]);
      if (index === 0) message = flipBit(message, byte, byte % 8);
      responder.readMessage(message);
      message = responder.writeMessage(payloads[1]);
      if (index === 1) message = flipBit(message, byte, byte % 8);
      initiator.readMessage(message);
      message = initiator.writeMessage(payloads[2]);
      if (index === 2) message = flipBit(message, byte, byte % 8);
      responder.readMessage(message);
    } catch (error) {
      return error;
    }
    return undefined;
  }

  const lengths = (() => {
    const { initiator, responder, payloads } = vectorParties();
    const m0 = initiator.writeMessage(payloads[0]);
    responder.readMessage(m0);
    const m1 = responder.writeMessage(payloads[1]);
    initiator.readMessage(m1);
    return [m0.length, m1.length, initiator.writeMessage(payloads[2]).length];
  })();

  for (let index = 0; index < 3; index++) {
    it(`any flipped bit in message ${index + 1} fails the handshake with NoiseDecryptError (node, every byte)`, () => {
      for (let byte = 0; byte < lengths[index]; byte++) {
        const error = failureAfterFlip(index, byte, nodeCryptoProvider);
        expect(error, `message ${index + 1} byte ${byte}`).toBeInstanceOf(NoiseDecryptError);
        expect((error as NoiseDecryptError).code).toBe("NOISE_DECRYPT_FAILED");
      }
    });

    it(`a flipped bit in message ${index + 1} fails with NoiseDecryptError (noble, sampled bytes)`, () => {
      for (const byte of [0, 31, 32, lengths[index] - 17, lengths[index] - 1]) {
        expect(failureAfterFlip(index, byte, nobleCryptoProvider), `byte ${byte}`).toBeInstanceOf(NoiseDecryptError);
      }
    });
  }

  it("a different prologue fails at the first authenticated read", () => {
    const protocolName = SUITES[0];
    const initiator = new XXHandshakeState({ protocolName, initiator: true, prologue: utf8("a"), s: nodeCryptoProvider.x25519.generateKeyPair() });
    const responder = new XXHandshakeState({ protocolName, initiator: false, prologue: utf8("b"), s: nodeCryptoProvider.x25519.generateKeyPair() });
    responder.readMessage(initiator.writeMessage());
    expect(() => initiator.readMessage(responder.writeMessage())).toThrow(NoiseDecryptError);
  });

  it("truncated and oversized messages fail with NoiseMessageLengthError", () => {
    const { initiator, responder, payloads } = vectorParties();
    expect(() => vectorParties().responder.readMessage(new Uint8Array(31))).toThrow(NoiseMessageLengthError);
    responder.readMessage(initiator.writeMessage(payloads[0]));
    const message2 = responder.writeMessage(payloads[1]);
    expect(() => initiator.readMessage(message2.subarray(0, 95))).toThrow(NoiseMessageLengthError);
    expect(() => vectorParties().initiator.writeMessage(new Uint8Array(65535 - 31))).toThrow(NoiseMessageLengthError);
    expect(vectorParties().initiator.writeMessage(new Uint8Array(65535 - 32))).toHaveLength(65535);
  });
});

describe("Noise XX state rules", () => {
  it("refuses calls out of turn without failing the handshake", () => {
    const { initiator, responder, payloads } = vectorParties();
    expect(() => initiator.readMessage(new Uint8Array(32))).toThrow(NoiseStateError);
    expect(() => responder.writeMessage(payloads[0])).toThrow(NoiseStateError);
    expect(initiator.isMyTurn).toBe(true);
    expect(responder.isMyTurn).toBe(false);
    responder.readMessage(initiator.writeMessage(payloads[0]));
    expect(() => initiator.writeMessage(payloads[0])).toThrow(NoiseStateError);
  });

  it("refuses use after completion, split twice and split before completion", () => {
    const { initiator, responder, payloads } = vectorParties();
    expect(() => initiator.split()).toThrow(NoiseStateError);
    responder.readMessage(initiator.writeMessage(payloads[0]));
    initiator.readMessage(responder.writeMessage(payloads[1]));
    responder.readMessage(initiator.writeMessage(payloads[2]));
    expect(() => initiator.writeMessage()).toThrow(NoiseStateError);
    expect(() => responder.readMessage(new Uint8Array(64))).toThrow(NoiseStateError);
    initiator.split();
    expect(() => initiator.split()).toThrow(NoiseStateError);
    expect(() => initiator.splitKeys()).toThrow(NoiseStateError);
  });

  it("is dead after a failure", () => {
    const { initiator, responder, payloads } = vectorParties();
    responder.readMessage(initiator.writeMessage(payloads[0]));
    const message2 = responder.writeMessage(payloads[1]);
    expect(() => initiator.readMessage(flipBit(message2, 50))).toThrow(NoiseDecryptError);
    expect(() => initiator.readMessage(message2)).toThrow(NoiseStateError);
  });

  it("splitKeys gives the same keys as split (k1: initiator → responder)", () => {
    const a = vectorParties();
    const b = vectorParties();
    for (const { initiator, responder, payloads } of [a, b]) {
      responder.readMessage(initiator.writeMessage(payloads[0]));
      initiator.readMessage(responder.writeMessage(payloads[1]));
      responder.readMessage(initiator.writeMessage(payloads[2]));
    }
    const [k1, k2] = a.initiator.splitKeys();
    const [c1, c2] = b.initiator.split();
    const viaKey = (key: Uint8Array) => nodeCryptoProvider.createAead("AESGCM", key).seal(0, EMPTY, utf8("x"));
    expect(c1.encryptWithAd(EMPTY, utf8("x"))).toEqual(viaKey(k1));
    expect(c2.encryptWithAd(EMPTY, utf8("x"))).toEqual(viaKey(k2));
  });

  it("does not wipe the caller's key arrays", () => {
    const s = nodeCryptoProvider.x25519.generateKeyPair();
    const copy = s.privateKey.slice();
    const { responder } = vectorParties();
    const initiator = new XXHandshakeState({ protocolName: SUITES[0], initiator: true, prologue: hex("4a6f686e2047616c74"), s });
    responder.readMessage(initiator.writeMessage());
    initiator.readMessage(responder.writeMessage());
    initiator.writeMessage();
    expect(s.privateKey).toEqual(copy);
  });
});

describe("Noise protocol names", () => {
  it("parses the supported suites", () => {
    expect(parseProtocolName("Noise_XX_25519_ChaChaPoly_BLAKE2b")).toEqual({
      name: "Noise_XX_25519_ChaChaPoly_BLAKE2b",
      pattern: "XX",
      dh: "25519",
      cipher: "ChaChaPoly",
      hash: "BLAKE2b",
    });
  });

  it.each(["Noise_IK_25519_AESGCM_SHA256", "Noise_XX_448_AESGCM_SHA256", "Noise_XX_25519_AESGCM_SHA512", "Noise_XX_25519_AESGCM_BLAKE2s", "Noise_XXpsk3_25519_AESGCM_SHA256", "Noise_XX_25519_AESGCM", "garbage", ""])(
    "refuses %s with UnsupportedProtocolError",
    (name) => {
      expect(() => parseProtocolName(name)).toThrow(UnsupportedProtocolError);
      expect(() => new XXHandshakeState({ protocolName: name, initiator: true, s: nodeCryptoProvider.x25519.generateKeyPair() })).toThrow(UnsupportedProtocolError);
    },
  );
});

describe("CipherState", () => {
  const key = hex("0f".repeat(32));

  it("passes data through while it has no key", () => {
    const cs = new CipherState(nodeCryptoProvider, "AESGCM");
    expect(cs.hasKey()).toBe(false);
    expect(cs.encryptWithAd(EMPTY, utf8("clear"))).toEqual(utf8("clear"));
  });

  it("leaves n unchanged when decryption fails", () => {
    const sender = new CipherState(nodeCryptoProvider, "AESGCM");
    const receiver = new CipherState(nodeCryptoProvider, "AESGCM");
    sender.initializeKey(key);
    receiver.initializeKey(key);
    const ciphertext = sender.encryptWithAd(EMPTY, utf8("m"));
    expect(() => receiver.decryptWithAd(EMPTY, flipBit(ciphertext, 0))).toThrow(NoiseDecryptError);
    expect(receiver.nonce).toBe(0n);
    expect(receiver.decryptWithAd(EMPTY, ciphertext)).toEqual(utf8("m"));
    expect(receiver.nonce).toBe(1n);
  });

  it("refuses the reserved nonce 2^64-1", () => {
    const cs = new CipherState(nodeCryptoProvider, "ChaChaPoly");
    cs.initializeKey(key);
    cs.setNonce(MAX_NONCE - 1n);
    cs.encryptWithAd(EMPTY, utf8("last"));
    expect(() => cs.encryptWithAd(EMPTY, utf8("one too many"))).toThrow(NonceExhaustedError);
  });

  for (const provider of [nodeCryptoProvider, nobleCryptoProvider]) {
    for (const cipher of ["AESGCM", "ChaChaPoly"] as const) {
      it(`REKEY is ENCRYPT(k, 2^64-1, empty, zeros)[0..32] and keeps n (${provider.name}, ${cipher})`, () => {
        const expectedKey = provider.createAead(cipher, key).seal(MAX_NONCE, EMPTY, new Uint8Array(32)).subarray(0, 32);
        const cs = new CipherState(provider, cipher);
        cs.initializeKey(key);
        cs.encryptWithAd(EMPTY, utf8("before"));
        cs.rekey();
        expect(cs.nonce).toBe(1n);
        expect(cs.encryptWithAd(EMPTY, utf8("after"))).toEqual(provider.createAead(cipher, expectedKey).seal(1, EMPTY, utf8("after")));
      });
    }
  }
});
