// Role: the portal-through-a-relay's baseline, hand-rolled with node:tls: the same hops and
// the same crypto as the Hopwire path, nothing else. "relay": a plain TCP listener for tunnel
// clients and a TLS listener for registrants; each client connection is paired with a waiting
// registrant connection and their bytes piped through (so the client's bytes go on inside the
// outer TLS). "server" (the outlet's side, which only connects out): an outer TLS 1.3
// connection to the relay kept waiting, and over it, once a client is paired with it, the inner
// TLS 1.3 server end (a TLSSocket wrapping the outer one), whose plaintext goes to targetPort
// over TCP; it opens the next outer connection as each is taken. "client": plain TCP in, and for
// each connection plain TCP to the relay with the inner TLS 1.3 client end over it. All
// AES-256-GCM; all run until stopped.
import net from "node:net";
import tls from "node:tls";
import { once } from "node:events";
import { runBenchChild } from "../proc/child.js";
import { HOST, TLS_SUITE, listen, pipeBothWays as pair } from "../net/endpoints.js";
import { makeSelfSignedCert } from "../net/self-signed.js";

export type TlsRelayTunnelParams =
  | { side: "relay" }
  | { side: "server"; registrantPort: number; relayCertPem: string; targetPort: number }
  | { side: "client"; clientPort: number; certPem: string };
export interface TlsRelayTunnelReady {
  /** "relay": where clients connect; "client": where the bulk client connects; "server": 0. */
  port: number;
  /** "relay": where registrants connect. */
  registrantPort?: number;
  /** "relay": its outer certificate; "server": its inner one (each pinned by the other end). */
  certPem?: string;
}

const TLS13 = { minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ciphers: TLS_SUITE } as const;

function checkSuite(socket: tls.TLSSocket): void {
  const suite = socket.getCipher().standardName;
  if (suite !== TLS_SUITE) throw new Error(`TLS negotiated ${suite}, expected ${TLS_SUITE}`);
}

/** A TLS client end over `socket` (a TCP or TLS connection), verified against `ca`. */
async function tlsClient(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  const socket = tls.connect({ ...options, host: HOST, servername: "localhost" });
  await once(socket, "secureConnect");
  checkSuite(socket);
  socket.setNoDelay?.(true);
  return socket;
}

runBenchChild<TlsRelayTunnelParams, TlsRelayTunnelReady, { connections: number }>(async (p, io) => {
  let connections = 0;
  const servers: net.Server[] = [];
  if (p.side === "relay") {
    const waiting: net.Socket[] = [];
    const clients: net.Socket[] = [];
    const match = (): void => {
      while (waiting.length > 0 && clients.length > 0) {
        const client = clients.shift()!;
        pair(client, waiting.shift()!);
        client.resume();
      }
    };
    const registrants = await listen(true, (registrant) => {
      registrant.on("error", () => registrant.destroy());
      registrant.on("close", () => {
        const i = waiting.indexOf(registrant);
        if (i >= 0) waiting.splice(i, 1);
      });
      waiting.push(registrant);
      match();
    });
    const plain = await listen(false, (client) => {
      connections++;
      client.pause(); // until a registrant's connection takes it
      clients.push(client);
      match();
    });
    servers.push(registrants.server, plain.server);
    io.ready({ port: plain.port, registrantPort: registrants.port, certPem: registrants.certPem! });
  } else if (p.side === "server") {
    const cert = makeSelfSignedCert();
    const inner = tls.createSecureContext({ key: cert.keyPem, cert: cert.certPem, ...TLS13 });
    const outerContext = tls.createSecureContext({ ca: p.relayCertPem, ...TLS13 });
    let stopped = false;
    const open = async (): Promise<void> => {
      const outer = await tlsClient({ port: p.registrantPort, secureContext: outerContext });
      const end = new tls.TLSSocket(outer, { isServer: true, secureContext: inner });
      end.on("error", () => outer.destroy());
      end.once("secure", () => {
        checkSuite(end);
        connections++;
        const target = net.connect({ port: p.targetPort, host: HOST });
        target.setNoDelay(true);
        pair(end, target);
        if (!stopped) open().catch(() => {}); // the next client's
      });
      outer.on("close", () => end.destroy());
    };
    await open();
    io.stop.addEventListener("abort", () => (stopped = true));
    io.ready({ port: 0, certPem: cert.certPem });
  } else {
    const context = tls.createSecureContext({ ca: p.certPem, ...TLS13 });
    const listening = await listen(false, (inbound) => {
      connections++;
      inbound.pause();
      const toRelay = net.connect({ port: p.clientPort, host: HOST });
      toRelay.setNoDelay(true);
      toRelay.on("error", () => inbound.destroy());
      tlsClient({ socket: toRelay, secureContext: context }).then(
        (outbound) => {
          pair(inbound, outbound);
          inbound.resume();
        },
        () => inbound.destroy(),
      );
    });
    servers.push(listening.server);
    io.ready({ port: listening.port });
  }
  await new Promise<void>((resolve) => io.stop.addEventListener("abort", () => resolve()));
  for (const server of servers) server.close();
  return { connections };
});
