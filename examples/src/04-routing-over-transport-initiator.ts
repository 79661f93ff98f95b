// This node routes a message, to a worker on a different node, over the tcp transport.
import { node, route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions } from "@hopwire/transport-tcp";

// Create a node with default implementations
const n = await node();

// Initialize the TCP Transport.
const tcp = await createTcpTransport(n);

// Create a TCP connection to a different node.
const connectionToResponder = await tcp.connect(process.argv[2] ?? "localhost:4000", new TcpConnectionOptions());

// Send a message to the "echoer" worker on a different node, over a tcp transport.
// Wait to receive a reply and print it.
const reply = await n.sendAndReceive<string>(route(connectionToResponder, "echoer"), "Hello Ockam!");
console.log(`App Received: ${reply}`); // should print "Hello Ockam!"

// Stop all workers, stop the node, cleanup and return.
await n.stop();
