// Repro: a registrant whose channel rides through node X asks for forwardOver "connection".
// Prints the registration reply and what reached X's "rr" from an initiator's message to forward_to_bob.
import { it } from "vitest";
import { encodeBody, LocalMessage, node, route, type Context, type Routed } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { allowAnyIdentity, startRelayService } from "../../dist/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
it("two-hop repro", async () => {
  const mk = async () => { const n = await node({ warnings: false }); return { n, tcp: await createTcpTransport(n) }; };
  const relay = await mk(), x = await mk(), r = await mk(), a = await mk();
  const listener = await relay.tcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const scl = await createSecureChannelListener(relay.n, await createIdentity(), "api", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
  await startRelayService(relay.n, { policy: allowAnyIdentity(), serviceConsumerOf: scl.flowControlId, forwarderConsumerOf: listener.flowControlId, allowForwardOverConnection: true });
  const xListener = await x.tcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const xToRelay = await x.tcp.connect(listener.address.toString(), new TcpConnectionOptions());
  x.n.flowControls.addConsumer(xToRelay.address, xListener.flowControlId);
  const reachedX: unknown[] = [];
  await x.n.startWorker("rr", { handleMessage: (_c: Context, m: Routed) => void reachedX.push(m.body) }, { placement: "main" });
  x.n.flowControls.addConsumer("rr", xToRelay.flowControlId);
  const toX = await r.tcp.connect(xListener.address.toString(), new TcpConnectionOptions());
  await sleep(100);
  x.n.flowControls.addConsumer(x.tcp.connections.find((c) => c !== xToRelay)!.address, xToRelay.flowControlId);
  const channel = await createSecureChannel(r.n, await createIdentity(), route(toX, xToRelay.address.toString(), "api"));
  const heard: unknown[] = [];
  await r.n.startWorker("rr", { handleMessage: (_c: Context, m: Routed) => void heard.push(m.body) }, { placement: "main" });
  r.n.flowControls.addConsumer("rr", channel.flowControlId);
  r.n.router.route(new LocalMessage(route(channel, "forwarding_service"), route("rr"), encodeBody({ t: "register", id: "r1", name: "bob", over: "connection" })), undefined);
  await sleep(300);
  const c = await a.tcp.connect(listener.address.toString(), new TcpConnectionOptions());
  await a.n.send(route(c, "forward_to_bob", "anything"), "initiator's frame for bob");
  await sleep(300);
  console.log("registrant heard:", JSON.stringify(heard));
  console.log("X's rr received:", JSON.stringify(reachedX));
  for (const k of [a, r, x, relay]) await k.n.stop();
});
