// forwardOver "connection", the proof's edges (review H10, session 57): a challenge proves one name on one channel,
// and a channel keeps at most maxNamesPerChannel challenges pending (what a registrant that never answers costs).
import { afterEach, expect, it } from "vitest";
import { encodeBody, LocalMessage, node, route, waitFor, type Context, type Node, type Routed } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { allowAnyIdentity, startRelayService } from "../dist/index.js";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function until(condition: () => boolean, what: string): Promise<void> {
  await waitFor<void>((resolve) => {
    const timer = setInterval(() => condition() && (clearInterval(timer), resolve()), 10);
  }, { what, timeout: 10_000 });
}

async function setup() {
  const relay = await node({ warnings: false });
  nodes.push(relay);
  const rtcp = await createTcpTransport(relay);
  const listener = await rtcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const api = await createSecureChannelListener(relay, await createIdentity(), "api", new SecureChannelListenerOptions().asConsumer(listener.flowControlId));
  const service = await startRelayService(relay, {
    policy: allowAnyIdentity(), serviceConsumerOf: api.flowControlId, forwarderConsumerOf: listener.flowControlId,
    allowForwardOverConnection: true, maxNamesPerChannel: 2,
  });
  const r = await node({ warnings: false });
  nodes.push(r);
  const tcp = await createTcpTransport(r);
  const toRelay = await tcp.connect(listener.address.toString(), new TcpConnectionOptions());
  const heard: Record<string, unknown>[] = [];
  const bare: Record<string, unknown>[] = [];
  await r.startWorker("rr", { handleMessage: (_c: Context, m: Routed) => void (m.returnRoute.next().equals(toRelay.address) ? bare : heard).push(m.body as Record<string, unknown>) }, { placement: "main" });
  r.flowControls.addConsumer("rr", toRelay.flowControlId);
  const channels = await Promise.all([0, 1].map(() => createSecureChannel(r, createIdentity(), route(toRelay, "api"))));
  const ask = (c: number, body: Record<string, unknown>) => void r.router.route(new LocalMessage(route(channels[c]!, "forwarding_service"), route("rr"), encodeBody(body)), undefined);
  for (const c of channels) r.flowControls.addConsumer("rr", c.flowControlId);
  const answer = async (id: string) => {
    await until(() => heard.some((h) => h.id === id), `an answer to ${id}`);
    return heard.find((h) => h.id === id)!;
  };
  const nonce = async (id: string) => {
    await until(() => bare.some((b) => b.id === id), `a challenge for ${id}`);
    return bare.find((b) => b.id === id)!.nonce as string;
  };
  return { service, ask, answer, nonce };
}

it("a challenge for one name proves no other name, nor the same name on another channel", async () => {
  const { service, ask, answer, nonce } = await setup();
  ask(0, { t: "register", id: "a1", name: "alpha", over: "connection" });
  expect(await answer("a1")).toEqual({ t: "challenge", id: "a1" });
  const alpha = await nonce("a1");
  ask(0, { t: "register", id: "b1", name: "beta", over: "connection", proof: alpha });
  expect(await answer("b1")).toMatchObject({ t: "registered", over: "channel" });
  ask(1, { t: "register", id: "a2", name: "alpha", over: "connection", proof: alpha });
  expect(await answer("a2")).toMatchObject({ t: "registered", over: "channel" });
  // alpha's challenge on channel 0 still holds: proven there, granted.
  ask(0, { t: "register", id: "a3", name: "alpha", over: "connection", proof: alpha });
  expect(await answer("a3")).toMatchObject({ t: "registered", over: "connection" });
  expect(service.registrations.get("alpha")!.over).toBe("connection");
});

it("a channel keeps at most maxNamesPerChannel challenges pending: past it, the channel mode", async () => {
  const { ask, answer } = await setup();
  ask(0, { t: "register", id: "x1", name: "n1", over: "connection" });
  expect(await answer("x1")).toEqual({ t: "challenge", id: "x1" });
  ask(0, { t: "register", id: "x2", name: "n2", over: "connection" });
  expect(await answer("x2")).toEqual({ t: "challenge", id: "x2" });
  ask(0, { t: "register", id: "x3", name: "n3", over: "connection" });
  expect(await answer("x3")).toMatchObject({ t: "registered", name: "n3", over: "channel" });
  // Asking again for a name with one pending replaces it (one per name and channel): no refusal, a new challenge.
  ask(0, { t: "register", id: "x4", name: "n1", over: "connection" });
  expect(await answer("x4")).toEqual({ t: "challenge", id: "x4" });
  // Another channel has its own bound.
  ask(1, { t: "register", id: "y1", name: "m1", over: "connection" });
  expect(await answer("y1")).toEqual({ t: "challenge", id: "y1" });
});
