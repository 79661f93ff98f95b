// Mutually authenticated node:tls 1.3 over loopback, as the scale/ TLS baselines use it:
// TLS_AES_256_GCM_SHA384, self-signed Ed25519 certificates on both sides (Hopwire's
// identity keys are Ed25519), each side trusting only the other's, one SecureContext per
// side shared by every connection (Hopwire loads its identity once, not per channel; a
// tls.connect given ca/cert/key builds a context per call, ~1.2 ms of CPU each).
import tls from "node:tls";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { HOST, TLS_SUITE } from "./endpoints.js";
import { makeSelfSignedCert } from "./self-signed.js";

/** What a client needs to reach a mutual-TLS server: its port, the server's certificate and the client's own identity. */
export interface MutualTlsTarget {
  port: number;
  serverCertPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

/** A listening mutual-TLS server, what its clients need to reach it, and how many handshakes failed on its side. */
export interface MutualTlsServer {
  server: tls.Server;
  target: MutualTlsTarget;
  /** Handshakes the server refused or that failed on its side. */
  readonly tlsErrors: () => number;
}

/**
 * A server on 127.0.0.1 port 0 (backlog 4096, so a burst of connects is not dropped) that
 * requires and verifies the client's certificate, made here with the server's and handed to
 * the client through `target`. Each accepted socket has Nagle off, errors ignored.
 */
export async function listenMutualTls(onSocket: (socket: tls.TLSSocket) => void): Promise<MutualTlsServer> {
  const server = makeSelfSignedCert("localhost", "ed25519");
  const client = makeSelfSignedCert("client", "ed25519");
  let tlsErrors = 0;
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
      socket.setNoDelay(true);
      socket.on("error", () => {});
      onSocket(socket);
    },
  );
  listener.on("tlsClientError", () => tlsErrors++);
  listener.listen({ port: 0, host: HOST, backlog: 4096 });
  await once(listener, "listening");
  return {
    server: listener,
    target: { port: (listener.address() as AddressInfo).port, serverCertPem: server.certPem, clientCertPem: client.certPem, clientKeyPem: client.keyPem },
    tlsErrors: () => tlsErrors,
  };
}

/** The client's identity and its one trust anchor (the server's certificate), loaded once for every connection. */
export function mutualTlsClientContext(target: MutualTlsTarget): tls.SecureContext {
  return tls.createSecureContext({
    ca: target.serverCertPem,
    cert: target.clientCertPem,
    key: target.clientKeyPem,
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
    ciphers: TLS_SUITE,
  });
}

/** Connects and completes the handshake (the server verified by then; the client's certificate is checked by the server as it finishes). */
export function connectMutualTls(target: MutualTlsTarget, context: tls.SecureContext): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port: target.port, host: HOST, servername: "localhost", secureContext: context });
    const fail = (e: Error): void => {
      socket.destroy();
      reject(e);
    };
    socket.once("error", fail);
    socket.once("close", () => fail(new Error("closed during the handshake")));
    socket.once("secureConnect", () => {
      socket.removeListener("error", fail);
      socket.removeAllListeners("close");
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
