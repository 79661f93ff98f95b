// Role: the node:tls counterpart of secure-channel/handshakes, made like for like with it:
//   - mutual authentication (Hopwire's handshake authenticates both identities), with
//     Ed25519 certificates (Hopwire's identity keys are Ed25519), each side trusting the
//     other's self-signed certificate as its only anchor;
//   - one SecureContext per side, made once and shared by every handshake (Hopwire loads
//     its identity once, not per channel);
//   - the same layout: TLS 1.3 (TLS_AES_256_GCM_SHA384) over TCP connections that are
//     already open — Hopwire's handshakes run over one established connection, so TCP's
//     connect/accept is kept off the measured path: the client keeps `inFlight` spare
//     connections open ahead, and the server wraps each accepted socket in a TLSSocket.
// "client": full handshakes (no session resumption), `inFlight` at a time, each connection
// destroyed once verified; completions counted after warmupMs and warmCount handshakes, for durationMs.
import net from "node:net";
import tls from "node:tls";
import { once } from "node:events";
import { countCompletions } from "../completion-window.js";
import { runBenchChild } from "../proc/child.js";
import { HOST, TLS_SUITE } from "../net/endpoints.js";
import { makeSelfSignedCert, type SelfSigned } from "../net/self-signed.js";

export interface TlsHandshakeParams {
  mode: "server" | "client";
  port?: number;
  /** The other side's certificate (PEM): its only trust anchor. */
  peerCertPem?: string;
  /** client: its own certificate and key (made by the parent, so that the server can trust it). */
  identity?: SelfSigned;
  inFlight?: number;
  warmupMs: number;
  durationMs: number;
  /** client: handshakes completed before the window, on top of warmupMs. */
  warmCount?: number;
}
export interface TlsHandshakeReady {
  port: number;
  certPem: string;
}
export interface TlsHandshakeResult {
  handshakes: number;
  seconds: number;
}

/** The settings both sides share: TLS 1.3, one suite, Ed25519 identities, the peer's cert as the only CA. */
function secureContext(own: SelfSigned, peerCertPem: string): tls.SecureContext {
  return tls.createSecureContext({ key: own.keyPem, cert: own.certPem, ca: peerCertPem, minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ciphers: TLS_SUITE });
}

/** TCP connections opened ahead of the handshakes that will use them. */
class SparePool {
  readonly #ready: Promise<net.Socket>[] = [];
  constructor(private readonly port: number, size: number) {
    for (let i = 0; i < size; i++) this.#open();
  }
  #open(): void {
    const socket = net.connect({ port: this.port, host: HOST, noDelay: true });
    const up = once(socket, "connect").then(() => socket);
    up.catch(() => {});
    this.#ready.push(up);
  }
  /** A connected socket; opens its replacement at once. */
  take(): Promise<net.Socket> {
    const next = this.#ready.shift()!;
    this.#open();
    return next;
  }
}

async function handshake(spares: SparePool, context: tls.SecureContext): Promise<void> {
  const tcp = await spares.take();
  await new Promise<void>((resolve, reject) => {
    const socket = tls.connect({ socket: tcp, servername: "localhost", secureContext: context });
    socket.once("secureConnect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", reject);
  });
}

async function serve(p: TlsHandshakeParams, io: { ready(d: TlsHandshakeReady): void; stop: AbortSignal }): Promise<null> {
  const own = makeSelfSignedCert("localhost", "ed25519");
  const context = secureContext(own, p.peerCertPem!);
  const server = net.createServer((tcp) => {
    tcp.setNoDelay(true);
    tcp.on("error", () => {});
    const socket = new tls.TLSSocket(tcp, { isServer: true, secureContext: context, requestCert: true, rejectUnauthorized: true });
    socket.on("error", () => tcp.destroy());
  });
  server.listen(0, HOST);
  await once(server, "listening");
  io.ready({ port: (server.address() as net.AddressInfo).port, certPem: own.certPem });
  await new Promise((resolve) => io.stop.addEventListener("abort", resolve, { once: true }));
  server.close();
  return null;
}

runBenchChild<TlsHandshakeParams, TlsHandshakeReady | null, TlsHandshakeResult | null>(async (p, io) => {
  if (p.mode === "server") return serve(p, io);
  const context = secureContext(p.identity!, p.peerCertPem!);
  const spares = new SparePool(p.port!, p.inFlight ?? 1);
  io.ready(null);
  const { count, seconds } = await countCompletions(() => handshake(spares, context), { ...p, warmCount: p.warmCount ?? 0 });
  return { handshakes: count, seconds };
});
