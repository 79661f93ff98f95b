// The server of example 08: its own saved identity, an echoer reachable only through a secure
// channel, and a listener that accepts only the client's identity. Runs until stopped.
//
//   npm run example -- 08-trusted-channel-server <dir> [listen host:port, default 127.0.0.1:4000]
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Echoer, node } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createSecureChannelListener, loadIdentity, SecureChannelListenerOptions, trustIdentifier } from "@hopwire/secure-channel";

const [dir, listen = "127.0.0.1:4000"] = process.argv.slice(2);
if (dir === undefined) {
  console.error("Usage: npm run example -- 08-trusted-channel-server <dir> [host:port]");
  process.exit(2);
}
const server = await loadIdentity(join(dir, "server.json"));
const client = (await readFile(join(dir, "client.id"), "utf8")).trim();

const n = await node();
await n.startWorker("echoer", Echoer);
const tcpListener = await (await createTcpTransport(n)).listen(listen);
const listener = await createSecureChannelListener(
  n,
  server,
  "api",
  new SecureChannelListenerOptions().withTrustPolicy(trustIdentifier(client)).asConsumer(tcpListener.flowControlId),
);
// The echoer takes messages from the listener's channels only: not straight from TCP, not from another identity.
n.flowControls.addConsumer("echoer", listener.flowControlId);
listener.onChannel((channel) => console.log(`Channel from ${channel.peerIdentifier}`));
console.log(`Listening on ${tcpListener.address} as ${server.identifier}`);
