// Two real nodes in this process, as the portal scenario has them: bob next to the service
// (TCP listener, secure channel listener, outlet) and alice next to the client (a TCP
// connection to bob, a secure channel over it, inlets). Real sockets and real crypto.
import { node, type Node } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, SecureChannelOptions, type SecureChannel, type SecureChannelListener } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";

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
