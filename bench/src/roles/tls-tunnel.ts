// Role: the TLS tunnel a person would hand-roll with node:tls, the portal's baseline.
// "client": plain TCP in, and for each connection a TLS 1.3 connection to the tunnel's
// server. "server": TLS in, and for each connection plain TCP to targetPort. Bytes are
// piped both ways; both run until stopped.
import net from "node:net";
import { runBenchChild } from "../proc/child.js";
import { HOST, connect, listen, pipeBothWays as pair } from "../net/endpoints.js";

export type TlsTunnelParams = { side: "server"; targetPort: number } | { side: "client"; serverPort: number; certPem: string };
export interface TlsTunnelReady {
  port: number;
  certPem?: string;
}

runBenchChild<TlsTunnelParams, TlsTunnelReady, { connections: number }>(async (p, io) => {
  let connections = 0;
  const listening = await listen(p.side === "server", (inbound) => {
    connections++;
    if (p.side === "server") {
      const outbound = net.connect({ port: p.targetPort, host: HOST });
      outbound.setNoDelay(true);
      pair(inbound, outbound);
    } else {
      inbound.pause();
      connect({ port: p.serverPort, certPem: p.certPem }).then(
        (outbound) => {
          pair(inbound, outbound);
          inbound.resume();
        },
        () => inbound.destroy(),
      );
    }
  });
  io.ready(listening.certPem === undefined ? { port: listening.port } : { port: listening.port, certPem: listening.certPem });
  await new Promise<void>((resolve) => io.stop.addEventListener("abort", () => resolve()));
  listening.server.close();
  return { connections };
});
