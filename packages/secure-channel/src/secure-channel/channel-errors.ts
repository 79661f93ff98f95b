import { registerErrorClasses, RouteUnavailableError, stackless } from "@hopwire/runtime/errors";
import { SecureChannelError } from "../errors.js";

/**
 * The codes a responder of this version sends in its REFUSED notice, and so the `reason` of a
 * SecureChannelRefusedError (docs/secure-channels.md, "Confirmation"): the code of the check
 * that failed on its side (`TIMEOUT`: no third message within its handshake timeout),
 * `HANDSHAKE_BUSY` when its handshake limits dropped the handshake, `HANDSHAKE_CHANNEL_LIMIT` /
 * `HANDSHAKE_CONNECTION_CHANNEL_LIMIT` when it held its `maxChannels` / `maxChannelsPerConnection`,
 * `HANDSHAKE_FAILED` when what failed had no code, `UNSPECIFIED` when the notice carried none.
 */
export const SECURE_CHANNEL_REFUSAL_CODES = Object.freeze([
  "HANDSHAKE_UNTRUSTED_IDENTITY",
  "TRUST_POLICY_FAILED",
  "HANDSHAKE_BAD_SIGNATURE",
  "HANDSHAKE_MALFORMED_PAYLOAD",
  "HANDSHAKE_WRONG_STATE",
  "NOISE_DECRYPT_FAILED",
  "NOISE_MESSAGE_LENGTH",
  "NOISE_WRONG_STATE",
  "WEAK_PUBLIC_KEY",
  "INVALID_KEY",
  "SECURE_CHANNEL_HANDSHAKE_FAILED",
  "TIMEOUT",
  "HANDSHAKE_BUSY",
  "HANDSHAKE_CHANNEL_LIMIT",
  "HANDSHAKE_CONNECTION_CHANNEL_LIMIT",
  "HANDSHAKE_FAILED",
  "UNSPECIFIED",
] as const);

/** A refusal code this version knows (see SECURE_CHANNEL_REFUSAL_CODES). */
export type SecureChannelRefusalCode = (typeof SECURE_CHANNEL_REFUSAL_CODES)[number];

/**
 * The `reason` of a SecureChannelRefusedError: a SecureChannelRefusalCode, or, from a
 * responder of another version, a code this one does not know, as that peer sent it but made
 * safe to log (printable ASCII only, anything else as "?", at most 64 characters).
 */
export type SecureChannelRefusalReason = SecureChannelRefusalCode | (string & {});

/** How long a peer's refusal code may be, in characters. */
const MAX_REFUSAL_CODE_LENGTH = 64;

/** The reason a REFUSED notice's bytes carry, made safe to print: see SecureChannelRefusalReason. */
export function refusalReasonOf(bytes: Uint8Array): SecureChannelRefusalReason {
  const text = new TextDecoder().decode(bytes).slice(0, MAX_REFUSAL_CODE_LENGTH).replace(/[^\x21-\x7e]/g, "?");
  return text === "" ? "UNSPECIFIED" : text;
}

/**
 * Thrown by createSecureChannel when the responder refused the initiator. `reason` is the
 * responder's code: `HANDSHAKE_UNTRUSTED_IDENTITY` (its trust policy does not trust our
 * identity), `HANDSHAKE_BUSY` (its handshake limits), `HANDSHAKE_CHANNEL_LIMIT` /
 * `HANDSHAKE_CONNECTION_CHANNEL_LIMIT` (its channel limits), ... (see SecureChannelRefusalReason).
 */
export class SecureChannelRefusedError extends SecureChannelError {
  override readonly code = "SECURE_CHANNEL_REFUSED";
  /** The responder's refusal code; branch on it, not on the message. */
  override readonly reason: SecureChannelRefusalReason;
  constructor(message = "The responder refused the secure channel", options?: { cause?: unknown; reason?: SecureChannelRefusalReason }) {
    super(message, options);
    this.reason = options?.reason ?? "UNSPECIFIED";
  }
}

/**
 * Why a channel closed, as a value to switch on (each has its own error class too):
 * - `closed-locally`: `channel.close()`, the listener or the node stopped (SecureChannelClosedError);
 * - `closed-by-peer`: the peer's authenticated CLOSE (SecureChannelClosedByPeerError);
 * - `peer-gone`: nothing authenticated from the peer within its timeout (SecureChannelPeerGoneError);
 * - `transport-error`: the first hop to the peer went away or refused a record (SecureChannelTransportError);
 * - `credit-exceeded`: the peer kept sending past its credit (SecureChannelCreditExceededError);
 * - `peer-stalled`: a channel whose credit is shared (a relay service's registrant channel) held records past its
 *   limits while its peer took none for a third of the peer timeout (SecureChannelPeerStalledError).
 */
export type SecureChannelCloseReason = "closed-locally" | "closed-by-peer" | "peer-gone" | "transport-error" | "credit-exceeded" | "peer-stalled";

/**
 * Why a channel closed (`channel.closed` resolves to it), and what pending requests through
 * it and later sends into it fail with. It is a RouteUnavailableError: the route's first hop
 * (the channel) is gone. Subclasses name the other reasons; this class itself means closed
 * on this side.
 */
