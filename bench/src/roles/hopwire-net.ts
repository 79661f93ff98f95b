// What the Hopwire network roles (responder, middle, initiator) share: the parameters
// that cross the process boundary, the secure-channel options they imply, the hello Relay
// of the examples, and the raw AEAD probe.
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { RouteLike, Worker, WorkerClass } from "@hopwire/runtime";
import type { SecureChannelListenerOptions, SecureChannelOptions } from "@hopwire/secure-channel";
import type { Provider } from "../scenario.js";
import { loadNobleGcm } from "./noble.js";

export const HOST = "127.0.0.1";

/** A secure channel's settings, the same on both ends. */
export interface SecureSpec {
  provider: Provider;
  /** 0 = AEAD inline on the node's main thread, n = on the node's n crypto threads. */
  cryptoThreads: number;
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

/**
 * The examples' hello Relay (examples/src/hello/relay.ts, compiled to examples/dist). It is
 * loaded by URL: bench does not depend on the private examples package, but the relay
 * measured must be the one the guide runs. `static module` points a worker thread at it.
 */
export type RelayClass = WorkerClass<Worker> & (new (to: RouteLike, options?: { quiet?: boolean }) => Worker);

export async function loadRelay(): Promise<RelayClass> {
  const url = new URL("../../../examples/dist/hello/relay.js", import.meta.url);
  try {
    const mod = (await import(url.href)) as { Relay?: RelayClass };
    if (!mod.Relay) throw new Error("it exports no Relay");
    return mod.Relay;
  } catch (e) {
    throw new Error(`cannot load the hello Relay from ${url.pathname} (run npx tsc -b): ${(e as Error).message}`);
  }
}

/**
 * AEAD seal + open of one `size`-byte message at a time on this thread for about `ms`,
 * exactly as the baseline/aead role does it (node:crypto with a cached KeyObject, or
 * @noble/ciphers): messages per second. Run in the initiator just before its channel, so
 * a channel figure can be read against the raw AEAD rate of the same moment.
 */
export async function sealOpenRate(provider: Provider, size: number, ms: number): Promise<number> {
  const rawKey = randomBytes(32);
  const plaintext = randomBytes(size);
  const nonce = Buffer.alloc(12);
  let sealOpen: () => void;
  if (provider === "node") {
    const key = createSecretKey(rawKey);
    sealOpen = () => {
      const c = createCipheriv("aes-256-gcm", key, nonce);
      const ct = c.update(plaintext);
      c.final();
      const d = createDecipheriv("aes-256-gcm", key, nonce);
      d.setAuthTag(c.getAuthTag());
      d.update(ct);
      d.final();
    };
  } else {
    const gcm = await loadNobleGcm();
    if (!gcm) throw new Error("@noble/ciphers is not resolvable from bench");
    sealOpen = () => gcm(rawKey, nonce).decrypt(gcm(rawKey, nonce).encrypt(plaintext));
  }
  // Warm-up: half the time and at least 32 messages (@noble builds its tables and gets
  // compiled on first use: a cold probe reads several times too slow). Then at least `ms`
  // and 32 messages.
  let counter = 0;
  const warm = performance.now() + ms / 2;
  while (performance.now() < warm || counter < 32) {
    nonce.writeUInt32BE(++counter, 8);
    sealOpen();
  }
  const start = performance.now();
  let now = start;
  let n = 0;
  while (now < start + ms || n < 32) {
    nonce.writeUInt32BE(++counter, 8);
    sealOpen();
    n++;
    now = performance.now();
  }
  return n / ((now - start) / 1e3);
}

/** Resolves on the next turn of the event loop, after I/O (and the runtime's per-turn flushes). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
