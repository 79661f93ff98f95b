// What the Hopwire network roles (responder, middle, initiator) share: the parameters
// that cross the process boundary, the secure-channel options they imply, and the hello
// Relay of the examples.

import type { SecureChannel, SecureChannelListenerOptions, SecureChannelOptions } from "@hopwire/secure-channel";
import { DEFAULT_SEND_HIGH_WATER_MARK, type TcpConnection, type TcpTransportOptions } from "@hopwire/transport-tcp";
import { DEFAULT_MAILBOX_LIMITS } from "@hopwire/runtime";
import type { Provider } from "../scenario.js";

export const HOST = "127.0.0.1";

/** A secure channel's settings, the same on both ends. */
export interface SecureSpec {
  provider: Provider;
  /** 0 = AEAD inline on the node's main thread, n = on the node's n crypto threads, "auto" = the package's default. */
  cryptoThreads: number | "auto";
}

/**
 * @hopwire/secure-channel, loaded only by the nodes that use it: every repetition starts
 * fresh processes, and the TCP-only ones need not pay for its import.
 */
export type SecureChannelModule = typeof import("@hopwire/secure-channel");
export const loadSecureChannel = (): Promise<SecureChannelModule> => import("@hopwire/secure-channel");

/**
 * The one-way runs' in-flight bounds are the library's own, at their defaults: what a node
 * queues for a socket before `needsDrain` (TCP's send high-water mark) and, through a
 * channel, the credit each end grants and the encryptor queue's limits. `windowScale`
 * multiplies all of them: the window check (check/window-*) runs 1 and 2.
 */
export function transportOptions(windowScale = 1): TcpTransportOptions {
  return windowScale === 1 ? {} : { sendHighWaterMark: Math.round(DEFAULT_SEND_HIGH_WATER_MARK * windowScale) };
}

/** A channel end's options × scale (both ends' option classes have these setters). */
function scaled(sc: SecureChannelModule, options: SecureChannelOptions | SecureChannelListenerOptions, windowScale: number): void {
  if (windowScale === 1) return;
  const window = sc.DEFAULT_RECEIVE_WINDOW;
  const limits = DEFAULT_MAILBOX_LIMITS;
  options
    .withReceiveWindow({ messages: Math.round(window.messages * windowScale), bytes: Math.round(window.bytes * windowScale) })
    .withSendQueueLimits({ maxMessages: Math.round(limits.maxMessages * windowScale), maxBytes: Math.round(limits.maxBytes * windowScale) });
}

export function channelOptions(sc: SecureChannelModule, s: SecureSpec, windowScale = 1): SecureChannelOptions {
  const options = new sc.SecureChannelOptions().withCryptoProvider(s.provider).withCryptoThreads(s.cryptoThreads);
  scaled(sc, options, windowScale);
  return options;
}

export function listenerOptions(sc: SecureChannelModule, s: SecureSpec, windowScale = 1): SecureChannelListenerOptions {
  const options = new sc.SecureChannelListenerOptions().withCryptoProvider(s.provider).withCryptoThreads(s.cryptoThreads);
  scaled(sc, options, windowScale);
  return options;
}

/** Resolves on the next turn of the event loop, after I/O (and the runtime's per-turn flushes). */
/**
 * What a streaming sender waits on before its next send, if anything: the channel it sends
 * through while that needs drain (its send queue is full: credit, or the connection beneath),
 * else the connection while that does — as the baselines' senders wait for their socket's 'drain'.
 */
export function hopNeedingDrain(connection: TcpConnection, channel?: SecureChannel): SecureChannel | TcpConnection | undefined {
  return channel?.needsDrain ? channel : connection.needsDrain ? connection : undefined;
}

export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
