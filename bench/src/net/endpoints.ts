// Listening and connecting over loopback, plain TCP or TLS 1.3, with the same options
// everywhere so the TCP and TLS baselines differ only in the record layer.
import net from "node:net";
import tls from "node:tls";
import { once } from "node:events";
import { makeSelfSignedCert } from "./self-signed.js";

export const HOST = "127.0.0.1";
/** The one suite the TLS baseline allows: the AEAD Hopwire's channel uses, at TLS's key size. */
export const TLS_SUITE = "TLS_AES_256_GCM_SHA384";

export interface Listening {
  server: net.Server;
  port: number;
  /** Set for TLS: the client pins it as its only trust anchor. */
  certPem?: string;
}

export interface ConnectTarget {
  port: number;
  certPem?: string;
}

function tune(socket: net.Socket): net.Socket {
  // Batching is done by the writer; Nagle would only add latency to the round-trip runs.
  socket.setNoDelay(true);
  return socket;
}

export async function listen(useTls: boolean, onSocket: (socket: net.Socket) => void): Promise<Listening> {
  let server: net.Server;
  let certPem: string | undefined;
  if (useTls) {
    const cert = makeSelfSignedCert();
    certPem = cert.certPem;
    server = tls.createServer(
      { key: cert.keyPem, cert: cert.certPem, minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ciphers: TLS_SUITE },
      (s) => onSocket(tune(s)),
    );
  } else {
    server = net.createServer((s) => onSocket(tune(s)));
  }
  server.listen(0, HOST);
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  return certPem === undefined ? { server, port } : { server, port, certPem };
}

/**
 * One client SecureContext per trust anchor, made on first use: tls.connect given `ca` builds
 * a context per call (~1 ms of CPU), work a TLS client that connects again does not redo and
 * that Hopwire's side (its identity loaded once) does not do per connection either.
 */
const clientContexts = new Map<string, tls.SecureContext>();

function clientContextFor(certPem: string): tls.SecureContext {
  let context = clientContexts.get(certPem);
  if (!context) {
    context = tls.createSecureContext({ ca: certPem, minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ciphers: TLS_SUITE });
    clientContexts.set(certPem, context);
  }
  return context;
}

/** Resolves once the connection (and for TLS the verified handshake) is up. */
export async function connect(target: ConnectTarget): Promise<net.Socket> {
  if (target.certPem === undefined) {
    const socket = net.connect({ port: target.port, host: HOST });
    await once(socket, "connect");
    return tune(socket);
  }
  const socket = tls.connect({ port: target.port, host: HOST, servername: "localhost", secureContext: clientContextFor(target.certPem) });
  await once(socket, "secureConnect");
  const suite = socket.getCipher().standardName;
  if (suite !== TLS_SUITE) throw new Error(`TLS negotiated ${suite}, expected ${TLS_SUITE}`);
  return tune(socket);
}

/** Resolves on the socket's 'drain', or its 'close' (a peer that is done resets it: the normal end, not an error). */
export function drainedOrClosed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
}

/** Resolves when the socket is fully closed, whichever side closed it. */
export function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once("close", () => resolve());
    socket.on("error", () => {}); // a reset from a peer that is done is the normal end here
  });
}

/** Pipes a and b both ways; either's end or error closes both (the tunnels' and the relay's splice). */
export function pipeBothWays(a: net.Socket, b: net.Socket): void {
  a.pipe(b).pipe(a);
  const close = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on("error", close).on("close", close);
  b.on("error", close).on("close", close);
}
