import {
  checkFlowControlId,
  checkTimeoutOption,
  DEFAULT_MAILBOX_LIMITS,
  describeValue,
  InvalidOptionError,
  MAX_TIMEOUT_MS,
  resolveMailboxLimits,
  type FlowControlId,
  type MailboxLimits,
  type ResolvedMailboxLimits,
} from "@hopwire/runtime";
import { DEFAULT_RECEIVE_WINDOW, validateWindow, type CreditWindow } from "./credit.js";
import { getCryptoProvider, resolveCryptoProvider } from "../crypto/index.js";
import type { CryptoProvider, CryptoProviderName } from "../crypto/provider.js";
import { trustEveryone, type TrustPolicy } from "../trust/trust-policy.js";
import { DEFAULT_REKEY_INTERVAL } from "../channel/transport-cipher.js";
import { DEFAULT_CRYPTO_THREADS, MAX_CRYPTO_THREADS, type CryptoThreadsSetting } from "../crypto-threads/policy.js";
import { DEFAULT_KEEPALIVE_INTERVAL, DEFAULT_PEER_TIMEOUT, MIN_KEEPALIVE_INTERVAL, MIN_PEER_TIMEOUT } from "./liveness.js";
import { DEFAULT_HANDSHAKE_LIMITS, validateHandshakeLimits, type HandshakeLimits } from "../listener/handshake-limits.js";
import { checkChannelLimit, DEFAULT_MAX_CHANNELS, DEFAULT_MAX_CHANNELS_PER_CONNECTION } from "../listener/channel-limits.js";

/** Milliseconds a handshake may take before it fails, by default. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/**
 * A liveness delay, as every timeout of the project: ms up to MAX_TIMEOUT_MS, or Infinity for
 * none (1e300 or 2^53 were taken before, Infinity refused). At least `min`: shorter ones
 * would flood the channel with heartbeats or close it on a scheduling hiccup.
 */
function checkLivenessDelay(ms: unknown, option: "peerTimeout" | "keepaliveInterval", min: number, infinity: string): number {
  if (typeof ms !== "number" || !(ms >= min) || (ms > MAX_TIMEOUT_MS && ms !== Number.POSITIVE_INFINITY)) {
    throw new InvalidOptionError(`${option} must be a number of ms from ${min} to ${MAX_TIMEOUT_MS}, or Infinity ${infinity}; got ${describeValue(ms)}`, { option });
  }
  return ms;
}

/** Options both ends share. Setters validate at once and return `this` for chaining. */
abstract class ChannelOptionsBase {
  trustPolicy: TrustPolicy = trustEveryone();
  provider: CryptoProvider = getCryptoProvider("node");
  rekeyInterval = DEFAULT_REKEY_INTERVAL;
  handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
  cryptoThreads: CryptoThreadsSetting = DEFAULT_CRYPTO_THREADS;
  receiveWindow: CreditWindow = DEFAULT_RECEIVE_WINDOW;
  sendQueueLimits: ResolvedMailboxLimits = DEFAULT_MAILBOX_LIMITS;
  peerTimeout = DEFAULT_PEER_TIMEOUT;
  keepaliveInterval = DEFAULT_KEEPALIVE_INTERVAL;

  /**
   * How long this end waits for any authenticated record (a message, a heartbeat…) from its
   * peer before it closes the channel with SecureChannelPeerGoneError (default 30 000 ms): ms
   * from 150 to 2^31 - 1, or Infinity never to close a silent channel. The peer learns it at
   * open and sends heartbeats at least a third of it apart, so setting it on one end is enough.
   */
  withPeerTimeout(ms: number): this {
    this.peerTimeout = checkLivenessDelay(ms, "peerTimeout", MIN_PEER_TIMEOUT, "never to close a silent channel");
    return this;
  }

  /**
   * How long this end may send nothing before it sends a HEARTBEAT (default 10 000 ms): ms
   * from 50 to 2^31 - 1, or Infinity for none of its own. Shorter if the peer's timeout asks
   * for it (a third of it), Infinity included: the peer's timeout is still honoured.
   */
  withKeepaliveInterval(ms: number): this {
    this.keepaliveInterval = checkLivenessDelay(ms, "keepaliveInterval", MIN_KEEPALIVE_INTERVAL, "for heartbeats only as often as the peer's timeout asks");
    return this;
  }

  /**
   * The credit this end grants its peer: envelopes (messages) and their bytes that may be
   * in flight towards it before the peer waits (default 32,768 messages / 4 MiB). Credit goes
   * back as messages are routed on, and is held while their destination mailbox is full.
   */
  withReceiveWindow(window: Partial<CreditWindow>): this {
    if (window === null || typeof window !== "object") throw new InvalidOptionError("receiveWindow must be an object", { option: "receiveWindow" });
    this.receiveWindow = validateWindow(window);
    return this;
  }

  /**
   * How much the encryptor queues (waiting for credit or for a full first hop) before it
   * reports itself full and local senders wait (default 8192 messages / 4 MiB).
   */
  withSendQueueLimits(limits: MailboxLimits): this {
    this.sendQueueLimits = resolveMailboxLimits(limits, DEFAULT_MAILBOX_LIMITS, "sendQueueLimits");
    return this;
  }

  /** Who may be on the other end (default: everyone who proves an identity). Checked on both sides. */
  withTrustPolicy(policy: TrustPolicy): this {
    if (typeof policy !== "function") throw new InvalidOptionError("trustPolicy must be a function (see trustIdentifier, trustEveryone)", { option: "trustPolicy" });
    this.trustPolicy = policy;
    return this;
  }

