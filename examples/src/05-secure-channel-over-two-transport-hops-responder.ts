// This node starts a tcp listener, a secure channel listener, and an echoer worker.
// It then runs forever waiting for messages.
import { node } from "@hopwire/runtime";
import { createIdentity, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { createTcpTransport, TcpListenerOptions } from "@hopwire/transport-tcp";
import { Echoer } from "./hello/echoer.js";

// Create a node with default implementations
const n = await node();

// Initialize the TCP Transport.
const tcp = await createTcpTransport(n);

await n.startWorker("echoer", Echoer);

const bob = await createIdentity();

// Create a TCP listener and wait for incoming connections.
const listener = await tcp.listen(process.argv[2] ?? "127.0.0.1:4000", new TcpListenerOptions());
console.log(`Listening on ${listener.address}`);

// Create a secure channel listener for Bob that will wait for requests to
// initiate an Authenticated Key Exchange.
const secureChannelListener = await createSecureChannelListener(
  n,
  bob,
  "bob_listener",
  new SecureChannelListenerOptions().asConsumer(listener.flowControlId),
);

// Allow access to the Echoer via Secure Channels
n.flowControls.addConsumer("echoer", secureChannelListener.flowControlId);

// Don't call n.stop() here so this node runs forever.
