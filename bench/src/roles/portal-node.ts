// Role: one side of a Hopwire TCP portal. "outlet": bob, a TCP listener, a secure channel
// listener and an outlet to targetPort. "inlet": alice, a TCP connection to bob, a secure
// channel over it and an inlet whose streams go to bob's outlet. Both run until stopped.
import { node, route } from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  SecureChannelListenerOptions,
  SecureChannelOptions,
} from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { createInlet, createOutlet } from "@hopwire/portal";
import { runBenchChild } from "../proc/child.js";
import { serveUntilStopped } from "./portal-node-life.js";
import { HOST } from "../net/endpoints.js";

export type PortalNodeParams = { side: "outlet"; targetPort: number } | { side: "inlet"; outletNodePort: number };
export interface PortalNodeReady {
  port: number;
}

runBenchChild<PortalNodeParams, PortalNodeReady, { streams: number }>(async (p, io) => {
  const n = await node({ name: p.side });
  const tcp = await createTcpTransport(n);
  let port: number;
  let streams: () => number;
  if (p.side === "outlet") {
    const listener = await tcp.listen(`${HOST}:0`, new TcpListenerOptions());
    const channels = await createSecureChannelListener(n, await createIdentity(), "bob_listener", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
    // The setup runs open one connection after another over the inlet's one channel, faster than the default 100 a second.
    const outlet = await createOutlet(n, { to: `${HOST}:${p.targetPort}`, asConsumer: channels.flowControlId, maxOpensPerSecondPerChannel: 1_000_000 });
    port = Number(listener.address.slice(listener.address.lastIndexOf(":") + 1));
    streams = () => outlet.openedStreams;
  } else {
    const connection = await tcp.connect(`${HOST}:${p.outletNodePort}`, new TcpConnectionOptions());
    const channel = await createSecureChannel(n, await createIdentity(), route(connection, "bob_listener"), new SecureChannelOptions());
    const inlet = await createInlet(n, { listen: `${HOST}:0`, route: route(channel, "outlet") });
    port = inlet.port;
    streams = () => inlet.activeStreams;
  }
  return serveUntilStopped(io, n, port, streams);
});
