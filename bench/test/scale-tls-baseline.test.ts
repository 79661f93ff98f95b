// scale/tls-handshakes-in-flight is the baseline of scale/handshakes-in-flight, and README
// reads it as "mutual TLS 1.3 (Ed25519, shared context)", the way baseline/tls-handshakes is
// made: its client must load its identity once (tls.connect given ca/cert/key builds a
// SecureContext per call, ~1.2 ms of CPU each, work Hopwire's side does not do per channel),
// and both sides must use Ed25519 certificates, as Hopwire's identities are. Real child
// processes, the compiled roles the bench runs, a small real burst over loopback. (That the
// client shares one SecureContext is in its code, net/mutual-tls.ts: a burst cannot tell.)
// scale/tls-streams reuses that set-up for n streams: the sink must count every connection the
// sender opened (its warm-up is long enough that a loaded host reads all of them first).
import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { withChildren } from "../dist/proc/spawn.js";
import type { TlsBurstServerReady } from "../dist/roles/scale-tls-server.js";
import type { ScaleTlsSinkReady, ScaleTlsSinkResult } from "../dist/roles/scale-tls-sink.js";
import type { BurstResult } from "../dist/roles/scale-common.js";

const role = (name: string): URL => new URL(`../dist/roles/${name}.js`, import.meta.url);

describe("scale/tls-handshakes-in-flight's TLS baseline", () => {
  it("makes its burst with Ed25519 certificates on both sides", async () => {
    const { ready, client } = await withChildren(new AbortController().signal, 30_000, async (spawn) => {
      const server = spawn<TlsBurstServerReady, unknown>("server", role("scale-tls-server"), {});
      const ready = await server.ready;
      const burst = spawn<null, BurstResult>("client", role("scale-tls-client"), { ...ready, count: 20, warmupHandshakes: 2 });
      const client = (await burst.result).data;
      server.stop();
      await server.result;
      return { ready, client };
    });
    expect(client.failures).toBe(0);
    expect(client.count).toBe(20);
    expect(new X509Certificate(ready.serverCertPem).publicKey.asymmetricKeyType).toBe("ed25519");
    expect(new X509Certificate(ready.clientCertPem).publicKey.asymmetricKeyType).toBe("ed25519");
  });
});

describe("scale/tls-streams", () => {
  it("streams 1 KiB frames round-robin over n mutual-TLS connections, and the sink counts all of them in one window", async () => {
    const count = 20;
    const { ready, sink } = await withChildren(new AbortController().signal, 30_000, async (spawn) => {
      const sinkChild = spawn<ScaleTlsSinkReady, ScaleTlsSinkResult>("sink", role("scale-tls-sink"), { size: 1024, warmupMs: 50, warmMessages: 50_000, durationMs: 200 });
      const ready = await sinkChild.ready;
      const sender = spawn<unknown, { sent: number }>("sender", role("scale-tls-sender"), { ...ready, count, size: 1024, concurrency: 8 });
      const sink = (await sinkChild.result).data;
      sender.stop();
      await sender.result;
      return { ready, sink };
    });
    expect(sink.streams).toBe(count);
    expect(sink.window.before).toBeGreaterThanOrEqual(50_000); // the window waited for its warm count
    expect(sink.window.messages).toBeGreaterThan(0);
    expect(sink.window.payloadBytes).toBe(sink.window.messages * 1024);
    expect(new X509Certificate(ready.clientCertPem).publicKey.asymmetricKeyType).toBe("ed25519");
  });
});
