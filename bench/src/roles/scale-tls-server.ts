// Role: the server of scale/tls-handshakes-in-flight. node:tls 1.3 on 127.0.0.1 port 0
// (TLS_AES_256_GCM_SHA384, backlog 4096 so a burst of connects is not dropped), mutual
// authentication: a self-signed Ed25519 server certificate (Hopwire's identity keys are
// Ed25519, as in baseline/tls-handshakes), and it requires and verifies the client's (also
// self-signed Ed25519, made here and handed to the client through the harness). Echoes what
// each connection sends: the client's one round trip proves that the server accepted it, as
// Hopwire's CONFIRM does.
import type tls from "node:tls";
import { runBenchChild } from "../proc/child.js";
import { listenMutualTls, type MutualTlsTarget } from "../net/mutual-tls.js";

export type TlsBurstServerReady = MutualTlsTarget;
export interface TlsBurstServerResult {
  accepted: number;
  /** Handshakes the server refused or that failed on its side. */
  tlsErrors: number;
}

runBenchChild<Record<string, never>, TlsBurstServerReady, TlsBurstServerResult>(async (_p, io) => {
  let accepted = 0;
  const sockets = new Set<tls.TLSSocket>();
  const listening = await listenMutualTls((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("data", (chunk: Buffer) => socket.write(chunk));
    socket.on("close", () => sockets.delete(socket));
  });
  io.ready(listening.target);
  await new Promise<void>((resolve) => io.stop.addEventListener("abort", () => resolve(), { once: true }));
  listening.server.close();
  for (const socket of sockets) socket.destroy();
  return { accepted, tlsErrors: listening.tlsErrors() };
});
