// scale/tls-handshakes-in-flight is the baseline of scale/handshakes-in-flight, and README
// reads it as "mutual TLS 1.3 (Ed25519, shared context)", the way baseline/tls-handshakes is
// made: its client must load its identity once (tls.connect given ca/cert/key builds a
// SecureContext per call, ~1.2 ms of CPU each, work Hopwire's side does not do per channel),
// and both sides must use Ed25519 certificates, as Hopwire's identities are. Real child
// processes, the compiled roles the bench runs, a small real burst over loopback. (That the
// client shares one SecureContext is in its code, scale-tls-client.ts: a burst cannot tell.)
import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { withChildren } from "../dist/proc/spawn.js";
import type { TlsBurstServerReady } from "../dist/roles/scale-tls-server.js";
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
