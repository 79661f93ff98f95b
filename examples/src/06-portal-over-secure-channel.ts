// This example carries TCP connections through a portal: an HTTP client talks to an inlet on
// Alice's node, each connection travels through an end-to-end encrypted secure channel to an
// outlet on Bob's node, and the outlet connects to an HTTP server that only Bob can reach.
// Neither the client nor the server knows; both see a plain TCP connection.
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

// The service behind the outlet: an HTTP server on Bob's machine (here, this process).
const service = createServer((req, res) => res.end(`Hello from the service behind the outlet, you asked for ${req.url}\n`));
await new Promise<void>((resolve) => service.listen(0, "127.0.0.1", resolve));
const serviceAddress = `127.0.0.1:${(service.address() as AddressInfo).port}`;

const alice = await createIdentity();
const bob = await createIdentity();

// Bob's node: a TCP listener, a secure channel listener that trusts only Alice, and an
// outlet to the service that only channels of that listener may reach.
const bobNode = await node({ name: "bob" });
const bobTcp = await createTcpTransport(bobNode);
const tcpListener = await bobTcp.listen("127.0.0.1:0", new TcpListenerOptions());
const channelListener = await createSecureChannelListener(
  bobNode,
  bob,
  "bob_listener",
  new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId).withTrustPolicy(trustIdentifier(alice.identifier)),
);
await createOutlet(bobNode, { address: "outlet", to: serviceAddress, asConsumer: channelListener.flowControlId });

// Alice's node: a TCP connection to Bob, a secure channel over it that trusts only Bob, and
// an inlet: every connection to it becomes a stream through the channel to Bob's outlet.
const aliceNode = await node({ name: "alice" });
const aliceTcp = await createTcpTransport(aliceNode);
const connection = await aliceTcp.connect(tcpListener.address, new TcpConnectionOptions());
const channel = await createSecureChannel(
  aliceNode,
  alice,
  route(connection, "bob_listener"),
  new SecureChannelOptions().withTrustPolicy(trustIdentifier(bob.identifier)),
);
const inlet = await createInlet(aliceNode, { listen: "127.0.0.1:0", route: route(channel, "outlet") });
console.log(`Inlet listening on ${inlet.address}`);

// An ordinary HTTP client, pointed at the inlet.
const response = await fetch(`http://${inlet.address}/hello`);
console.log(`Client received: ${(await response.text()).trim()}`);

// Stop both nodes (their inlets, outlets and channels) and the service.
await aliceNode.stop();
await bobNode.stop();
service.close();
