// Memory per pending (half-open) handshake at a listener. Not a vitest test (*.perf.mjs).
//
//   npx tsc -b packages/secure-channel
//   node --expose-gc packages/secure-channel/test/perf/handshake-memory.perf.mjs [N=900]
//
// Two nodes in this process over TCP on 127.0.0.1: the initiator node sends N first messages
// (-> e, random keys) and never message 3, so the listener holds N started handshakes (each a
// responder channel end and its handshake state, until its timeout). Reports the growth of
// RSS, JS heap and external memory per pending handshake, after forced GCs. N stays under the
// per-connection cap (maxPendingPerConnection, 1024) less the 50 of the warm-up.
import { randomBytes } from "node:crypto";
import { LocalMessage, node, route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import * as sc from "@hopwire/secure-channel";

const N = Number(process.argv[2] ?? 900);
const settle = async () => { for (let i = 0; i < 3; i++) { global.gc(); await new Promise((r) => setTimeout(r, 50)); } };
const bob = await node({ name: "responder" });
const tcp = await createTcpTransport(bob);
const tl = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
const scl = await sc.createSecureChannelListener(bob, sc.createIdentity(), "bob_listener", new sc.SecureChannelListenerOptions().withHandshakeTimeout(600_000).asConsumer(tl.flowControlId));
const alice = await node({ name: "initiator" });
const conn = await (await createTcpTransport(alice)).connect(tl.address, new TcpConnectionOptions());
await alice.startWorker("quiet", { handleMessage() {} }, { placement: "main" });
const sendFirst = (n) => { for (let i = 0; i < n; i++) alice.router.route(new LocalMessage(route(conn, "bob_listener"), route("quiet"), Uint8Array.of(1, ...randomBytes(32))), "quiet"); };
const until = async (f) => { const t = Date.now(); while (!f()) { if (Date.now() - t > 5000) throw new Error(`stuck: pending ${scl.pendingHandshakes} queued ${scl.queuedHandshakes} dropped ${scl.droppedHandshakes}`); await new Promise((r) => setTimeout(r, 10)); } };
sendFirst(50); await until(() => scl.pendingHandshakes === 50); // warm
await settle();
const m0 = process.memoryUsage();
sendFirst(N); await until(() => scl.pendingHandshakes === 50 + N);
await settle();
const m1 = process.memoryUsage();
const per = (k) => ((m1[k] - m0[k]) / N / 1024).toFixed(1);
console.log(JSON.stringify({ pending: scl.pendingHandshakes, rssKiB: per("rss"), heapUsedKiB: per("heapUsed"), externalKiB: per("external"), arrayBuffersKiB: per("arrayBuffers") }));
await alice.stop(); await bob.stop();
process.exit(0);
