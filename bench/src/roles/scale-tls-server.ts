// Role: the server of scale/tls-handshakes-in-flight. node:tls 1.3 on 127.0.0.1 port 0
// (TLS_AES_256_GCM_SHA384, backlog 4096 so a burst of connects is not dropped), mutual
// authentication: a self-signed Ed25519 server certificate (Hopwire's identity keys are
// Ed25519, as in baseline/tls-handshakes), and it requires and verifies the client's (also
// self-signed Ed25519, made here and handed to the client through the harness). Echoes what
// each connection sends: the client's one round trip proves that the server accepted it, as
// Hopwire's CONFIRM does.
import tls from "node:tls";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { runBenchChild } from "../proc/child.js";
import { HOST, TLS_SUITE } from "../net/endpoints.js";
import { makeSelfSignedCert } from "../net/self-signed.js";

export interface TlsBurstServerReady {
  port: number;
  serverCertPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}
export interface TlsBurstServerResult {
  accepted: number;
  /** Handshakes the server refused or that failed on its side. */
  tlsErrors: number;
}

runBenchChild<Record<string, never>, TlsBurstServerReady, TlsBurstServerResult>(async (_p, io) => {
  const server = makeSelfSignedCert("localhost", "ed25519");
  const client = makeSelfSignedCert("client", "ed25519");
  let accepted = 0;
  let tlsErrors = 0;
  const sockets = new Set<tls.TLSSocket>();
  const listener = tls.createServer(
    {
      key: server.keyPem,
      cert: server.certPem,
      ca: client.certPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.3",
      maxVersion: "TLSv1.3",
      ciphers: TLS_SUITE,
    },
    (socket) => {
      accepted++;
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on("data", (chunk: Buffer) => socket.write(chunk));
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    },
  );
  listener.on("tlsClientError", () => tlsErrors++);
  listener.listen({ port: 0, host: HOST, backlog: 4096 });
  await once(listener, "listening");
  io.ready({
    port: (listener.address() as AddressInfo).port,
    serverCertPem: server.certPem,
    clientCertPem: client.certPem,
    clientKeyPem: client.keyPem,
  });
  await new Promise<void>((resolve) => io.stop.addEventListener("abort", () => resolve(), { once: true }));
  listener.close();
  for (const socket of sockets) socket.destroy();
  return { accepted, tlsErrors };
});
