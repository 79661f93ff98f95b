// What the Hopwire network roles (responder, middle, initiator) share: the parameters
// that cross the process boundary, the secure-channel options they imply, and the hello
// Relay of the examples.

import type { SecureChannelListenerOptions, SecureChannelOptions } from "@hopwire/secure-channel";
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

export function channelOptions(sc: SecureChannelModule, s: SecureSpec): SecureChannelOptions {
  return new sc.SecureChannelOptions().withCryptoProvider(s.provider).withCryptoThreads(s.cryptoThreads);
}

export function listenerOptions(sc: SecureChannelModule, s: SecureSpec): SecureChannelListenerOptions {
  return new sc.SecureChannelListenerOptions().withCryptoProvider(s.provider).withCryptoThreads(s.cryptoThreads);
}

/** Resolves on the next turn of the event loop, after I/O (and the runtime's per-turn flushes). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
