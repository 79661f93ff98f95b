// The client of example 08: its own saved identity, a secure channel that accepts only the
// server's identity, one round trip through it.
//
//   npm run example -- 08-trusted-channel-client <dir> [server host:port, default 127.0.0.1:4000]
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { node, route } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createSecureChannel, loadIdentity, SecureChannelOptions, trustIdentifier } from "@hopwire/secure-channel";

const [dir, server = "127.0.0.1:4000"] = process.argv.slice(2);
if (dir === undefined) {
  console.error("Usage: npm run example -- 08-trusted-channel-client <dir> [host:port]");
  process.exit(2);
}
const client = await loadIdentity(join(dir, "client.json"));
const serverId = (await readFile(join(dir, "server.id"), "utf8")).trim();

const n = await node();
try {
  const connection = await (await createTcpTransport(n)).connect(server);
  // Fails with SecureChannelHandshakeError if the node there is not the server, and with
  // SecureChannelRefusedError if the server does not trust this client.
  const channel = await createSecureChannel(n, client, route(connection, "api"), new SecureChannelOptions().withTrustPolicy(trustIdentifier(serverId)));
  const reply = await n.sendAndReceive<string>(route(channel, "echoer"), "Hello, trusted server!");
  console.log(`App Received: ${reply}`);
} finally {
  await n.stop();
}
