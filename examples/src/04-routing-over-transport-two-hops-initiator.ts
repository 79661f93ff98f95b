// This node routes a message, to a worker on a different node, over two tcp transport hops.
import { node, route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions } from "@hopwire/transport-tcp";

// Create a node with default implementations
const n = await node();

// Initialize the TCP Transport
const tcp = await createTcpTransport(n);

// Create a TCP connection to the middle node.
const connectionToMiddleNode = await tcp.connect(process.argv[2] ?? "localhost:3000", new TcpConnectionOptions());

// Send a message to the "echoer" worker, on a different node, over two tcp hops.
// Wait to receive a reply and print it.
const r = route(connectionToMiddleNode, "forward_to_responder", "echoer");
const reply = await n.sendAndReceive<string>(r, "Hello Ockam!");
console.log(`App Received: ${reply}`); // should print "Hello Ockam!"

// Stop all workers, stop the node, cleanup and return.
await n.stop();
