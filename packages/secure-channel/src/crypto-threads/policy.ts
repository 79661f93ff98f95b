import { getCryptoProvider } from "../crypto/index.js";
import type { CryptoProvider } from "../crypto/provider.js";
import { PROVIDER_CODES } from "./batch-protocol.js";

/** 0 = inline on the node's main thread, n = n dedicated crypto threads, "auto" = the measured winner. */
export type CryptoThreadsSetting = number | "auto";

/** The most crypto threads a node may use. */
export const MAX_CRYPTO_THREADS = 64;

/** The default of withCryptoThreads (see README.md for the measurements behind it). */
export const DEFAULT_CRYPTO_THREADS: CryptoThreadsSetting = "auto";

/** What "auto" resolves to. */
export const AUTO_CRYPTO_THREADS = 0;

/**
 * How many crypto threads a channel with this setting uses: 0 (inline) when the setting
 * says so, or when the provider is not one a thread can load by name (a custom object).
 */
export function resolveCryptoThreads(setting: CryptoThreadsSetting, provider: CryptoProvider): number {
  const threads = setting === "auto" ? AUTO_CRYPTO_THREADS : setting;
  if (threads === 0 || !canHost(provider)) return 0;
  return threads;
}

/** The crypto threads a channel end with these settings uses on a node: none once the node stopped (its pool is closed). */
export function cryptoThreadsOn(node: { readonly stopped: boolean }, settings: { readonly cryptoThreads: CryptoThreadsSetting; readonly provider: CryptoProvider }): number {
  return node.stopped ? 0 : resolveCryptoThreads(settings.cryptoThreads, settings.provider);
}

/** A thread rebuilds the provider from its name: only the built-in providers qualify. */
export function canHost(provider: CryptoProvider): boolean {
  if (!(PROVIDER_CODES as readonly string[]).includes(provider.name)) return false;
  return getCryptoProvider(provider.name) === provider;
}
