// Bob's node, next to a TCP service: a TCP listener, a secure channel listener, and an outlet
// to the service that only secure channels may reach. It runs until stopped.
// Usage: npm run example -- 06-portal-over-secure-channel-outlet [listen=127.0.0.1:4000] [service=127.0.0.1:8080]
import { node } from "@hopwire/runtime";
import { createIdentity, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { createTcpTransport, TcpListenerOptions } from "@hopwire/transport-tcp";
import { createOutlet } from "@hopwire/portal";

const n = await node({ name: "bob" });
const tcp = await createTcpTransport(n);
const bob = await createIdentity();

// Wait for connections from other nodes.
const listener = await tcp.listen(process.argv[3] ?? "127.0.0.1:4000", new TcpListenerOptions());
console.log(`Listening on ${listener.address}`);

// Secure channels may be opened through that listener's connections...
const channels = await createSecureChannelListener(n, bob, "bob_listener", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));

// ...and the outlet is reachable only through those channels. It dials only its target.
const outlet = await createOutlet(n, { address: "outlet", to: process.argv[4] ?? "127.0.0.1:8080", asConsumer: channels.flowControlId });
console.log(`Outlet ${outlet.address.toString()} forwards to ${outlet.to}`);

// Don't call n.stop() here so this node runs forever.
