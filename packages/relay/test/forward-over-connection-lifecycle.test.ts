// forwardOver "connection": a registrant's connection loses its marks (shared feeder, stall watch) with the last
// registration forwarded over it (its channel closed, the connection stays: a connector that shares its connection).
// Before (review H10, session 57): the connection stayed a shared feeder, and was closed as RELAY_REGISTRANT_STALLED
// once its node read slowly, with no registration over it any more; in mode "channel" it stays open.
import { afterEach, expect, it } from "vitest";
import { createServer, connect, type Socket } from "node:net";
import { LocalMessage, node, route, type Node } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { allowAnyIdentity, createRemoteRelay, startRelayService, type RelayServiceEvent } from "../dist/index.js";

const nodes: Node[] = [];
const closers: (() => void)[] = [];
afterEach(async () => {
  closers.splice(0).forEach((c) => c());
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function proxy(port: number) {
  const sockets: Socket[] = [];
  let stalled = false;
  const server = createServer((client) => {
    const up = connect(port, "127.0.0.1");
    sockets.push(client, up);
    client.pipe(up);
    up.on("data", (d: Buffer) => void (stalled ? up.pause() : client.write(d)));
    for (const s of [client, up]) s.on("error", () => {});
    client.on("close", () => up.destroy());
    up.on("close", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => { for (const s of sockets) s.destroy(); server.close(); });
  return { address: `127.0.0.1:${(server.address() as { port: number }).port}`, stall: () => { stalled = true; } };
}

for (const over of ["channel", "connection"] as const)
it(`${over}: after the registration is gone, the connection is no shared feeder nor watched for a stall`, async () => {
  const relay = await node({ warnings: false });
  nodes.push(relay);
  const rtcp = await createTcpTransport(relay);
  const listener = await rtcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const api = await createSecureChannelListener(relay, await createIdentity(), "api", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
  const events: string[] = [];
  await startRelayService(relay, {
    policy: allowAnyIdentity(), serviceConsumerOf: api.flowControlId, forwarderConsumerOf: listener.flowControlId,
    allowForwardOverConnection: true, connectionStallMs: 300,
    onEvent: (e: RelayServiceEvent) => events.push(`${e.kind} ${e.name} ${"reason" in e ? e.reason : ""}`),
  });
  await relay.startWorker("blaster", { async handleMessage() {} }, { placement: "main" });

  const bob = await node({ warnings: false });
  nodes.push(bob);
  const btcp = await createTcpTransport(bob);
  const p = await proxy(Number(listener.address.toString().split(":").pop()));
  // One connection the node shares: the RemoteRelay does not own it (no close).
  const shared = await btcp.connect(p.address, new TcpConnectionOptions());
  const identity = await createIdentity();
  const rr = await createRemoteRelay(bob, { name: "bob", identity, connect: async () => ({ route: shared, closed: shared.whenClosed() }), forwardOver: over, replyTimeoutMs: 3_000 });
  expect(rr.forwardingOver).toBe(over);
  await sleep(100);
  const onRelay = rtcp.connections.find((c) => c.address.key !== listener.address.key)!;
  expect(onRelay.isSharedFeeder).toBe(over === "connection");

  await rr.stop(); // its channel closes, the node's connection stays
  await sleep(200);
  expect(events.some((e) => e.startsWith("removed bob"))).toBe(true);
  expect(shared.state).toBe("open");

  // A new channel of bob's node on the same connection (e.g. to the relay node's "api"), then bob's node reads
  // slowly / not at all for a while: the relay node's queue to it goes past the high-water mark.
  await createSecureChannel(bob, identity, route(shared, "api"));
  p.stall();
  const big = new Uint8Array(256 * 1024);
  for (let i = 0; i < 64; i++) relay.router.route(new LocalMessage(route(onRelay.address, "nobody"), route("blaster"), big), undefined);
  await sleep(1_500);
  expect(events.filter((e) => e.startsWith("removed"))).toEqual(["removed bob its secure channel closed: SECURE_CHANNEL_CLOSED_BY_PEER"]);
  expect(onRelay.closedReason).toBeUndefined();
  expect(onRelay.isSharedFeeder).toBe(false);
  expect(onRelay.state).toBe("open");
});
