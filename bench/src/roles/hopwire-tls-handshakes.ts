// Role: the node:tls counterpart of secure-channel/handshakes. "server": a TLS 1.3 server
// (the baseline/tls setup: self-signed P-256 certificate, TLS_AES_256_GCM_SHA384) that
// accepts and forgets. "client": full handshakes (no session resumption), `inFlight` at a
// time, each connection destroyed once the handshake is verified; completions counted
// after warmupMs, for durationMs. Server authentication only (Hopwire's is mutual).
import tls from "node:tls";
import { countCompletions } from "../completion-window.js";
import { runBenchChild } from "../proc/child.js";
import { HOST, listen, TLS_SUITE } from "../net/endpoints.js";

export interface TlsHandshakeParams {
  mode: "server" | "client";
  port?: number;
  certPem?: string;
  inFlight?: number;
  warmupMs: number;
  durationMs: number;
}
export interface TlsHandshakeReady {
  port: number;
  certPem?: string;
}
export interface TlsHandshakeResult {
  handshakes: number;
  seconds: number;
}

function handshake(p: TlsHandshakeParams): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      port: p.port!,
      host: HOST,
      servername: "localhost",
      ca: p.certPem!,
      minVersion: "TLSv1.3",
      maxVersion: "TLSv1.3",
      ciphers: TLS_SUITE,
    });
    socket.once("secureConnect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", reject);
  });
}

runBenchChild<TlsHandshakeParams, TlsHandshakeReady | null, TlsHandshakeResult | null>(async (p, io) => {
  if (p.mode === "server") {
    const listening = await listen(true, (socket) => socket.on("error", () => {}));
    listening.server.on("tlsClientError", () => {});
    io.ready({ port: listening.port, certPem: listening.certPem! });
    await new Promise((resolve) => io.stop.addEventListener("abort", resolve, { once: true }));
    listening.server.close();
    return null;
  }
  io.ready(null);
  const { count, seconds } = await countCompletions(() => handshake(p), p);
  return { handshakes: count, seconds };
});
