// Alice's node, next to the client: it opens a secure channel to Bob's node and starts an
// inlet; every TCP connection to the inlet reaches Bob's service through the channel.
// It runs until stopped.
// Usage: npm run example -- 06-portal-over-secure-channel-inlet [bob=localhost:4000] [listen=127.0.0.1:7000]
import { node, route } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, SecureChannelOptions } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions } from "@hopwire/transport-tcp";
import { createInlet } from "@hopwire/portal";

const n = await node({ name: "alice" });
const tcp = await createTcpTransport(n);
const alice = await createIdentity();

// A TCP connection to Bob's node, and an end-to-end encrypted channel over it.
const connection = await tcp.connect(process.argv[3] ?? "localhost:4000", new TcpConnectionOptions());
const channel = await createSecureChannel(n, alice, route(connection, "bob_listener"), new SecureChannelOptions());

// The inlet: point any TCP client (curl, psql, a browser) at it.
const inlet = await createInlet(n, { listen: process.argv[4] ?? "127.0.0.1:7000", route: route(channel, "outlet") });
console.log(`Inlet listening on ${inlet.address}`);

// Don't call n.stop() here so this node runs forever.
