/**
 * `@hopwire/secure-channel/noise`: the Noise Protocol Framework (revision 34) objects —
 * CipherState, SymmetricState and HandshakeState — for the XX pattern over Curve25519,
 * AESGCM or ChaChaPoly, and SHA256 or BLAKE2b, translated literally from the
 * specification. Secure channels use Noise_XX_25519_AESGCM_SHA256; nothing here touches
 * identities, workers or the network.
 *
 * Checking it against a cacophony vector (see `vectors/noise-xx-cacophony.json`):
 *
 * ```ts
 * import { XXHandshakeState } from "@hopwire/secure-channel/noise";
 * import { nodeCryptoProvider as provider } from "@hopwire/secure-channel";
 *
 * const keyPair = (privateKey: Uint8Array) => ({ privateKey, publicKey: provider.x25519.publicKey(privateKey) });
 * const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
 *
 * const initiator = new XXHandshakeState({
 *   protocolName: v.protocol_name, initiator: true, prologue: hex(v.init_prologue),
 *   s: keyPair(hex(v.init_static)), e: keyPair(hex(v.init_ephemeral)), provider,
 * });
 * const responder = new XXHandshakeState({
 *   protocolName: v.protocol_name, initiator: false, prologue: hex(v.resp_prologue),
 *   s: keyPair(hex(v.resp_static)), e: keyPair(hex(v.resp_ephemeral)), provider,
 * });
 * // messages 0..2: the writer's output must equal `ciphertext`, the reader must return `payload`
 * const m0 = initiator.writeMessage(hex(v.messages[0].payload));   // -> e
 * responder.readMessage(m0);
 * const m1 = responder.writeMessage(hex(v.messages[1].payload));   // <- e, ee, s, es
 * initiator.readMessage(m1);
 * const m2 = initiator.writeMessage(hex(v.messages[2].payload));   // -> s, se
 * responder.readMessage(m2);
 * // initiator.getHandshakeHash() equals v.handshake_hash; then transport messages 3..5:
 * const [c1, c2] = initiator.split();                              // c1: initiator -> responder
 * c2.decryptWithAd(new Uint8Array(0), hex(v.messages[3].ciphertext)); // responder wrote message 3
 * ```
 */
export { CipherState } from "./cipher-state.js";
export { hkdf } from "./hkdf.js";
export { resolveNoiseHash, type NoiseHash } from "./hash.js";
export { MAX_NOISE_MESSAGE_LENGTH, XXHandshakeState, type HandshakeStateOptions } from "./handshake-state.js";
export { parseProtocolName, type NoiseHashName, type NoiseProtocol } from "./protocol-name.js";
export { MAX_NONCE, rekey } from "./rekey.js";
export { SymmetricState } from "./symmetric-state.js";
export type { Aead, AeadCipher, CryptoProvider, KeyPair } from "../crypto/provider.js";
export { NoiseDecryptError, NoiseMessageLengthError, NoiseStateError, NonceExhaustedError, UnsupportedProtocolError } from "../errors.js";
