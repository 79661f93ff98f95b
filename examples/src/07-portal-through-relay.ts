// This example reaches a TCP service on a node behind "NAT" through a relay: Bob's node only
// connects out, to a relay node, and registers the name "bob" there over a secure channel.
// Alice's node opens a secure channel to Bob through `forward_to_bob` on the relay node, and
// an inlet on it carries an HTTP client's connection to an outlet on Bob's node. The relay
// node forwards ciphertext it cannot read; neither the client nor the server knows.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { node, route } from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  SecureChannelListenerOptions,
  SecureChannelOptions,
  trustIdentifier,
} from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { createInlet, createOutlet } from "@hopwire/portal";
import { allowRegistrations, createRemoteRelay, startRelayService, tcpRelayConnector } from "@hopwire/relay";

// The service behind the outlet: an HTTP server that only Bob's machine can reach.
const service = createServer((req, res) => res.end(`Hello from behind the NAT, you asked for ${req.url}\n`));
await new Promise<void>((resolve) => service.listen(0, "127.0.0.1", resolve));
const serviceAddress = `127.0.0.1:${(service.address() as AddressInfo).port}`;

const alice = await createIdentity();
const bob = await createIdentity();
const relayIdentity = await createIdentity();

// The relay node: the only one that listens. Registrations arrive over secure channels to
// its listener "api"; only Bob's identity may register the name "bob".
const relayNode = await node({ name: "relay" });
const relayTcp = await createTcpTransport(relayNode);
const relayListener = await relayTcp.listen("127.0.0.1:0", new TcpListenerOptions());
const api = await createSecureChannelListener(relayNode, relayIdentity, "api",
  new SecureChannelListenerOptions().asConsumer(relayListener.flowControlId));
await startRelayService(relayNode, {
  policy: allowRegistrations({ bob: [bob.identifier] }),
  serviceConsumerOf: [api.flowControlId],
  forwarderConsumerOf: [relayListener.flowControlId],
});
console.log(`Relay node listening on ${relayListener.address}`);

// Bob's node: no listener at all. It connects out to the relay node, registers "bob", and
// lets what arrives through the relay reach only its secure channel listener, whose channels
// (from Alice only) may reach only the outlet.
const bobNode = await node({ name: "bob" });
const bobTcp = await createTcpTransport(bobNode);
const remoteRelay = await createRemoteRelay(bobNode, {
  name: "bob",
  identity: bob,
  connect: tcpRelayConnector(bobTcp, relayListener.address.toString()),
  trust: trustIdentifier(relayIdentity.identifier),
});
console.log(`Bob registered at the relay node as ${remoteRelay.forwarderAddress}`);
const bobListener = await createSecureChannelListener(bobNode, bob, "bob_listener",
  new SecureChannelListenerOptions().asConsumer(remoteRelay.flowControlId).withTrustPolicy(trustIdentifier(alice.identifier)));
await createOutlet(bobNode, { address: "outlet", to: serviceAddress, asConsumer: bobListener.flowControlId });

// Alice's node: a TCP connection to the relay node, a secure channel to Bob through
// forward_to_bob, and an inlet whose connections travel through that channel to the outlet.
const aliceNode = await node({ name: "alice" });
const aliceTcp = await createTcpTransport(aliceNode);
const connectionToRelay = await aliceTcp.connect(relayListener.address.toString(), new TcpConnectionOptions());
const channel = await createSecureChannel(aliceNode, alice, route(connectionToRelay, "forward_to_bob", "bob_listener"),
  new SecureChannelOptions().withTrustPolicy(trustIdentifier(bob.identifier)));
const inlet = await createInlet(aliceNode, { listen: "127.0.0.1:0", route: route(channel, "outlet") });
console.log(`Inlet listening on ${inlet.address}`);

// An ordinary HTTP client, pointed at the inlet.
const response = await fetch(`http://${inlet.address}/hello`);
console.log(`Client received: ${(await response.text()).trim()}`);

// Stop the three nodes (inlet, outlet, relay registration, channels) and the service.
await aliceNode.stop();
await bobNode.stop();
await relayNode.stop();
service.close();
