// This node creates an end-to-end encrypted secure channel over two tcp transport hops.
// It then routes a message, to a worker on a different node, through this encrypted channel.
import { node, route } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, SecureChannelOptions } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions } from "@hopwire/transport-tcp";

// Create a node with default implementations
const n = await node();

// Create an Identity to represent Alice.
const alice = await createIdentity();

// Create a TCP connection to the middle node.
const tcp = await createTcpTransport(n);
const connectionToMiddleNode = await tcp.connect(process.argv[2] ?? "localhost:3000", new TcpConnectionOptions());

// Connect to a secure channel listener and perform a handshake.
const r = route(connectionToMiddleNode, "forward_to_bob", "bob_listener");
const channel = await createSecureChannel(n, alice, r, new SecureChannelOptions());

// Send a message to the echoer worker via the channel.
// Wait to receive a reply and print it.
const reply = await n.sendAndReceive<string>(route(channel, "echoer"), "Hello Ockam!");
console.log(`App Received: ${reply}`); // should print "Hello Ockam!"

// Stop all workers, stop the node, cleanup and return.
await n.stop();
