// Noise_XX against the cacophony vectors: every handshake message byte for byte, the
// handshake hash, and transport messages 3-5, for each cipher/hash and each provider.
import { describe, expect, it } from "vitest";
import { XXHandshakeState } from "../dist/noise/handshake-state.js";
import type { CipherState } from "../dist/noise/cipher-state.js";
import { hex, keyPairFromPrivate, noiseVectors, providers, toHexString, type NoiseVector } from "./helpers.js";
import type { CryptoProvider } from "../dist/crypto/provider.js";

const EMPTY = new Uint8Array(0);

function parties(vector: NoiseVector, provider: CryptoProvider) {
  const initiator = new XXHandshakeState({
    protocolName: vector.protocol_name,
    initiator: true,
    prologue: hex(vector.init_prologue),
    s: keyPairFromPrivate(provider, hex(vector.init_static)),
    e: keyPairFromPrivate(provider, hex(vector.init_ephemeral)),
    provider,
  });
  const responder = new XXHandshakeState({
    protocolName: vector.protocol_name,
    initiator: false,
    prologue: hex(vector.resp_prologue),
    s: keyPairFromPrivate(provider, hex(vector.resp_static)),
    e: keyPairFromPrivate(provider, hex(vector.resp_ephemeral)),
    provider,
  });
  return { initiator, responder };
}

const expectedProtocols = ["Noise_XX_25519_AESGCM_SHA256", "Noise_XX_25519_ChaChaPoly_SHA256", "Noise_XX_25519_AESGCM_BLAKE2b"];

describe("cacophony Noise_XX vectors", () => {
  it("contains the three XX suites", () => {
    expect(noiseVectors.map((v) => v.protocol_name).sort()).toEqual([...expectedProtocols].sort());
  });

  for (const vector of noiseVectors) {
    for (const provider of providers) {
      describe(`${vector.protocol_name} with the ${provider.name} provider`, () => {
        it("writes every handshake message byte for byte and reads back every payload", () => {
          const { initiator, responder } = parties(vector, provider);
          for (let i = 0; i < 3; i++) {
            const { payload, ciphertext } = vector.messages[i];
            const [writer, reader] = i % 2 === 0 ? [initiator, responder] : [responder, initiator];
            const written = writer.writeMessage(hex(payload));
            expect(toHexString(written), `message ${i}`).toBe(ciphertext);
            expect(toHexString(reader.readMessage(written)), `payload ${i}`).toBe(payload);
          }
          expect(initiator.isComplete && responder.isComplete).toBe(true);
          expect(toHexString(initiator.getHandshakeHash())).toBe(vector.handshake_hash);
          expect(toHexString(responder.getHandshakeHash())).toBe(vector.handshake_hash);
        });

        it("reads the vector's handshake messages (not just its own)", () => {
          const { initiator, responder } = parties(vector, provider);
          // Each side writes its own messages but reads the vector's bytes.
          initiator.writeMessage(hex(vector.messages[0].payload));
          expect(toHexString(responder.readMessage(hex(vector.messages[0].ciphertext)))).toBe(vector.messages[0].payload);
          responder.writeMessage(hex(vector.messages[1].payload));
          expect(toHexString(initiator.readMessage(hex(vector.messages[1].ciphertext)))).toBe(vector.messages[1].payload);
          initiator.writeMessage(hex(vector.messages[2].payload));
          expect(toHexString(responder.readMessage(hex(vector.messages[2].ciphertext)))).toBe(vector.messages[2].payload);
          expect(toHexString(responder.getHandshakeHash())).toBe(vector.handshake_hash);
        });

        it("writes and reads transport messages 3-5 with the Split() keys", () => {
          const { initiator, responder } = parties(vector, provider);
          for (let i = 0; i < 3; i++) {
            const [writer, reader] = i % 2 === 0 ? [initiator, responder] : [responder, initiator];
            reader.readMessage(writer.writeMessage(hex(vector.messages[i].payload)));
          }
          // c1 carries initiator -> responder, c2 responder -> initiator; nonces start at 0.
          const [initSend, initReceive] = initiator.split();
          const [respReceive, respSend] = responder.split();
          const senders: [CipherState, CipherState] = [initSend, respSend];
          const receivers: [CipherState, CipherState] = [respReceive, initReceive];
          for (let i = 3; i < vector.messages.length; i++) {
            const { payload, ciphertext } = vector.messages[i];
            const fromInitiator = i % 2 === 0;
            const sender = fromInitiator ? senders[0] : senders[1];
            const receiver = fromInitiator ? receivers[0] : receivers[1];
            expect(toHexString(sender.encryptWithAd(EMPTY, hex(payload))), `message ${i}`).toBe(ciphertext);
            expect(toHexString(receiver.decryptWithAd(EMPTY, hex(ciphertext))), `payload ${i}`).toBe(payload);
          }
        });
      });
    }
  }
});
