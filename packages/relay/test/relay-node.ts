// The nodes of the relay tests added in session 56: each test's nodes in one list, stopped (and their
// child processes killed) after it, and a relay node as `hopwire relay` runs one (a TCP listener, the
// secure channel listener "api", a relay service that lets anyone register).
import { afterEach } from "vitest";
import { node, route, type Context, type Node, type Routed } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, type SecureChannel } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions, type TcpConnection, type TcpTransport } from "@hopwire/transport-tcp";
import { killAll } from "../../../test/support/children.js";
import { allowAnyIdentity, createRemoteRelay, startRelayService, tcpRelayConnector, type RelayConnector, type RelayService, type RelayServiceEvent } from "../dist/index.js";

const nodes: Node[] = [];

/** Registers the afterEach that kills the test's child processes and stops its nodes (call once per file). */
export function stopNodesAfterEach(): void {
  afterEach(async () => {
    killAll();
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });
}

/** A node with a TCP transport, stopped after the test. */
export async function startNode(name: string): Promise<{ n: Node; tcp: TcpTransport }> {
  const n = await node({ name, warnings: false });
  nodes.push(n);
  return { n, tcp: await createTcpTransport(n) };
}

/** A relay node: its TCP listener's "host:port" is `address`; `api` options the listener "api" (a consumer of the TCP listener). */
export async function startRelayNode(
  onEvent?: (event: RelayServiceEvent) => void,
  api: SecureChannelListenerOptions = new SecureChannelListenerOptions(),
): Promise<{ n: Node; tcp: TcpTransport; service: RelayService; address: string }> {
  const { n, tcp } = await startNode("relay");
  const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const apiListener = await createSecureChannelListener(n, await createIdentity(), "api", api.asConsumer(listener.flowControlId));
  const service = await startRelayService(n, {
    policy: allowAnyIdentity(),
    serviceConsumerOf: apiListener.flowControlId,
    forwarderConsumerOf: listener.flowControlId,
    ...(onEvent ? { onEvent } : {}),
  });
  return { n, tcp, service, address: listener.address.toString() };
}

/** Calls `echo` `count` times, `gapMs` apart: each one's time ("3ms") or error code, and how many failed. */
export async function echoesOverTime(count: number, gapMs: number, echo: () => Promise<number>): Promise<{ results: string[]; failures: number }> {
  const results: string[] = [];
  let failures = 0;
  for (let i = 0; i < count; i++) {
    try {
      results.push(`${(await echo()).toFixed(0)}ms`);
    } catch (error) {
      failures++;
      results.push((error as { code?: string }).code ?? String(error));
    }
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return { results, failures };
}

/**
 * Alice, an initiator on one connection to the relay node at `relayAddress`: a channel through
 * forward_to_ivy and `channelsToBob` through forward_to_bob (each to "listener"), and `echoIvy`,
 * an echo through ivy's channel timed in ms (rejects past `timeoutMs`).
 */
export async function startAlice(
  relayAddress: string,
  channelsToBob: number,
): Promise<{ alice: { n: Node; tcp: TcpTransport }; conn: TcpConnection; toBob: SecureChannel[]; echoIvy: (timeoutMs: number) => Promise<number> }> {
  const alice = await startNode("alice");
  const conn = await alice.tcp.connect(relayAddress, new TcpConnectionOptions());
  const identity = await createIdentity();
  const toIvy = await createSecureChannel(alice.n, identity, route(conn, "forward_to_ivy", "listener"));
  const toBob: SecureChannel[] = [];
  for (let i = 0; i < channelsToBob; i++) toBob.push(await createSecureChannel(alice.n, identity, route(conn, "forward_to_bob", "listener")));
  const echoIvy = async (timeoutMs: number): Promise<number> => {
    const t0 = performance.now();
    await alice.n.sendAndReceive(route(toIvy, "echoer"), "ping", { timeout: timeoutMs });
    return performance.now() - t0;
  };
  return { alice, conn, toBob, echoIvy };
}

/** A RemoteRelay's connector to the relay node at `address` that adds each connection it makes to `made`. */
export function recordingConnector(tcp: TcpTransport, address: string, made: TcpConnection[]): RelayConnector {
  return async (signal) => {
    const c = await tcp.connect(address, new TcpConnectionOptions(), { signal });
    made.push(c);
    return { route: c, closed: c.whenClosed(), close: () => c.stop() };
  };
}

/**
 * Ivy, a healthy registrant of "ivy" at the relay node at `relayAddress`: an "echoer" that answers "ivy", behind her
 * secure channel listener "listener", reached through forward_to_ivy.
 */
export async function startIvy(relayAddress: string): Promise<void> {
  const ivy = await startNode("ivy");
  const identity = await createIdentity();
  await ivy.n.startWorker("echoer", { async handleMessage(ctx: Context, m: Routed) { await ctx.send(m.returnRoute, "ivy", { ifFull: "drop" }); } }, { placement: "main" });
  const relay = await createRemoteRelay(ivy.n, { name: "ivy", identity, connect: tcpRelayConnector(ivy.tcp, relayAddress) });
  const listener = await createSecureChannelListener(ivy.n, identity, "listener", new SecureChannelListenerOptions().asConsumer(relay.flowControlId));
  ivy.n.flowControls.addConsumer("echoer", listener.flowControlId);
}
