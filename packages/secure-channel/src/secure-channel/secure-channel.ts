import {
  checkOptionKeys,
  checkTimeoutOption,
  checkWaitOptions,
  isOptionsObject,
  notAnOptionsObjectError,
  optionKeys,
  route,
  type Address,
  type FlowControlId,
  type Route,
  type WaitOptions,
} from "@hopwire/runtime";
import type { Identifier } from "../identity/identifier.js";
import type { ChannelEnd } from "./channel-end.js";
import type { SecureChannelClosedError } from "./channel-errors.js";

/**
 * An established secure channel, seen from one end. It is a route hop: `route(channel,
 * "echoer")` sends through it, and replies come back through it.
 */
export class SecureChannel {
  readonly #end: ChannelEnd;
  /** `route`, made once: a loop's `route(channel, "sink")` then gives one route object (runtime's route.ts). */
  #route: Route | undefined;

  /** @internal created by createSecureChannel and by a listener */
  constructor(end: ChannelEnd) {
    this.#end = end;
  }

  /** The encryptor's address: the hop local workers route through. */
  get address(): Address {
    return this.#end.encryptorAddress;
  }

  /** The route whose one hop is this channel's encryptor. */
  get route(): Route {
    return (this.#route ??= route(this.#end.encryptorAddress));
  }

  /** Messages decrypted by this channel are produced under this id (see flow controls). */
  get flowControlId(): FlowControlId {
    return this.#end.flowControlId;
  }

  /** The authenticated identifier of the other end. */
  get peerIdentifier(): Identifier {
    return this.#end.peerIdentifier!;
  }

  get isClosed(): boolean {
    return this.#end.state === "closed";
  }

  /**
   * True while messages sent into the channel fill its send queue (sendQueueLimits, default
   * 8,192 messages or 4 MiB): they wait for the peer's credit or for room in the connection
   * beneath. A send now would wait; a streaming sender pauses and `await`s `waitForDrain()`,
   * as it would on a TcpConnection.
   */
  get needsDrain(): boolean {
    return this.#end.needsDrain;
  }

  /**
   * Resolves when the send queue is back under half its limits (at once if it is not full).
   * Rejects with the channel's SecureChannelClosedError if it closes first, or with a
   * TimeoutError / AbortError per `{ timeout, signal }`.
   */
  waitForDrain(options: WaitOptions = {}): Promise<void> {
    try {
      checkWaitOptions(options, "waitForDrain options");
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#end.waitForDrain(options);
  }

  /** Ciphertexts dropped so far: forged, tampered, replayed or too old. */
  get droppedMessages(): number {
    return this.#end.droppedMessages;
  }

  /** Messages the peer sent past the credit this end granted it, dropped (see docs/secure-channels.md, "Credit"). */
  get droppedOverCredit(): number {
    return this.#end.droppedOverCredit;
  }

  /** Why the channel closed (a SecureChannelClosedError or one of its subclasses), once it has. */
  get closedReason(): SecureChannelClosedError | undefined {
    return this.#end.closedReason as SecureChannelClosedError | undefined;
  }

  /**
   * Resolves (never rejects) when the channel closes, on either end, with why: a
   * SecureChannelClosedError whose `closeReason` (and class) says closed locally
   * (SecureChannelClosedError itself), closed by the peer (SecureChannelClosedByPeerError),
   * peer gone (SecureChannelPeerGoneError), transport error (SecureChannelTransportError) or
   * credit exceeded (SecureChannelCreditExceededError).
   */
  get closed(): Promise<SecureChannelClosedError> {
    return this.#end.closed as Promise<SecureChannelClosedError>;
  }

  /**
   * Closes both ends: what local senders queued goes first (it may wait for the peer's credit,
   * at most `timeoutMs`, default the handshake timeout; what is left then is dropped), then
   * the peer is told, keys are dropped, the addresses go away. From the call on, sends into
   * the channel (those that waited for room included) reject with SecureChannelClosedError.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    // Checked before anything closes: `{ timeout }` (the name elsewhere) was ignored, and a bad timeoutMs closed at once.
    checkCloseOptions(options);
    this.#end.stopAdmitting();
    await this.#end.whenSent(options.timeoutMs ?? this.#end.options.handshakeTimeout);
    this.#end.close();
  }

  /** "SecureChannel(address ↔ peer identifier)", without keys. */
  toString(): string {
    return `SecureChannel(${this.address.toString()} ↔ ${this.#end.peerIdentifier ?? "?"})`;
  }
}

/** What SecureChannel.close takes. */
interface CloseOptions {
  timeoutMs?: number;
}

const CLOSE_OPTIONS = optionKeys<CloseOptions>({ timeoutMs: true });

/** `close({ timeoutMs })`: that key only, a positive number of ms or Infinity (wait for everything queued). */
function checkCloseOptions(options: unknown): void {
  if (!isOptionsObject(options)) throw notAnOptionsObjectError("close options must be an object such as { timeoutMs: 1000 }", options);
  checkOptionKeys(options, CLOSE_OPTIONS, "close options");
  const { timeoutMs } = options as { timeoutMs?: unknown };
  if (timeoutMs !== undefined) checkTimeoutOption(timeoutMs, "timeoutMs", "close options");
}