export class SecureChannelClosedError extends RouteUnavailableError {
  override readonly code: string = "SECURE_CHANNEL_CLOSED";
  readonly closeReason: SecureChannelCloseReason = "closed-locally";
  constructor(message = "The secure channel is closed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when the handshake failed on this side (bad message, untrusted peer, timeout). */
export class SecureChannelHandshakeError extends SecureChannelError {
  override readonly code = "SECURE_CHANNEL_HANDSHAKE_FAILED";
  constructor(message = "The secure channel handshake failed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Why a channel end closed when its peer kept sending past the credit it was given: an
 * honest peer never does (both sides apply the same rule), so the records were dropped and
 * counted, and past a quarter of the window the channel was closed.
 */
export class SecureChannelCreditExceededError extends SecureChannelClosedError {
  override readonly code: string = "SECURE_CHANNEL_CREDIT_EXCEEDED";
  override readonly closeReason: SecureChannelCloseReason = "credit-exceeded";
  constructor(message = "The peer sent past the credit of the secure channel", options?: { cause?: unknown }) {
    super(message, options);
  }
}

registerErrorClasses(SecureChannelRefusedError, SecureChannelClosedError, SecureChannelHandshakeError, SecureChannelCreditExceededError);

// ---- why else a channel closed, and what a send into one can be refused for ----

/** Why a channel closed when nothing authenticated came from its peer within the peer timeout (heartbeats stopped). */
export class SecureChannelPeerGoneError extends SecureChannelClosedError {
  override readonly code: string = "SECURE_CHANNEL_PEER_GONE";
  override readonly closeReason: SecureChannelCloseReason = "peer-gone";
  constructor(message = "The peer of the secure channel is gone (no heartbeat within the peer timeout)", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Why a channel closed when its peer closed it (an authenticated CLOSE record). */
export class SecureChannelClosedByPeerError extends SecureChannelClosedError {
  override readonly code: string = "SECURE_CHANNEL_CLOSED_BY_PEER";
  override readonly closeReason: SecureChannelCloseReason = "closed-by-peer";
  constructor(message = "The peer closed the secure channel", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Why a channel closed when its first hop (a connection) went away or failed a record; `cause` says how. */
export class SecureChannelTransportError extends SecureChannelClosedError {
  override readonly code: string = "SECURE_CHANNEL_TRANSPORT_FAILED";
  override readonly closeReason: SecureChannelCloseReason = "transport-error";
  constructor(message = "The route to the peer of the secure channel failed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown by a send into a channel when the message would not fit in a frame once sealed; nothing is sent and the channel stays open. */
export class SecureChannelMessageTooLargeError extends SecureChannelError {
  override readonly code = "SECURE_CHANNEL_MESSAGE_TOO_LARGE";
  constructor(message = "The message does not fit in one secure channel record", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Why a channel whose credit is shared by others' traffic (a relay service's registrant channel,
 * shareSecureChannelCredit) closed when it held records past its limits, pausing the connections
 * that fed it, while its peer took none (no credit granted, or its connection read nothing) for
 * SHARED_HOLD_STALL_SHARE of the peer timeout: its heartbeats may still come (docs/secure-channels.md, "Credit").
 */
export class SecureChannelPeerStalledError extends SecureChannelClosedError {
  override readonly code: string = "SECURE_CHANNEL_PEER_STALLED";
  override readonly closeReason: SecureChannelCloseReason = "peer-stalled";
  constructor(message = "The peer of the secure channel took nothing while others' records waited for it", options?: { cause?: unknown }) {
    super(message, options);
  }
}

registerErrorClasses(SecureChannelPeerGoneError, SecureChannelClosedByPeerError, SecureChannelTransportError, SecureChannelMessageTooLargeError, SecureChannelPeerStalledError);

/**
 * Why a channel end closed, made when first asked for. Most closes are never asked why (a
 * handshake bench's, a listener's channel the initiator closed): building the error of an
 * ordinary close (four constructors and their fields, ≈ 3 µs) and keeping it for the closed
 * channel's tombstone cost every such close for nothing. It is made at most once, so
 * whoever asks (`closedReason`, `closed`, a request waiting on the channel, a later send into
 * it) gets the same object.
 */
export class CloseReason {
  #error: Error | undefined;
  #make: (() => Error) | undefined;

  /**
   * `given`: the reason itself, or a function that makes it, without a stack trace: a channel's
   * close reason is made on every close, and capturing the stack (the call path of whoever
   * closed: a socket read for a peer's CLOSE, the channel's own close()) cost ~10-30 µs, a few
   * per cent of a handshake's CPU, for frames that say nothing about why the channel closed:
   * the class, `closeReason` and `cause` do (a cause keeps its own stack).
   */
  constructor(given: Error | (() => Error)) {
    if (typeof given === "function") this.#make = given;
    else this.#error = given;
  }

  /** The reason, made now if nobody asked before (a function, so that it can be handed on as a lazy reason). */
  readonly get = (): Error => {
    if (this.#error === undefined) {
      this.#error = stackless(this.#make!);
      this.#make = undefined;
    }
    return this.#error;
  };
}

/**
 * Formats the stack traces of `error` and of its causes now. Until it is read, V8 keeps an
 * error's stack as its frames, and each frame holds its receiver and function: a reason made
 * inside a channel end's or a connection's method keeps that object alive, with everything it
 * holds (its head caches, up to a few MiB when a peer fills them), for as long as the reason
 * is kept. A closed channel's reason outlives it (its tombstone, see rememberClosedEncryptor).
 */
export function releaseStackFrames(error: Error): void {
  let e: unknown = error;
  // Bounded: a cause chain may be long, or even a cycle.
  for (let depth = 0; depth < 8 && e instanceof Error; depth++, e = e.cause) void e.stack;
}

/** What a handshake in progress fails with (a NodeStoppedError) when its node stops. */
export const HANDSHAKE_NODE_STOPPED = "The node stopped during the secure channel handshake";
