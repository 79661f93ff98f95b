// The package's two entry points export what the documentation promises.
import { describe, expect, it } from "vitest";
import * as api from "../dist/index.js";
import * as noise from "../dist/noise/index.js";

describe("public API", () => {
  it("@hopwire/secure-channel exports identities, trust, providers, handshakes, transport and errors", () => {
    for (const name of [
      "createIdentity",
      "identityFromSecretKey",
      "Identity",
      "identifierFromPublicKey",
      "parseIdentifier",
      "isIdentifier",
      "verifyIdentitySignature",
      "exportIdentity",
      "importIdentity",
      "saveIdentity",
      "loadIdentity",
      "MAX_IDENTITY_FILE_BYTES",
      "trustEveryone",
      "trustIdentifier",
      "trustIdentifiers",
      "trustCustom",
      "nodeCryptoProvider",
      "nobleCryptoProvider",
      "getCryptoProvider",
      "defaultCryptoProvider",
      "InitiatorHandshake",
      "ResponderHandshake",
      "HANDSHAKE_PROTOCOL_NAME",
      "HANDSHAKE_PROLOGUE",
      "createIdentityPayload",
      "decodeIdentityPayload",
      "TransportEncryptor",
      "TransportDecryptor",
      "ReplayWindow",
      "NoiseDecryptError",
      "HandshakeStateError",
      "InvalidIdentitySignatureError",
      "UntrustedIdentityError",
      "IdentityFileError",
      "SECURE_CHANNEL_REFUSAL_CODES",
      "MalformedHandshakePayloadError",
      "toErrorData",
      "errorFromData",
      "SecureChannelClosedError",
      "SecureChannelPeerGoneError",
      "SecureChannelClosedByPeerError",
      "SecureChannelTransportError",
      "SecureChannelMessageTooLargeError",
      "MAX_CHANNEL_MESSAGE_LENGTH",
      "DEFAULT_PEER_TIMEOUT",
      "DEFAULT_KEEPALIVE_INTERVAL",
      "DEFAULT_HANDSHAKE_LIMITS",
      "CLOSED_CHANNEL_MEMORY",
    ]) {
      expect(api, name).toHaveProperty(name);
    }
  });

  it("@hopwire/secure-channel/noise exports the Noise objects", () => {
    for (const name of ["XXHandshakeState", "SymmetricState", "CipherState", "parseProtocolName", "hkdf", "rekey", "MAX_NONCE", "NoiseDecryptError", "NoiseStateError", "UnsupportedProtocolError"]) {
      expect(noise, name).toHaveProperty(name);
    }
  });

  it("runs the README-style flow end to end through the public names only", async () => {
    const alice = api.createIdentity();
    const bob = api.createIdentity();
    const initiator = new api.InitiatorHandshake({ identity: alice, trustPolicy: api.trustIdentifier(bob.identifier) });
    const responder = new api.ResponderHandshake({ identity: bob, trustPolicy: api.trustIdentifier(alice.identifier) });
    const deliver = async (actions: readonly api.HandshakeAction[], to: api.InitiatorHandshake | api.ResponderHandshake) => {
      let out: readonly api.HandshakeAction[] = [];
      for (const action of actions) if (action.type === "send") out = await to.handle({ type: "message", message: action.message });
      return out;
    };
    const afterMessage1 = await deliver(await initiator.handle({ type: "initialize" }), responder);
    const afterMessage2 = await deliver(afterMessage1, initiator);
    await deliver(afterMessage2, responder);
    const a = initiator.result!;
    const b = responder.result!;
    const sealed = new api.TransportEncryptor(a.sendKey).encrypt(new TextEncoder().encode("hi bob"));
    const opened = new api.TransportDecryptor(b.receiveKey).decrypt(sealed);
    expect(opened.ok && new TextDecoder().decode(opened.plaintext)).toBe("hi bob");
  });
});
