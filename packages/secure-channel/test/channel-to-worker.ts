// Two in-process nodes over real TCP: alice opens a secure channel to bob, whose worker (placed
// "main", so a test can read its state) takes messages from that channel's listener.
import { node, route, type Node, type Worker } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, type CreditWindow, type SecureChannel, type SecureChannelOptions } from "@hopwire/secure-channel";

/** What a test may change in the set-up: bob's receive window, and where alice connects (a forwarder in front of bob's listener). */
export interface ChannelToWorkerSetup {
  receiveWindow?: Partial<CreditWindow>;
  /** Given bob's TCP listener address, the address alice connects to instead. */
  connectVia?: (listenerAddress: string) => Promise<string>;
}

/** Alice, with `channelOptions`' channel to bob's listener "bob_listener" and `worker` at `address` behind it; both nodes go into `nodes` (the caller stops them). */
export async function channelToWorker(
  nodes: Node[],
  address: string,
  worker: Worker,
  channelOptions?: SecureChannelOptions,
  setup: ChannelToWorkerSetup = {},
): Promise<{ alice: Node; channel: SecureChannel }> {
  const [alice, bob] = [await node(), await node()];
  nodes.push(alice, bob);
  const tcpListener = await (await createTcpTransport(bob)).listen("127.0.0.1:0");
  let listenerOptions = new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId);
  if (setup.receiveWindow !== undefined) listenerOptions = listenerOptions.withReceiveWindow(setup.receiveWindow);
  const listener = await createSecureChannelListener(bob, await createIdentity(), "bob_listener", listenerOptions);
  await bob.startWorker(address, worker, { placement: "main" });
  bob.flowControls.addConsumer(address, listener.flowControlId);
  const to = setup.connectVia === undefined ? tcpListener.address : await setup.connectVia(tcpListener.address);
  const connection = await (await createTcpTransport(alice)).connect(to);
  return { alice, channel: await createSecureChannel(alice, await createIdentity(), route(connection, "bob_listener"), channelOptions) };
}

/** A worker that counts the messages it handles (placed "main": a test reads `count`). */
export class Counter implements Worker {
  count = 0;
  handleMessage(): void {
    this.count++;
  }
}
