// Two in-process nodes over real TCP: alice opens a secure channel to bob, whose worker (placed
// "main", so a test can read its state) takes messages from that channel's listener.
import { node, route, type Node, type Worker } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, type SecureChannel, type SecureChannelOptions } from "@hopwire/secure-channel";

/** Alice, with `channelOptions`' channel to bob's listener "bob_listener" and `worker` at `address` behind it; both nodes go into `nodes` (the caller stops them). */
export async function channelToWorker(
  nodes: Node[],
  address: string,
  worker: Worker,
  channelOptions: SecureChannelOptions,
): Promise<{ alice: Node; channel: SecureChannel }> {
  const [alice, bob] = [await node(), await node()];
  nodes.push(alice, bob);
  const tcpListener = await (await createTcpTransport(bob)).listen("127.0.0.1:0");
  const listener = await createSecureChannelListener(bob, await createIdentity(), "bob_listener", new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId));
  await bob.startWorker(address, worker, { placement: "main" });
  bob.flowControls.addConsumer(address, listener.flowControlId);
  const connection = await (await createTcpTransport(alice)).connect(tcpListener.address);
  return { alice, channel: await createSecureChannel(alice, await createIdentity(), route(connection, "bob_listener"), channelOptions) };
}
