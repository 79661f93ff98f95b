import { applyPlainOptions, checkFlowControlIds, InvalidOptionError, isPlainObject, notAnOptionsObjectError, type FlowControlId, type MailboxLimits } from "@hopwire/runtime";
import type { CryptoProvider, CryptoProviderName } from "../crypto/provider.js";
import type { TrustPolicy } from "../trust/trust-policy.js";
import type { CreditWindow } from "./credit.js";
import type { HandshakeLimits } from "../listener/handshake-limits.js";
import { SecureChannelListenerOptions, SecureChannelOptions } from "./secure-channel-options.js";

/**
 * The plain-object form of the options both ends share: each key is the builder's
 * `with<Key>` setter (`{ rekeyInterval: 10 }` is `.withRekeyInterval(10)`), validated the same way.
 */
export interface ChannelOptionsInit {
  trustPolicy?: TrustPolicy;
  cryptoProvider?: CryptoProviderName | CryptoProvider;
  rekeyInterval?: number;
  handshakeTimeout?: number;
  cryptoThreads?: number | "auto";
  receiveWindow?: Partial<CreditWindow>;
  sendQueueLimits?: MailboxLimits;
  /** `withPeerTimeout`: how long the peer may be silent before the channel closes (docs/secure-channels.md, "Liveness"). */
  peerTimeout?: number;
  /** `withKeepaliveInterval`: how often a heartbeat goes out on an idle channel. */
  keepaliveInterval?: number;
}

/**
 * `createSecureChannel(node, identity, route, { ... })`: SecureChannelOptions as a plain
 * object. `signal` cancels the handshake and `timeout` bounds it (the same as
 * `handshakeTimeout`; give one of the two).
 */
export interface SecureChannelOptionsInit extends ChannelOptionsInit {
  signal?: AbortSignal;
  timeout?: number;
}

/**
 * `createSecureChannelListener(node, identity, address, { ... })`: SecureChannelListenerOptions
 * as a plain object. `consumerOf` is `asConsumer` (one id or several).
 */
export interface SecureChannelListenerOptionsInit extends ChannelOptionsInit {
  /**
   * The flow control id(s) whose messages the listener and its channels may receive:
   * handshakes and ciphertext arrive from the network, e.g. `tcpListener.flowControlId`.
   * Without it, what a TCP listener receives never reaches the secure channel listener.
   * The same as `asConsumer(id)` for each.
   */
  consumerOf?: FlowControlId | FlowControlId[];
  /** `withHandshakeLimits`: bounds on unfinished handshakes (docs/secure-channels.md, "Handshake limits"). */
  handshakeLimits?: Partial<HandshakeLimits>;
  /** `withMaxChannels`: channels (open or handshaking) the listener holds at once (default 16 384). */
  maxChannels?: number;
  /** `withMaxChannelsPerConnection`: of those, over one connection (default 1 024). */
  maxChannelsPerConnection?: number;
}

/** The initiator's options builder, from either form. */
export function toSecureChannelOptions(options: SecureChannelOptions | SecureChannelOptionsInit | undefined): SecureChannelOptions {
  if (options === undefined || options instanceof SecureChannelOptions) return options ?? new SecureChannelOptions();
  if (!isPlainObject(options)) throw notAnOptionsObjectError("createSecureChannel options must be a SecureChannelOptions or a plain object", options);
  if (options.timeout !== undefined && options.handshakeTimeout !== undefined) {
    throw new InvalidOptionError("createSecureChannel options: give timeout or handshakeTimeout, not both", { option: "timeout" });
  }
  return applyPlainOptions(new SecureChannelOptions(), options as Record<string, unknown>, "createSecureChannel options", {
    timeout: (b, value) => b.withHandshakeTimeout(value as number),
  });
}

/** The listener's options builder, from either form. */
export function toSecureChannelListenerOptions(
  options: SecureChannelListenerOptions | SecureChannelListenerOptionsInit | undefined,
): SecureChannelListenerOptions {
  if (options === undefined || options instanceof SecureChannelListenerOptions) return options ?? new SecureChannelListenerOptions();
  if (!isPlainObject(options)) {
    throw notAnOptionsObjectError("createSecureChannelListener options must be a SecureChannelListenerOptions or a plain object", options);
  }
  return applyPlainOptions(new SecureChannelListenerOptions(), options as Record<string, unknown>, "createSecureChannelListener options", {
    consumerOf: (b, value) => {
      for (const id of checkFlowControlIds(value, "consumerOf", "createSecureChannelListener options")) b.asConsumer(id);
    },
  });
}
