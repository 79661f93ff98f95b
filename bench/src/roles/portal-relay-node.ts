// Role: one node of a Hopwire TCP portal through a relay node, built as the CLI's three
// commands build it (packages/cli/src/node/start-node.ts, supervised-inlet.ts), with their
// defaults. "relay" (`hopwire relay`): a TCP listener, a secure channel listener "api" behind
// it and a relay service whose forwarders the TCP listener reaches. "outlet" (`hopwire outlet
// --relay bob@…`): no listener; a TCP connection out to the relay node, a secure channel over
// it registering "bob" (createRemoteRelay), a secure channel listener "api" reached through
// that registration, and an outlet to targetPort behind it. "inlet" (`hopwire inlet --via
// bob@…`): a TCP connection to the relay node and a secure channel through forward_to_bob to
// the outlet node's "api", so on the relay → outlet hop each of its records travels inside the
// registrant's channel. All three run until stopped.
import { node, route } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, SecureChannelOptions } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { createInlet, createOutlet } from "@hopwire/portal";
import { allowAnyIdentity, createRemoteRelay, forwarderAddress, startRelayService, tcpRelayConnector } from "@hopwire/relay";
import { runBenchChild } from "../proc/child.js";
import { serveUntilStopped } from "./portal-node-life.js";
import { HOST } from "../net/endpoints.js";

/**
 * `over: "connection"` (portal/via-relay-over-connection): the relay service allows it
 * (allowForwardOverConnection) and the outlet node asks for it (createRemoteRelay's forwardOver),
 * so the relay → outlet hop carries the inlet's channel on the TCP connection, beside the
 * registrant's channel rather than inside it.
 */
export type PortalRelayNodeParams =
  | { side: "relay"; over?: "connection" }
  | { side: "outlet"; relayPort: number; targetPort: number; over?: "connection" }
  | { side: "inlet"; relayPort: number };
export interface PortalRelayNodeReady {
  /** The relay node's TCP port; the inlet's port for "inlet"; 0 for "outlet" (it listens nowhere). */
  port: number;
}

/** The relay name the outlet node registers (`--relay bob@…`, `--via bob@…`). */
const NAME = "bob";
/** The CLI's names: its secure channel listeners' and its outlets' default addresses. */
const API = "api";
const OUTLET = "outlet";

runBenchChild<PortalRelayNodeParams, PortalRelayNodeReady, { streams: number }>(async (p, io) => {
  // The CLI's node: busyPollMicros 0 (its default) and its own identity.
  const n = await node({ name: p.side, busyPollMicros: 0 });
  const identity = await createIdentity();
  const tcp = await createTcpTransport(n);
  let port = 0;
  let streams: () => number = () => 0;
  if (p.side === "relay") {
    const listener = await tcp.listen(`${HOST}:0`, new TcpListenerOptions());
    const api = await createSecureChannelListener(n, identity, API, new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
    // --allow-anyone: the policy is asked once per registration, never per message.
    await startRelayService(n, {
      policy: allowAnyIdentity(),
      serviceConsumerOf: [api.flowControlId],
      forwarderConsumerOf: [listener.flowControlId],
      ...(p.over === "connection" ? { allowForwardOverConnection: true } : {}),
    });
    port = Number(listener.address.slice(listener.address.lastIndexOf(":") + 1));
  } else if (p.side === "outlet") {
    const relay = await createRemoteRelay(n, {
      name: NAME,
      identity,
      connect: tcpRelayConnector(tcp, `${HOST}:${p.relayPort}`),
      retryUntilRegistered: true,
      ...(p.over === "connection" ? { forwardOver: "connection" as const } : {}),
    });
    if (p.over === "connection" && relay.forwardingOver !== "connection") throw new Error(`the relay node forwards over the ${relay.forwardingOver}, not the connection`);
    const api = await createSecureChannelListener(n, identity, API, new SecureChannelListenerOptions().asConsumer(relay.flowControlId));
    // The setup runs open one connection after another over the inlet's one channel, faster than the default 100 a second.
    const outlet = await createOutlet(n, { address: OUTLET, to: `${HOST}:${p.targetPort}`, asConsumer: [api.flowControlId], maxOpensPerSecondPerChannel: 1_000_000 });
    streams = () => outlet.openedStreams;
  } else {
    const connection = await tcp.connect(`${HOST}:${p.relayPort}`, new TcpConnectionOptions());
    const channel = await createSecureChannel(n, identity, route(connection, forwarderAddress(NAME), API), new SecureChannelOptions());
    const inlet = await createInlet(n, { listen: `${HOST}:0`, route: route(channel, OUTLET) });
    port = inlet.port;
    streams = () => inlet.activeStreams;
  }
  return serveUntilStopped(io, n, port, streams);
});
