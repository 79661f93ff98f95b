// Role: AES-256-GCM seal then open of one message at a time on one thread — the cost a
// secure channel pays per message before any I/O. node:crypto uses one cached KeyObject
// (importing a raw key per call costs 2-4×, design.md); @noble/ciphers is the pure-JS path.
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { runBenchChild } from "../proc/child.js";
import { throughputMetrics } from "../metrics.js";
import type { SoloResult } from "../proc/solo.js";
import type { Provider } from "../scenario.js";
import { loadNobleGcm } from "./noble.js";

export interface AeadParams {
  provider: Provider;
  size: number;
  warmupMs: number;
  durationMs: number;
}

type SealOpen = (nonce: Buffer) => void;

async function sealOpenFor(provider: Provider, size: number): Promise<SealOpen> {
  const rawKey = randomBytes(32);
  const plaintext = randomBytes(size);
  if (provider === "node") {
    const key = createSecretKey(rawKey);
    return (nonce) => {
      const c = createCipheriv("aes-256-gcm", key, nonce);
      const ct = c.update(plaintext); // GCM is a stream mode: update returns every byte, final none
      c.final();
      const d = createDecipheriv("aes-256-gcm", key, nonce);
      d.setAuthTag(c.getAuthTag());
      d.update(ct);
      d.final(); // throws if the tag does not verify
    };
  }
  const gcm = await loadNobleGcm();
  if (!gcm) throw new Error("@noble/ciphers is not resolvable from bench");
  return (nonce) => {
    const sealed = gcm(rawKey, nonce).encrypt(plaintext);
    gcm(rawKey, nonce).decrypt(sealed);
  };
}

runBenchChild<AeadParams, null, SoloResult>(async (p) => {
  const sealOpen = await sealOpenFor(p.provider, p.size);
  const nonce = Buffer.alloc(12);
  let counter = 0;
  // The loop is synchronous on purpose (one message at a time, as a channel without
  // batching would do); reading the clock costs ~50 ns against microseconds per message.
  const warmupEnd = performance.now() + p.warmupMs;
  while (performance.now() < warmupEnd) {
    nonce.writeUInt32BE(++counter, 8);
    sealOpen(nonce);
  }
  const start = performance.now();
  const end = start + p.durationMs;
  let messages = 0;
  let now = start;
  while (now < end) {
    nonce.writeUInt32BE(++counter, 8);
    sealOpen(nonce);
    messages++;
    now = performance.now();
  }
  return { metrics: throughputMetrics(messages, messages * p.size, (now - start) / 1e3) };
});
