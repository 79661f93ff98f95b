// This example streams bytes through an end-to-end secure channel over TCP, as fast as the
// receiver takes them: Alice sends chunks in a loop that pauses while the channel is full
// (its peer's credit used up, or the connection beneath it full) and otherwise sends without
// making a promise per chunk (`trySend`); Bob's ChunkCounter, on a thread of its own, counts
// them and checks their order. A slower receiver slows the loop; nothing piles up in memory.
//
//   npm run example -- 09-streaming-over-secure-channel [chunks=20000] [chunkBytes=1024]
import { node, route } from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  SecureChannelListenerOptions,
  SecureChannelOptions,
  trustIdentifier,
} from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { ChunkCounter, type ChunkCount } from "./hello/chunk-counter.js";

const chunks = Number(process.argv[2] ?? 20_000);
const chunkBytes = Number(process.argv[3] ?? 1024);
if (!Number.isInteger(chunks) || chunks < 1 || !Number.isInteger(chunkBytes) || chunkBytes < 4 || chunkBytes > 1024 * 1024) {
  console.error("Usage: npm run example -- 09-streaming-over-secure-channel [chunks >= 1] [chunkBytes, 4 to 1048576]");
  process.exit(2);
}

const alice = await createIdentity();
const bob = await createIdentity();

// Bob's node: a TCP listener, a secure channel listener that trusts only Alice, and the
// counter, which only channels of that listener may reach.
const bobNode = await node({ name: "bob" });
const bobTcp = await createTcpTransport(bobNode);
const tcpListener = await bobTcp.listen("127.0.0.1:0", new TcpListenerOptions());
const channelListener = await createSecureChannelListener(
  bobNode,
  bob,
  "bob_listener",
  new SecureChannelListenerOptions().asConsumer(tcpListener.flowControlId).withTrustPolicy(trustIdentifier(alice.identifier)),
);
await bobNode.startWorker("counter", ChunkCounter);
bobNode.flowControls.addConsumer("counter", channelListener.flowControlId);

// Alice's node: a connection to Bob and a channel over it that trusts only Bob.
const aliceNode = await node({ name: "alice" });
const aliceTcp = await createTcpTransport(aliceNode);
const connection = await aliceTcp.connect(tcpListener.address, new TcpConnectionOptions());
const channel = await createSecureChannel(aliceNode, alice, route(connection, "bob_listener"), new SecureChannelOptions().withTrustPolicy(trustIdentifier(bob.identifier)));

// The streaming loop. One buffer serves every chunk: a send copies what it needs before it
// returns. trySend sends at once and returns true, or sends nothing and returns false where
// send would wait; send then waits its turn, in order.
const to = route(channel, "counter");
const chunk = new Uint8Array(chunkBytes);
const view = new DataView(chunk.buffer);
const started = performance.now();
for (let i = 0; i < chunks; i++) {
  if (channel.needsDrain) await channel.waitForDrain();
  view.setUint32(0, i);
  if (!aliceNode.trySend(to, chunk)) await aliceNode.send(to, chunk);
}
// Asked through the same channel, so the answer comes after every chunk was handled.
const count = await aliceNode.sendAndReceive<ChunkCount>(to, "count?");
const seconds = (performance.now() - started) / 1000;
const mib = (chunks * chunkBytes) / (1024 * 1024);
console.log(`Alice sent ${chunks} chunks of ${chunkBytes} bytes (${mib.toFixed(1)} MiB) in ${seconds.toFixed(2)} s`);
console.log(`Bob's counter received ${count.chunks} chunks (${count.bytes} bytes)${count.inOrder ? ", in order" : ", OUT OF ORDER"}`);

await aliceNode.stop();
await bobNode.stop();
process.exitCode = count.chunks === chunks && count.inOrder ? 0 : 1;
