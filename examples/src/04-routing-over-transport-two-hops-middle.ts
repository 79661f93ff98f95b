// This node creates a tcp connection to a node at 127.0.0.1:4000
// Starts a relay worker to forward messages to 127.0.0.1:4000
// Starts a tcp listener at 127.0.0.1:3000
// It then runs forever waiting to route messages.
// (The responder is 04-routing-over-transport-responder.)
import { node, route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { Relay } from "./hello/relay.js";

// Create a node with default implementations
const n = await node();

// Initialize the TCP Transport
const tcp = await createTcpTransport(n);

// Create a TCP connection to the responder node.
// withReconnect: if the other node restarts, this connection comes back (same address), so the relay works again.
const connectionToResponder = await tcp.connect(process.argv[2] ?? "127.0.0.1:4000", new TcpConnectionOptions().withReconnect());

// Create a Relay worker
await n.startWorker("forward_to_responder", Relay, { args: [route(connectionToResponder)] });

// Create a TCP listener and wait for incoming connections.
const listener = await tcp.listen(process.argv[3] ?? "127.0.0.1:3000", new TcpListenerOptions());
console.log(`Listening on ${listener.address}`);

// Allow access to the Relay via TCP connections from the TCP listener
n.flowControls.addConsumer("forward_to_responder", listener.flowControlId);

// Don't call n.stop() here so this node runs forever.
