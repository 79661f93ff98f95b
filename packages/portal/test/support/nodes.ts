// Two real nodes in this process, as the portal scenario has them: bob next to the service
// (TCP listener, secure channel listener, outlet) and alice next to the client (a TCP
// connection to bob, a secure channel over it, inlets). Real sockets and real crypto.
import { afterEach, beforeEach } from "vitest";
import { node, type Node } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, SecureChannelOptions, type SecureChannel, type SecureChannelListener } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import type { RawServer } from "./tcp.js";

export interface PortalNodes {
  alice: Node;
  bob: Node;
  listener: SecureChannelListener;
  /** Bob's TCP listener, "host:port" (another node may open a channel of its own through it). */
  tcpAddress: string;
  channel: SecureChannel;
  stop(): Promise<void>;
}

export async function startPortalNodes(): Promise<PortalNodes> {
  const bob = await node({ name: "bob" });
  const alice = await node({ name: "alice" });
  const bobTcp = await createTcpTransport(bob);
  const tcpListener = await bobTcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const listener = await createSecureChannelListener(bob, await createIdentity(), "bob_listener", new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId));
  const aliceTcp = await createTcpTransport(alice);
  const connection = await aliceTcp.connect(tcpListener.address, new TcpConnectionOptions());
  const channel = await createSecureChannel(alice, await createIdentity(), [connection, "bob_listener"], new SecureChannelOptions());
  return {
    alice,
    bob,
    listener,
    tcpAddress: tcpListener.address,
    channel,
    stop: async () => {
      await alice.stop();
      await bob.stop();
    },
  };
}

/** Fresh nodes for each test of the file (handed to `use`), stopped after it, and the raw servers pushed on `servers` closed. */
export function portalNodesForEachTest(use: (nodes: PortalNodes) => void, servers: RawServer[]): void {
  let nodes: PortalNodes | undefined;
  beforeEach(async () => {
    nodes = await startPortalNodes();
    use(nodes);
  });
  afterEach(async () => {
    await nodes?.stop();
    for (const s of servers.splice(0)) await s.close();
  });
}
