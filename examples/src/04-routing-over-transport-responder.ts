// This node starts a tcp listener and an echoer worker.
// It then runs forever waiting for messages.
import { node } from "@hopwire/runtime";
import { createTcpTransport, TcpListenerOptions } from "@hopwire/transport-tcp";
import { Echoer } from "./hello/echoer.js";

// Create a node with default implementations
const n = await node();

// Initialize the TCP Transport
const tcp = await createTcpTransport(n);

// Create an echoer worker
await n.startWorker("echoer", Echoer);

// Create a TCP listener and wait for incoming connections.
const listener = await tcp.listen(process.argv[2] ?? "127.0.0.1:4000", new TcpListenerOptions());
console.log(`Listening on ${listener.address}`);

// Allow access to the Echoer via TCP connections from the TCP listener
n.flowControls.addConsumer("echoer", listener.flowControlId);

// Don't call n.stop() here so this node runs forever.