  /** "node" (OpenSSL; the default) or "noble" (pure JavaScript), or a provider object. */
  withCryptoProvider(provider: CryptoProviderName | CryptoProvider): this {
    this.provider = resolveCryptoProvider(provider, "withCryptoProvider");
    return this;
  }

  /** Messages per key before both sides rekey (Noise REKEY). */
  withRekeyInterval(messages: number): this {
    if (!Number.isSafeInteger(messages) || messages < 1) throw new InvalidOptionError("rekeyInterval must be a positive integer", { option: "rekeyInterval" });
    this.rekeyInterval = messages;
    return this;
  }

  /**
   * Where the channel's AEAD runs once it is established: 0 = inline on the node's main
   * thread; n >= 1 = on one of the node's n dedicated crypto threads (the channel is
   * pinned to one, ops travel in per-turn batches); "auto" = what measured fastest here
   * (see src/crypto-threads/README.md). The node's crypto threads are shared by its
   * channels and grow to the largest n asked for.
   */
  withCryptoThreads(threads: number | "auto"): this {
    if (threads !== "auto" && (!Number.isSafeInteger(threads) || threads < 0 || threads > MAX_CRYPTO_THREADS)) {
      throw new InvalidOptionError(`cryptoThreads must be "auto" or an integer from 0 to ${MAX_CRYPTO_THREADS}; got ${describeValue(threads)}`, {
        option: "cryptoThreads",
      });
    }
    this.cryptoThreads = threads;
    return this;
  }

  /** How long a handshake may take, in ms: a positive number up to 2^31 - 1, or Infinity. */
  withHandshakeTimeout(ms: number): this {
    this.handshakeTimeout = checkTimeoutOption(ms, "handshakeTimeout");
    return this;
  }
}

/** Options of `createSecureChannel` (the initiator). */
export class SecureChannelOptions extends ChannelOptionsBase {
  signal: AbortSignal | undefined;

  /** Cancels the handshake (and the wait for the crypto threads before it). An AbortSignal only. */
  withSignal(signal: AbortSignal): this {
    // Checked here: anything else failed only later, inside the handshake's wait.
    if (!(signal instanceof AbortSignal)) {
      throw new InvalidOptionError(`signal must be an AbortSignal (e.g. controller.signal, AbortSignal.timeout(ms)); got ${describeValue(signal)}`, { option: "signal" });
    }
    this.signal = signal;
    return this;
  }
}

/** Options of `createSecureChannelListener` (the responder). */
export class SecureChannelListenerOptions extends ChannelOptionsBase {
  /** The flow control ids the listener and its channels consume (see {@link asConsumer}), e.g. a TCP listener's. */
  readonly consumerOf: FlowControlId[] = [];
  handshakeLimits: HandshakeLimits = DEFAULT_HANDSHAKE_LIMITS;
  /** Channels (open or handshaking) the listener holds at once; see {@link withMaxChannels}. */
  maxChannels: number = DEFAULT_MAX_CHANNELS;
  /** Of those, over one connection; see {@link withMaxChannelsPerConnection}. */
  maxChannelsPerConnection: number = DEFAULT_MAX_CHANNELS_PER_CONNECTION;

  /**
   * At most `n` channels accepted by this listener at once (default 16 384), open or
   * handshaking (a handshake counts from its start). A handshake past it is refused at its
   * first message, before any DH work: the initiator gets SecureChannelRefusedError with reason
   * HANDSHAKE_CHANNEL_LIMIT, and this node a "refused" event and a rate-limited warning. A
   * channel that closes frees its slot (docs/secure-channels.md, "Channel limits").
   */
  withMaxChannels(n: number): this {
    this.maxChannels = checkChannelLimit(n, "maxChannels");
    return this;
  }

  /**
   * At most `n` of this listener's channels over one connection at once (default 1 024),
   * open or handshaking. A connection is the first hop of the handshake's return route as
   * this node sees it: the TCP connection the first message came in on (everything behind one
   * relay, or one registrant's channel, shares it). Past it a handshake is refused with reason
   * HANDSHAKE_CONNECTION_CHANNEL_LIMIT. Above `maxChannels` it changes nothing.
   */
  withMaxChannelsPerConnection(n: number): this {
    this.maxChannelsPerConnection = checkChannelLimit(n, "maxChannelsPerConnection");
    return this;
  }

  /**
   * Bounds on handshakes the listener has not finished (see docs/secure-channels.md, "Handshake
   * limits"): `maxPending` for the listener (default 4096), `maxPendingPerConnection` (1024),
   * `maxQueuedPerConnection` first messages waiting for their turn (1024), the bytes they may
   * hold `maxQueuedBytesPerConnection` (1 MiB, mostly their return routes) and
   * `refusalsPerSecondPerConnection` (10). A "connection" is the first hop of the handshake's
   * return route: the TCP connection it came in on.
   */
  withHandshakeLimits(limits: Partial<HandshakeLimits>): this {
    if (limits === null || typeof limits !== "object") throw new InvalidOptionError("handshakeLimits must be an object", { option: "handshakeLimits" });
    this.handshakeLimits = validateHandshakeLimits(limits);
    return this;
  }

  /**
   * Lets the listener and the channels it spawns receive messages of `flowControlId` (e.g.
   * a TCP listener's): handshakes and ciphertext arrive from the network.
   */
  asConsumer(flowControlId: FlowControlId): this {
    this.consumerOf.push(checkFlowControlId(flowControlId, "asConsumer", "SecureChannelListenerOptions"));
    return this;
  }
}
