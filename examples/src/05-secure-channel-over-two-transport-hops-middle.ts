// This node creates a tcp connection to a node at 127.0.0.1:4000
// Starts a relay worker to forward messages to 127.0.0.1:4000
// Starts a tcp listener at 127.0.0.1:3000
// It then runs forever waiting to route messages.
import { node, route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { Relay } from "./hello/relay.js";

// Create a node with default implementations
const n = await node();

// Initialize the TCP Transport
const tcp = await createTcpTransport(n);

// Create a TCP connection to Bob.
// withReconnect: if the other node restarts, this connection comes back (same address), so the relay works again.
const connectionToBob = await tcp.connect(process.argv[2] ?? "127.0.0.1:4000", new TcpConnectionOptions().withReconnect());

// Start a Relay to forward messages to Bob using the TCP connection.
await n.startWorker("forward_to_bob", Relay, { args: [route(connectionToBob)] });

// Create a TCP listener and wait for incoming connections.
const listener = await tcp.listen(process.argv[3] ?? "127.0.0.1:3000", new TcpListenerOptions());
console.log(`Listening on ${listener.address}`);

n.flowControls.addConsumer("forward_to_bob", listener.flowControlId);

// Don't call n.stop() here so this node runs forever.
