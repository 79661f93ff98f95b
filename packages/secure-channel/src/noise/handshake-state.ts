import { concatBytes } from "../bytes.js";
import { defaultCryptoProvider } from "../crypto/index.js";
import { assertKey32, copyPrivateKey, wipePrivateKey } from "../crypto/key-checks.js";
import type { CryptoProvider, KeyPair } from "../crypto/provider.js";
import { KEY_LENGTH, TAG_LENGTH } from "../crypto/provider.js";
import { NoiseMessageLengthError, NoiseStateError } from "../errors.js";
import type { CipherState } from "./cipher-state.js";
import { checkNoNullOptions } from "../null-options.js";
import { parseProtocolName, type NoiseProtocol } from "./protocol-name.js";
import { SymmetricState } from "./symmetric-state.js";

/** DHLEN for Curve25519. */
const DH_LENGTH = KEY_LENGTH;
/** A static key after EncryptAndHash with a key set: DHLEN + 16. */
const ENCRYPTED_KEY_LENGTH = DH_LENGTH + TAG_LENGTH;
/** Noise messages are limited to 65535 bytes (rev. 34, §3). */
export const MAX_NOISE_MESSAGE_LENGTH = 65535;

/** What a Noise HandshakeState starts from (rev. 34, §5.3 Initialize). */
export interface HandshakeStateOptions {
  /** e.g. "Noise_XX_25519_AESGCM_SHA256"; see parseProtocolName. */
  readonly protocolName: string;
  readonly initiator: boolean;
  /** Mixed into h before the first message; both sides must agree. Default empty. */
  readonly prologue?: Uint8Array;
  /** The local static X25519 key pair. */
  readonly s: KeyPair;
  /** An ephemeral key pair to use instead of a fresh one: for test vectors only. */
  readonly e?: KeyPair;
  /** Default: the node:crypto provider. */
  readonly provider?: CryptoProvider;
}

type Step = "message-a" | "message-b" | "message-c" | "complete" | "split" | "failed";

/**
 * HandshakeState (Noise rev. 34, §5.3) for the one pattern Hopwire needs:
 *
 *   XX:
 *     -> e
 *     <- e, ee, s, es
 *     -> s, se
 *
 * writeMessage/readMessage dispatch to one method per message, each carrying its token
 * pattern. Any error fails the handshake for good: later calls throw NoiseStateError.
 */
export class XXHandshakeState {
  readonly protocol: NoiseProtocol;
  readonly initiator: boolean;
  readonly #provider: CryptoProvider;
  readonly #ss: SymmetricState;
  readonly #s: KeyPair;
  #e: KeyPair | null = null;
  #injectedE: KeyPair | null;
  #rs: Uint8Array | null = null;
  #re: Uint8Array | null = null;
  #step: Step = "message-a";

  /** Initialize(handshake_pattern, initiator, prologue, s, e, rs, re); XX has no pre-messages. */
  constructor(options: HandshakeStateOptions) {
    checkNoNullOptions(options, "XXHandshakeState options");
    this.protocol = parseProtocolName(options.protocolName);
    this.initiator = options.initiator;
    this.#provider = options.provider ?? defaultCryptoProvider;
    this.#s = copyKeyPair(this.#provider, options.s, "static");
    this.#injectedE = options.e === undefined ? null : copyKeyPair(this.#provider, options.e, "ephemeral");
    this.#ss = new SymmetricState(this.protocol, this.#provider);
    this.#ss.mixHash(options.prologue ?? new Uint8Array(0));
  }

  /** True once the last message has been written or read. */
  get isComplete(): boolean {
    return this.#step === "complete" || this.#step === "split";
  }

