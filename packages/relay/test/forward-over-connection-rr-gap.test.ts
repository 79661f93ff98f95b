// forwardOver "connection", the registrant's side: once its channel to the relay node is gone, the relay node's
// connection (when it stays: a connector that shares its connection) reaches the RemoteRelay no more, nor through it
// the node's workers, until a new registration grants it again.
import { afterEach, expect, it } from "vitest";
import { node, route, type Context, type Node, type Routed } from "@hopwire/runtime";
import { createIdentity, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { allowAnyIdentity, createRemoteRelay, startRelayService, type RemoteRelayEvent } from "../dist/index.js";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("after its channel closed, the RemoteRelay takes nothing from the bare connection that stays", async () => {
  const relay = await node({ warnings: false });
  nodes.push(relay);
  const rtcp = await createTcpTransport(relay);
  const listener = await rtcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const api = await createSecureChannelListener(relay, await createIdentity(), "api", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
  const service = await startRelayService(relay, { policy: allowAnyIdentity(), serviceConsumerOf: api.flowControlId, forwarderConsumerOf: listener.flowControlId, allowForwardOverConnection: true });

  const bob = await node({ warnings: false });
  nodes.push(bob);
  const btcp = await createTcpTransport(bob);
  const shared = await btcp.connect(listener.address.toString(), new TcpConnectionOptions());
  const events: string[] = [];
  const rr = await createRemoteRelay(bob, {
    name: "bob", identity: await createIdentity(), connect: async () => ({ route: shared, closed: shared.whenClosed() }),
    forwardOver: "connection", replyTimeoutMs: 3_000, backoff: { initialMs: 3_000, maxMs: 3_000 },
    onEvent: (e: RemoteRelayEvent) => events.push(e.kind),
  });
  expect(rr.forwardingOver).toBe("connection");
  const reached: unknown[] = [];
  await bob.startWorker("w", { handleMessage: (_c: Context, m: Routed) => void reached.push(m.body) }, { placement: "main" });
  bob.flowControls.addConsumer("w", rr.flowControlId); // what the RemoteRelay passes on reaches it
  const onRelay = service.registrations.get("bob")!.forwarder.to.next();

  await relay.send(route(onRelay, rr.address.toString(), "w"), "while registered");
  await sleep(200);
  expect(reached).toEqual(["while registered"]);

  await rr.channel!.close();
  await sleep(300);
  expect(events).toContain("disconnected");
  expect(service.registrations.has("bob")).toBe(false);
  expect(shared.state).toBe("open");
  // No registration now, the RemoteRelay waits to try again: the bare connection must not reach "w" through it.
  await relay.send(route(onRelay, rr.address.toString(), "w"), "after the channel closed");
  await sleep(300);
  expect(reached).toEqual(["while registered"]);
  await rr.stop();
});
