import { inspect } from "node:util";
import { defaultCryptoProvider } from "../crypto/index.js";
import { wipePrivateKey } from "../crypto/key-checks.js";
import type { CryptoProvider } from "../crypto/provider.js";
import { HandshakeStateError, InvalidOptionError } from "../errors.js";
import { assertIdentity } from "../identity/identity-argument.js";
import type { Identity } from "../identity/identity.js";
import { XXHandshakeState } from "../noise/handshake-state.js";
import { checkNoNullOptions } from "../null-options.js";
import type { TrustPolicy } from "../trust/trust-policy.js";
import type { AuthenticatedPeer } from "./authenticate-peer.js";
import { HANDSHAKE_PROLOGUE, HANDSHAKE_PROTOCOL_NAME } from "./constants.js";
import type { HandshakeAction, HandshakeEvent, HandshakeOptions, HandshakeResult } from "./types.js";

/**
 * What initiator and responder share: the Noise XX state, the one-event-at-a-time rule
 * and the terminal states. Subclasses implement `step` (events in, actions out). Any
 * error fails the machine for good, except HandshakeStateError, which reports a driver
 * mistake and leaves the state as it was.
 */
export abstract class HandshakeMachine<Status extends string> {
  protected readonly noise: XXHandshakeState;
  protected readonly identity: Identity;
  protected readonly trustPolicy: TrustPolicy;
  /** How long the trust policy may take to answer (HandshakeOptions.trustPolicyTimeoutMs). */
  protected readonly trustPolicyTimeoutMs: number;
  protected readonly provider: CryptoProvider;
  #status: Status | "complete" | "failed";
  #busy = false;
  #result: HandshakeResult | undefined;

  protected constructor(initiator: boolean, options: HandshakeOptions, initialStatus: Status) {
    const what = `new ${initiator ? "InitiatorHandshake" : "ResponderHandshake"}`;
    if (typeof options !== "object" || options === null) {
      throw new InvalidOptionError(`${what}: options must be an object ({ identity, trustPolicy, ... })`, { option: "options" });
    }
    checkNoNullOptions(options, `${what} options`);
    assertIdentity(options.identity, { what, argument: "options.identity" });
    this.identity = options.identity;
    this.trustPolicy = options.trustPolicy;
    this.trustPolicyTimeoutMs = options.trustPolicyTimeoutMs ?? Infinity;
    this.provider = options.provider ?? defaultCryptoProvider;
    const generated = options.noiseStaticKeyPair ? undefined : this.provider.x25519.generateKeyPair();
    this.noise = new XXHandshakeState({
      protocolName: HANDSHAKE_PROTOCOL_NAME,
      initiator,
      prologue: HANDSHAKE_PROLOGUE,
      s: options.noiseStaticKeyPair ?? generated!,
      e: options.noiseEphemeralKeyPair,
      provider: this.provider,
    });
    // The Noise state keeps its own copy: a key generated here is held once, there.
    if (generated) wipePrivateKey(this.provider, generated.privateKey);
    this.#status = initialStatus;
  }

  /**
   * Abandons the handshake (its peer went quiet, its route closed, it timed out): the
   * private keys it holds are wiped now, not left to the garbage collector. A completed or
   * failed handshake has wiped them already; then this does nothing.
   */
  dispose(): void {
    if (this.#status === "complete" || this.#status === "failed") return;
    this.#fail();
  }

  get status(): Status | "complete" | "failed" {
    return this.#status;
  }

  /** The outcome once status is "complete". */
  get result(): HandshakeResult | undefined {
    return this.#result;
  }

  /** Feeds one event; resolves to the actions to perform, in order. One event at a time. */
  async handle(event: HandshakeEvent): Promise<readonly HandshakeAction[]> {
    if (this.#busy) throw new HandshakeStateError("handshake is still processing the previous event");
    this.#busy = true;
    try {
      return await this.step(event, this.#status);
    } catch (error) {
      if (!(error instanceof HandshakeStateError)) this.#fail();
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  /** Handles one event in the current state; returns what the caller must do next. */
  protected abstract step(event: HandshakeEvent, status: Status | "complete" | "failed"): Promise<readonly HandshakeAction[]>;

  /** Moves the machine to `status`. */
  protected setStatus(status: Status): void {
    this.#status = status;
  }

  /** The error for an event the current state does not accept. */
  protected wrongState(event: HandshakeEvent, status: string): HandshakeStateError {
    const role = this.noise.initiator ? "initiator" : "responder";
    return new HandshakeStateError(`${role} cannot handle a "${event.type}" event while ${status}`);
  }

  /** Ends the handshake: Split() keys assigned per direction, secrets of the handshake wiped. */
  protected complete(peer: AuthenticatedPeer): HandshakeResult {
    const peerNoiseStaticKey = this.noise.remoteStaticPublicKey!;
    const handshakeHash = this.noise.getHandshakeHash();
    const [initiatorToResponder, responderToInitiator] = this.noise.splitKeys();
    const initiator = this.noise.initiator;
    this.#result = Object.freeze(
      withRedactedKeys({
        peerIdentifier: peer.identifier,
        peerPublicKey: peer.publicKey,
        peerNoiseStaticKey,
        handshakeHash,
        sendKey: initiator ? initiatorToResponder : responderToInitiator,
        receiveKey: initiator ? responderToInitiator : initiatorToResponder,
      }),
    );
    this.#status = "complete";
    return this.#result;
  }

  #fail(): void {
    this.#status = "failed";
    this.noise.dispose();
  }
}

/** What a HandshakeResult shows of its transport keys in util.inspect and JSON. */
const REDACTED = "[redacted]";

/**
 * `result`, with a non-enumerable `[util.inspect.custom]` and `toJSON` that show its two
 * transport keys as "[redacted]": console.log(actions) or JSON.stringify(result) printed
 * the channel's send and receive keys. The keys are still the result's own properties.
 */
function withRedactedKeys(result: HandshakeResult): HandshakeResult {
  const shown = (): Record<string, unknown> => ({ ...result, sendKey: REDACTED, receiveKey: REDACTED });
  return Object.defineProperties(result, {
    [inspect.custom]: {
      value: (depth: number, options: { depth?: number | null }, inspectValue: typeof inspect): string =>
        depth < 0 ? "[HandshakeResult]" : `HandshakeResult ${inspectValue(shown(), { ...options, depth: options.depth == null ? options.depth : options.depth - 1 })}`,
    },
    toJSON: { value: shown },
  });
}