  /** True when the next call must be writeMessage (false: readMessage, or finished). */
  get isMyTurn(): boolean {
    return (
      (this.#step === "message-a" && this.initiator) ||
      (this.#step === "message-b" && !this.initiator) ||
      (this.#step === "message-c" && this.initiator)
    );
  }

  /** The peer's static public key once its `s` token has been read, else null. */
  get remoteStaticPublicKey(): Uint8Array | null {
    return this.#rs?.slice() ?? null;
  }

  /** The peer's ephemeral public key once its `e` token has been read, else null. */
  get remoteEphemeralPublicKey(): Uint8Array | null {
    return this.#re?.slice() ?? null;
  }

  /** The local static public key. */
  get localStaticPublicKey(): Uint8Array {
    return this.#s.publicKey.slice();
  }

  /** h: the channel binding value once the handshake is complete. */
  getHandshakeHash(): Uint8Array {
    return this.#ss.getHandshakeHash();
  }

  /** WriteMessage(payload, message_buffer) for whichever message is ours to write next. */
  writeMessage(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
    this.#assertTurn(true);
    return this.#guard(() => {
      switch (this.#step) {
        case "message-a":
          return this.#writeMessageA(payload);
        case "message-b":
          return this.#writeMessageB(payload);
        default:
          return this.#writeMessageC(payload);
      }
    });
  }

  /** ReadMessage(message, payload_buffer): returns the decrypted payload. */
  readMessage(message: Uint8Array): Uint8Array {
    this.#assertTurn(false);
    return this.#guard(() => {
      switch (this.#step) {
        case "message-a":
          return this.#readMessageA(message);
        case "message-b":
          return this.#readMessageB(message);
        default:
          return this.#readMessageC(message);
      }
    });
  }

  /**
   * Split() after the last message: [c1, c2], where c1 encrypts initiator → responder and
   * c2 responder → initiator. Callable once.
   */
  split(): [CipherState, CipherState] {
    this.#assertSplittable();
    this.#step = "split";
    return this.#ss.split();
  }

  /** The raw keys Split() would install, [k1 (initiator → responder), k2]; callable once instead of split(). */
  splitKeys(): [Uint8Array, Uint8Array] {
    this.#assertSplittable();
    this.#step = "split";
    return this.#ss.splitKeys();
  }

  /** Abandons the handshake and wipes its secrets; later calls throw NoiseStateError. */
  dispose(): void {
    if (this.#step === "failed") return;
    this.#step = "failed";
    this.#wipeKeys();
    this.#ss.dispose();
  }

  // -> e
  #writeMessageA(payload: Uint8Array): Uint8Array {
    assertWritable(DH_LENGTH + payload.length);
    const e = this.#generateEphemeral();
    this.#ss.mixHash(e.publicKey);
    const payloadCiphertext = this.#ss.encryptAndHash(payload);
    this.#step = "message-b";
    return concatBytes(e.publicKey, payloadCiphertext);
  }

  // -> e
  #readMessageA(message: Uint8Array): Uint8Array {
    assertReadable(message, DH_LENGTH, "message A (-> e)");
    this.#re = message.slice(0, DH_LENGTH);
    this.#ss.mixHash(this.#re);
    const payload = this.#ss.decryptAndHash(message.slice(DH_LENGTH));
    this.#step = "message-b";
    return payload;
  }

  // <- e, ee, s, es
  #writeMessageB(payload: Uint8Array): Uint8Array {
    assertWritable(DH_LENGTH + ENCRYPTED_KEY_LENGTH + payload.length + TAG_LENGTH);
    const re = this.#re!;
    const e = this.#generateEphemeral();
    this.#ss.mixHash(e.publicKey); // e
    this.#ss.mixKey(this.#dh(e.privateKey, re)); // ee
    const encryptedS = this.#ss.encryptAndHash(this.#s.publicKey); // s
    this.#ss.mixKey(this.#dh(this.#s.privateKey, re)); // es (responder: DH(s, re))
    const payloadCiphertext = this.#ss.encryptAndHash(payload);
    this.#step = "message-c";
    return concatBytes(e.publicKey, encryptedS, payloadCiphertext);
  }

  // <- e, ee, s, es
  #readMessageB(message: Uint8Array): Uint8Array {
    assertReadable(message, DH_LENGTH + ENCRYPTED_KEY_LENGTH + TAG_LENGTH, "message B (<- e, ee, s, es)");
    const e = this.#e!;
    const re = message.slice(0, DH_LENGTH);
    this.#re = re;
    this.#ss.mixHash(re); // e
    this.#ss.mixKey(this.#dh(e.privateKey, re)); // ee
    const rs = this.#ss.decryptAndHash(message.subarray(DH_LENGTH, DH_LENGTH + ENCRYPTED_KEY_LENGTH)); // s
    this.#rs = rs;
    this.#ss.mixKey(this.#dh(e.privateKey, rs)); // es (initiator: DH(e, rs))
    const payload = this.#ss.decryptAndHash(message.subarray(DH_LENGTH + ENCRYPTED_KEY_LENGTH));
    this.#step = "message-c";
    return payload;
  }

  // -> s, se
  #writeMessageC(payload: Uint8Array): Uint8Array {
    assertWritable(ENCRYPTED_KEY_LENGTH + payload.length + TAG_LENGTH);
    const encryptedS = this.#ss.encryptAndHash(this.#s.publicKey); // s
    this.#ss.mixKey(this.#dh(this.#s.privateKey, this.#re!)); // se (initiator: DH(s, re))
    const payloadCiphertext = this.#ss.encryptAndHash(payload);
    this.#finish();
    return concatBytes(encryptedS, payloadCiphertext);
  }

  // -> s, se
  #readMessageC(message: Uint8Array): Uint8Array {
    assertReadable(message, ENCRYPTED_KEY_LENGTH + TAG_LENGTH, "message C (-> s, se)");
    const rs = this.#ss.decryptAndHash(message.subarray(0, ENCRYPTED_KEY_LENGTH)); // s
    this.#rs = rs;
    this.#ss.mixKey(this.#dh(this.#e!.privateKey, rs)); // se (responder: DH(e, rs))
    const payload = this.#ss.decryptAndHash(message.subarray(ENCRYPTED_KEY_LENGTH));
    this.#finish();
    return payload;
  }

  #generateEphemeral(): KeyPair {
    this.#e = this.#injectedE ?? this.#provider.x25519.generateKeyPair();
    this.#injectedE = null;
    return this.#e;
  }

  #dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    return this.#provider.x25519.dh(privateKey, publicKey);
  }

  // The ephemeral and static private keys are not needed after the last DH.
  #finish(): void {
    this.#step = "complete";
    this.#wipeKeys();
  }

  // Zeroes this handshake's own copies of its private keys, and drops what the provider
  // imported from them (the node provider's KeyObjects).
  #wipeKeys(): void {
    if (this.#e) wipePrivateKey(this.#provider, this.#e.privateKey);
    if (this.#injectedE) wipePrivateKey(this.#provider, this.#injectedE.privateKey);
    wipePrivateKey(this.#provider, this.#s.privateKey);
  }

  #guard<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  #assertTurn(writing: boolean): void {
    if (this.#step === "failed") throw new NoiseStateError("Noise handshake already failed or was disposed");
    if (this.isComplete) throw new NoiseStateError("Noise handshake is already complete");
    if (this.isMyTurn !== writing) {
      const expected = writing ? "readMessage" : "writeMessage";
      throw new NoiseStateError(`Noise XX ${this.initiator ? "initiator" : "responder"} must call ${expected} for ${this.#step}`);
    }
  }

  #assertSplittable(): void {
    if (this.#step === "split") throw new NoiseStateError("Split() was already called");
    if (this.#step !== "complete") throw new NoiseStateError("Split() needs a complete handshake");
  }
}

/**
 * Our own copies, so wiping them never touches the caller's arrays (the provider may share
 * what it imported from the caller's private key, so a long-term key is not imported again).
 */
function copyKeyPair(provider: CryptoProvider, pair: KeyPair, what: string): KeyPair {
  assertKey32(pair.publicKey, `${what} public key`);
  assertKey32(pair.privateKey, `${what} private key`);
  return { publicKey: pair.publicKey.slice(), privateKey: copyPrivateKey(provider, pair.privateKey) };
}

function assertWritable(length: number): void {
  if (length > MAX_NOISE_MESSAGE_LENGTH) {
    throw new NoiseMessageLengthError(`Noise message would be ${length} bytes; the limit is ${MAX_NOISE_MESSAGE_LENGTH}`);
  }
}

function assertReadable(message: Uint8Array, minimum: number, which: string): void {
  if (message.length < minimum) {
    throw new NoiseMessageLengthError(`${which} is ${message.length} bytes; it needs at least ${minimum}`);
  }
  if (message.length > MAX_NOISE_MESSAGE_LENGTH) {
    throw new NoiseMessageLengthError(`${which} is ${message.length} bytes; the limit is ${MAX_NOISE_MESSAGE_LENGTH}`);
  }
}
